"""training.report_to: the trackers get what metrics.jsonl gets, at the same steps; a bad or uninstalled tracker
fails at config validation, before a run directory exists."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import make_config

import tuneforge
from tuneforge.errors import ConfigError


def metrics(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_gets_the_metrics_jsonl_values(tmp_path, tiny_model, small_data, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # 16 sentences / batch 4 = 4 steps per epoch; eval at steps 2, 4, 6, 8: two of them mid-epoch
    config = make_config(tmp_path, tiny_model, small_data, report_to=["tensorboard"], log_every=1, eval_every=2)
    run_dir = tuneforge.train(config)
    records = metrics(run_dir)
    train = [r for r in records if "split" not in r]
    dev = [r for r in records if r.get("split") == "dev"]
    assert [r["step"] for r in train] == list(range(1, 9)) and [r["step"] for r in dev] == [2, 4, 6, 8]
    # dev rows count epochs as the train rows do: fractional epochs done
    assert [r["epoch"] for r in dev] == [0.5, 1.0, 1.5, 2.0]
    assert [r["epoch"] for r in train if r["step"] in (2, 4, 6, 8)] == [0.5, 1.0, 1.5, 2.0]
    console = capsys.readouterr().err
    assert "step 6, epoch 1.5: dev f1" in console and "step 8, epoch 2: dev f1" in console

    events = list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert events, "no event file"
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/tokens_per_s", "dev/f1"} <= tags, tags

    def series(tag: str) -> list[tuple[int, float]]:
        return [(e.step, e.value) for e in acc.Scalars(tag)]

    # event files store float32
    assert series("train/loss") == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in train]
    assert series("train/lr") == [(r["step"], pytest.approx(r["lr"], rel=1e-6, abs=1e-12)) for r in train]
    assert series("dev/f1") == [(r["step"], pytest.approx(r["f1"], rel=1e-6, abs=1e-9)) for r in dev]
    assert "dev/best" not in tags and "train/step" not in tags and "train/epoch" not in tags


def test_unknown_tracker_is_a_one_line_config_error(tmp_path, small_data):
    config = make_config(tmp_path, "minilm", small_data, report_to=["wandb"])
    with pytest.raises(ConfigError) as err:
        tuneforge.train(config)
    message = str(err.value)
    assert "\n" not in message and "training.report_to" in message and "'tensorboard' or 'mlflow'" in message
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow"])
def test_missing_tracker_package_fails_before_the_run_directory(tmp_path, small_data, monkeypatch, tracker):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == tracker else real(name, *a))
    config = make_config(tmp_path, "minilm", small_data, report_to=[tracker])
    with pytest.raises(ConfigError) as err:
        tuneforge.train(config)
    package = {"tensorboard": "tensorboard", "mlflow": "mlflow-skinny"}[tracker]
    assert str(err.value) == (f"{config}: training.report_to: {tracker} needs the {tracker} package: "
                              f"pip install {package} (or, in tuneforge's folder, pip install '.[tracking]')")
    assert not (tmp_path / "runs").exists()


def test_mlflow_gets_params_and_metrics(tmp_path, tiny_model, small_data, monkeypatch):
    # Imported, not skipped: the dev extra installs the tracking extra, so a missing mlflow is a broken set-up.
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # the run sets it; restored afterwards
    config = make_config(tmp_path, tiny_model, small_data, report_to=["mlflow"], log_every=1)
    run_dir = tuneforge.train(config)
    records = metrics(run_dir)
    client = MlflowClient(tracking_uri=(run_dir / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("tuneforge")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == run_dir.name
    assert run.data.params["training.lr"] == "0.001" and run.data.params["training.report_to"] == "['mlflow']"
    loss = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "train/loss")]
    assert sorted(loss) == [(r["step"], r["loss"]) for r in records if "loss" in r]
    f1 = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "dev/f1")]
    assert sorted(f1) == [(r["step"], r["f1"]) for r in records if r.get("split") == "dev"]


def test_resumed_tensorboard_log_hides_the_steps_after_the_checkpoint(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tuneforge.engine.tracking.tensorboard import TensorBoardTracker

    first = TensorBoardTracker(tmp_path, resumed_at=None)
    for step in range(1, 6):  # killed after step 5; the checkpoint was at step 3
        first.write({"step": step, "epoch": step / 5, "loss": float(step)})
    first.close(failed=True)
    resumed = TensorBoardTracker(tmp_path, resumed_at=3)
    for step in (4, 5):
        resumed.write({"step": step, "epoch": step / 5, "loss": 10.0 * step})
    resumed.close(failed=False)
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("train/loss")] == [(1, 1), (2, 2), (3, 3), (4, 40), (5, 50)]
