"""Continual learning: a model that keeps learning over stages (new data, new labels) without forgetting.

``tuneforge continual PLAN.yaml`` runs a plan (``plan.py``): an ordered list of stages on one task, each
starting from the previous stage's model. After every stage every stage's test set is scored, giving the
matrix R[i][j] (score on stage j's test after training stage i), from which ``measures.py`` derives average
score, backward transfer (forgetting) and forward transfer. Strategies (``strategies/``, one module each)
decide what trains and what the loss adds; class-incremental heads (``class_heads.py`` for sequence
classification, ``tag_heads.py`` for token classification) grow the classifier and keep its old rows.
``tuneforge update RUN --data NEW --gate G`` (``update.py``) is the same step for a deployed run, with a
promotion gate.
"""
