"""Hyperparameter search: ``tuneforge tune CONFIG --trials N`` (Optuna), one training run per trial.

search_space.py  the config's ``search:`` block, checked against the run config
objective.py     one trial: one run through api.train_and_score, dev evaluations fed to the pruner
study.py         the study: storage, pruner, workers sharing it
outputs.py       best.yaml, trials.json, trials.md, plots
"""

from tuneforge.studies.tune.study import TuneResult, tune

__all__ = ["TuneResult", "tune"]
