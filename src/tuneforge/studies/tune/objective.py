"""One trial of a search: one training run with the trial's values, scored on dev.

The run goes through ``api.train_and_score``, which hands back the run's report (no output is scraped), and
each dev evaluation during training is reported to Optuna; when its pruner says the trial is hopeless, the hook
raises ``RunPruned``, the run ends there and is marked pruned (run.json status "pruned").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneforge.errors import ConfigError, RunError
from tuneforge.studies.tune.search_space import TuneConfig


def objective_metric(tune_cfg: TuneConfig) -> tuple[str, str]:
    """The dev metric trials are scored on and Optuna's direction for it: training.early_stopping's metric
    (default: the task's main metric) and mode (default max)."""
    from tuneforge.tasks import task_class

    es = tune_cfg.base.training.early_stopping
    metric = es.metric or task_class(tune_cfg.base.task).main_metric(tune_cfg.base)
    return metric, "maximize" if es.mode == "max" else "minimize"


class Objective:
    """Optuna's objective: ``objective(trial)`` trains one run and returns its dev metric."""

    def __init__(self, tune_cfg: TuneConfig, output: Path) -> None:
        self.tune_cfg = tune_cfg
        self.output = output
        self.metric, _ = objective_metric(tune_cfg)

    def __call__(self, trial) -> float:
        import optuna

        from tuneforge.api import RunPruned, train_and_score
        from tuneforge.util.console import say

        try:
            values = {param.key: param.suggest(trial) for param in self.tune_cfg.params}
        except ValueError as exc:  # the study holds trials of another search space under the same key
            raise ConfigError(f"{self.tune_cfg.source}: search: does not match the study's earlier trials ({exc}); "
                              "use a new --study-name (or --output) for a changed search space") from None
        name = f"{self.tune_cfg.base.name}-trial-{trial.number}"
        cfg = self.tune_cfg.run_config(values, {"name": name, "output_dir": str(self.output)})  # TRIAL_OWNED
        say(f"trial {trial.number}: " + ", ".join(f"{key}={_shown(value)}" for key, value in values.items()))

        def report_dev(evaluation: int, metrics: dict[str, Any]) -> None:
            value = metrics.get(self.metric)
            if not isinstance(value, int | float):
                return
            trial.report(float(value), evaluation)
            if trial.should_prune():
                raise RunPruned(f"dev {self.metric} {value:.4f} after evaluation {evaluation}: pruned by the "
                                "search's pruner (worse than earlier trials at this point)")

        try:
            result = train_and_score(cfg, on_dev_metrics=report_dev)
        except RunPruned as pruned:
            trial.set_user_attr("run_dir", str(pruned.run_dir))
            say(f"trial {trial.number} pruned: {pruned}")
            raise optuna.TrialPruned(str(pruned)) from None
        trial.set_user_attr("run_dir", str(result.run_dir))
        value = (result.report.get("dev") or {}).get(self.metric)
        if not isinstance(value, int | float):
            raise RunError(f"{result.run_dir}: the run has no dev {self.metric} to tune on (report.json); "
                           "give dev data (data.dev or data.split.dev)")
        say(f"trial {trial.number}: dev {self.metric} {value:.4f} ({result.run_dir})")
        return float(value)


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
