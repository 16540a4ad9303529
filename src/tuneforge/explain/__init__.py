"""``tuneforge explain``: which words of an input made a run answer as it did.

A task's registry entry says what can be explained (``TaskSpec.explains``): the label of a text, or one
predicted entity of a sentence. ``targets.py`` turns an input into a ``Target`` — the token ids, the words they
belong to and the probability being explained — and two attribution methods score each word against it:
integrated gradients over the word embeddings (Captum) and occlusion (each word replaced by the baseline token),
the second a check of the first. ``faithfulness.py`` measures how much the top words matter (ERASER's
comprehensiveness and sufficiency, against deleting random words).
"""
