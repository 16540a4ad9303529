"""``tune``: an Optuna study over a config's ``search:`` block, one training run per trial.

The study lives in an Optuna storage: by default a SQLite file in the output folder, so running the same
command again adds trials to it instead of starting over. Several worker processes or machines share one study
when they give the same ``storage`` (a database all of them reach: PostgreSQL or MySQL across machines; one
SQLite file for processes of one machine) and ``study_name``; each runs its own ``trials``, and
``total_trials`` stops every worker once the study holds that many (Optuna's MaxTrialsCallback).

A worker records a heartbeat for its running trial every ``HEARTBEAT_S`` seconds (Optuna's RDBStorage
heartbeat). A trial whose heartbeat is older than ``GRACE_S`` belongs to a worker that was killed: the next
worker to open the study, or to start or finish a trial, marks it failed, so it no longer counts against
``total_trials`` (which counts running trials, so that workers finishing at once do not overshoot).
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneforge.errors import ConfigError
from tuneforge.studies.tune.objective import Objective, objective_metric
from tuneforge.studies.tune.outputs import best_trial, write_plots, write_tables
from tuneforge.studies.tune.search_space import read_tune_config

# Pruning starts once 3 trials have completed, never at a trial's first dev evaluation (number 0).
PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_EVALUATIONS = 3, 1
# A live worker writes its trial's heartbeat every 30 s; five missed in a row (a killed process, a lost
# machine) and its trial is failed. Generous: a busy worker's heartbeat thread may be late, never 2.5 minutes.
HEARTBEAT_S, GRACE_S = 30, 150


@dataclass
class TuneResult:
    output: Path
    study: Any  # optuna.Study
    metric: str


def tune(config: str | Path, trials: int, study_name: str | None = None, storage: str | None = None,
         output: str | Path | None = None, timeout: float | None = None, total_trials: int | None = None,
         pruner: Any = None, overrides: list[str] | None = None) -> TuneResult:
    """Run ``trials`` trials of the search in ``config`` (a YAML file with a ``search:`` block); see the module.

    ``output``: default ``<output_dir>/<name>-tune``; trial runs are created there (``<name>-trial-<n>``), with
    best.yaml, trials.json, trials.md and the plots. ``storage``: an Optuna storage URL (default
    ``sqlite:///OUTPUT/study.db``); ``study_name`` defaults to the config's name. ``timeout``: seconds after
    which no new trial starts. ``pruner``: an Optuna pruner (default MedianPruner(3 startup trials, 1 warm-up
    evaluation)). ``overrides``: ``--set KEY=VALUE`` on the run config every trial starts from.
    """
    if not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"--trials: expected a whole number >= 1, got {trials!r}")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"--timeout: expected seconds > 0, got {timeout!r}")
    if total_trials is not None and total_trials < 1:
        raise ConfigError(f"--total-trials: expected a whole number >= 1, got {total_trials!r}")
    tune_cfg = read_tune_config(config, overrides)
    base = tune_cfg.base
    if base.data.dev is None and not base.data.split.dev:
        raise ConfigError(f"{tune_cfg.source}: tune scores every trial on dev data: set data.dev, or "
                          "data.split.dev to carve it out of train")
    metric, direction = objective_metric(tune_cfg)
    out = Path(output) if output is not None else Path(base.output_dir) / f"{base.name}-tune"
    from tuneforge.runs.directory import check_writable

    check_writable(out)

    import optuna
    from optuna.exceptions import ExperimentalWarning
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from tuneforge.util.console import say

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # tuneforge says what each trial did
    if storage is None:  # the default SQLite file goes in the output folder; another storage opens first
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(out / 'study.db').resolve()}"
    name = study_name or base.name
    pruner = pruner or optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS,
                                                   n_warmup_steps=PRUNER_WARMUP_EVALUATIONS)
    study = _open_study(storage, name, direction, pruner)
    if study.direction.name.lower() != direction:
        raise ConfigError(f"study '{name}' in {_masked(storage)} was created to {study.direction.name.lower()}; "
                          f"this config's dev {metric} is to {direction} (training.early_stopping.mode)")

    out.mkdir(parents=True, exist_ok=True)
    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    callbacks = [lambda study, trial: write_tables(study, tune_cfg, out, metric)]
    if total_trials is not None:
        # RUNNING trials count too, so workers that finish at once do not each start one more; a dead worker's
        # trial is failed first, so it is not one of them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            enough = MaxTrialsCallback(total_trials, states=counted)
        callbacks.insert(0, lambda study, trial: (_fail_stale(study), enough(study, trial)))
    _fail_stale(study)
    held = len(study.get_trials(deepcopy=False, states=counted))
    if total_trials is not None and held >= total_trials:
        say(f"study '{name}' already holds {held} trial(s) of --total-trials {total_trials}: nothing to run")
    else:
        say(f"study '{name}': {len(study.trials)} trial(s) so far; running up to {trials} more "
            f"(dev {metric}, {direction})")
        study.optimize(Objective(tune_cfg, out), n_trials=trials, timeout=timeout, callbacks=callbacks,
                       gc_after_trial=True)
    notes = write_plots(study, out, metric)
    write_tables(study, tune_cfg, out, metric, notes)
    best = best_trial(study)
    if best is not None:
        say(f"best: trial {best.number}, dev {metric} {best.value:.4f}; config {out / 'best.yaml'}")
    return TuneResult(out, study, metric)


def _open_study(storage: str, name: str, direction: str, pruner: Any):
    """Create the study, or load it if it exists. Workers starting at once on a new database can race to create
    its tables (SQLite: "table ... already exists"); the loser tries again once the winner has made them."""
    import optuna
    import sqlalchemy.exc
    from optuna.exceptions import ExperimentalWarning

    for attempt in range(1, 4):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                rdb = optuna.storages.RDBStorage(storage, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                                 heartbeat_stale_trial_callback=_said_failed)
            return optuna.create_study(storage=rdb, study_name=name, direction=direction, pruner=pruner,
                                       load_if_exists=True)
        except sqlalchemy.exc.DBAPIError as exc:
            if attempt == 3:
                raise ConfigError(f"--storage {_masked(storage)}: cannot open study '{name}' "
                                  f"({_first_line(exc)})") from None
            time.sleep(attempt)
        except Exception as exc:  # a bad URL, a missing database driver, a study of another direction
            raise ConfigError(f"--storage {_masked(storage)}: cannot open study '{name}' "
                              f"({_first_line(exc)})") from None


def _fail_stale(study) -> None:
    """Mark failed the running trials whose worker stopped sending heartbeats (it was killed)."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import fail_stale_trials

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        fail_stale_trials(study)


def _said_failed(study, trial) -> None:
    from tuneforge.util.console import say

    say(f"trial {trial.number}: its worker sent no heartbeat for {GRACE_S} s (killed?): marked failed")


def _masked(url: str) -> str:
    """A storage URL without its password."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
