"""MLflow (training.report_to: mlflow): the run's flattened config as params, metrics.jsonl's numbers as
metrics, in the store of MLFLOW_TRACKING_URI if set, else a local file store ``runs/<name>/mlruns`` (which
MLflow 3 opens only with MLFLOW_ALLOW_FILE_STORE=true: set for this process when that store is used).

mlflow is imported here only, when a run asks for it. A resumed run is a new MLflow run tagged with the step
it resumed at (the steps after the checkpoint are logged again there).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml

from tuneforge.engine.tracking.scalars import scalars

EXPERIMENT = "tuneforge"  # unless MLFLOW_EXPERIMENT_NAME names another
BATCH = 100  # MLflow takes at most 100 params per log_batch call
MAX_PARAM = 6000  # characters of a param value MLflow stores


class MLflowTracker:
    def __init__(self, run_dir: Path, resumed_at: int | None) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            uri = (run_dir / "mlruns").resolve().as_uri()
            # MLflow 3 refuses a file store unless allowed; the run's own store needs no database (and
            # mlflow-skinny has none).
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        tags = {"tuneforge.run_dir": str(run_dir.resolve())}
        if resumed_at is not None:
            tags["tuneforge.resumed_at_step"] = str(resumed_at)
        self.run_id = self.client.create_run(experiment_id, run_name=run_dir.name, tags=tags).info.run_id
        config_file = run_dir / "config.yaml"  # the resolved config, written when the run started
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        params = [Param(key, str(value)[:MAX_PARAM]) for key, value in flatten(config).items()]
        for start in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[start:start + BATCH])

    def write(self, record: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, record["step"]) for key, value in scalars(record).items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def close(self, failed: bool) -> None:
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"training": {"lr": 1e-3}}`` -> ``{"training.lr": 1e-3}``; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat
