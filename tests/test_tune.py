"""tuneforge tune: an Optuna search over a config's search: block, one tiny training run per trial."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, make_config

from tuneforge.cli import main
from tuneforge.config.loading import load_config

SEARCH = {"training.lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2},
          "training.batch_size": {"type": "categorical", "choices": [2, 4]}}


def tune_config(tmp_path: Path, model: str, data, search=SEARCH, **training) -> Path:
    path = make_config(tmp_path, model, data, **training)
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**cfg, "search": search}), encoding="utf-8")
    return path


def trials_json(output: Path) -> list[dict]:
    return json.loads((output / "trials.json").read_text(encoding="utf-8"))["trials"]


def run_status(run_dir: str) -> str:
    return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))["status"]


def test_three_trials_write_best_config(tmp_path, capsys, tiny_model, small_data):
    config = tune_config(tmp_path, tiny_model, small_data)
    output = tmp_path / "search"
    assert main(["tune", str(config), "--trials", "3", "--output", str(output)]) == 0
    trials = trials_json(output)
    assert [t["number"] for t in trials] == [0, 1, 2]
    assert all(t["state"] == "COMPLETE" for t in trials)  # the pruner waits for 3 completed trials
    for t in trials:
        assert Path(t["run_dir"]).name == f"t-trial-{t['number']}" and run_status(t["run_dir"]) == "complete"
        report = json.loads((Path(t["run_dir"]) / "report.json").read_text(encoding="utf-8"))
        assert t["value"] == report["dev"]["f1"]  # the run's own score, from train_and_score's report
        run_cfg = load_config(Path(t["run_dir"]) / "config.yaml")
        assert run_cfg.training.lr == pytest.approx(t["params"]["training.lr"])
        assert run_cfg.training.batch_size == t["params"]["training.batch_size"]
        assert t["duration_s"] > 0
    best = max(trials, key=lambda t: t["value"])
    assert json.loads((output / "trials.json").read_text())["best_trial"] == best["number"]
    cfg = load_config(output / "best.yaml")
    assert cfg.training.lr == pytest.approx(best["params"]["training.lr"])
    assert cfg.training.batch_size == best["params"]["training.batch_size"]
    assert cfg.name == "t" and cfg.data.train == str(small_data["train"])  # the base config, not a trial's
    assert "| trial | state |" in (output / "trials.md").read_text()
    assert (output / "study.db").is_file()
    assert (output / "history.png").read_bytes().startswith(b"\x89PNG")  # matplotlib is required: no fallback
    assert f"best config: {output / 'best.yaml'}" in capsys.readouterr().out


def test_resuming_the_study_adds_trials(tmp_path, tiny_model, small_data):
    config = tune_config(tmp_path, tiny_model, small_data, epochs=1)
    output = tmp_path / "search"
    assert main(["tune", str(config), "--trials", "1", "--output", str(output)]) == 0
    assert main(["tune", str(config), "--trials", "2", "--output", str(output)]) == 0
    trials = trials_json(output)
    assert [t["number"] for t in trials] == [0, 1, 2]
    assert sorted(p.name for p in output.glob("t-trial-*")) == ["t-trial-0", "t-trial-1", "t-trial-2"]


def test_two_workers_share_one_study(tmp_path, tiny_model, small_data):
    config = tune_config(tmp_path, tiny_model, small_data, epochs=1)
    output = tmp_path / "search"
    output.mkdir()
    command = [sys.executable, "-m", "tuneforge", "tune", str(config), "--trials", "4", "--total-trials", "4",
               "--storage", f"sqlite:///{output / 'shared.db'}", "--study-name", "shared", "--output", str(output)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    results = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in results]
    trials = trials_json(output)
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert all(t["state"] in ("COMPLETE", "PRUNED") for t in trials)
    runs = sorted(p.name for p in output.glob("t-trial-*"))
    assert runs == ["t-trial-0", "t-trial-1", "t-trial-2", "t-trial-3"]  # none twice (no t-trial-N-2)
    assert len({t["run_dir"] for t in trials}) == 4
    said = "".join(err for _, err in results)
    assert sorted(int(n) for n in re.findall(r"trial (\d+): training\.", said)) == [0, 1, 2, 3]  # each ran once


def test_a_pruned_trial_stops_its_run_and_is_marked(tmp_path, tiny_model, small_data):
    import optuna

    from tuneforge.studies.tune import tune

    class PruneTrialOne(optuna.pruners.BasePruner):
        """Prunes trial 1 at its first dev evaluation, whatever it scored (the pruner's choice is not under test)."""

        def prune(self, study, trial) -> bool:
            return trial.number == 1

    config = tune_config(tmp_path, tiny_model, small_data, epochs=3)
    result = tune(config, 3, output=tmp_path / "search", pruner=PruneTrialOne())
    trials = trials_json(result.output)
    assert [t["state"] for t in trials] == ["COMPLETE", "PRUNED", "COMPLETE"]
    pruned = trials[1]
    assert list(pruned["dev_by_evaluation"]) == ["0"]  # stopped after its first dev evaluation
    assert pruned["value"] == pruned["dev_by_evaluation"]["0"]  # Optuna keeps a pruned trial's last report
    info = json.loads((Path(pruned["run_dir"]) / "run.json").read_text(encoding="utf-8"))
    assert info["status"] == "pruned" and info["pruned_after_evaluation"] == 0
    assert not (Path(pruned["run_dir"]) / "checkpoints").exists() and not (Path(pruned["run_dir"]) / "model").exists()
    assert list(trials[0]["dev_by_evaluation"]) == ["0", "1", "2"]  # a complete trial reported every evaluation
    assert "pruned" in (result.output / "trials.md").read_text()


def test_median_pruner_prunes_a_clearly_worse_trial(tmp_path, tiny_model, small_data):
    """The default pruner, fed by each dev evaluation: 3 trials that learn, then one whose lr is too small to."""
    import optuna

    from tuneforge.studies.tune import tune
    from tuneforge.studies.tune.search_space import read_tune_config

    config = tune_config(tmp_path, tiny_model, small_data, epochs=3,
                         search={"training.lr": {"type": "categorical", "choices": [3e-3, 1e-9]}})
    output = tmp_path / "search"
    output.mkdir()
    study = optuna.create_study(storage=f"sqlite:///{output / 'study.db'}", study_name="t", direction="maximize")
    for lr in (3e-3, 3e-3, 3e-3, 1e-9):
        study.enqueue_trial({"training.lr": lr})
    assert read_tune_config(config).params[0].key == "training.lr"
    result = tune(config, 4, output=output)
    trials = trials_json(result.output)
    assert [t["params"]["training.lr"] for t in trials] == [3e-3, 3e-3, 3e-3, 1e-9]
    learned = trials[0]["dev_by_evaluation"]
    if min(learned.values()) <= 0.0:
        pytest.skip(f"the tiny model did not learn in this environment ({learned}); the pruner has nothing to beat")
    assert [t["state"] for t in trials] == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"]
    assert run_status(trials[3]["run_dir"]) == "pruned"


def test_train_and_score_reports_each_dev_evaluation(tmp_path, tiny_model, small_data):
    from tuneforge.api import train_and_score

    seen = []
    result = train_and_score(make_config(tmp_path, tiny_model, small_data),
                             on_dev_metrics=lambda n, metrics: seen.append((n, metrics["f1"])))
    assert [n for n, _ in seen] == [0, 1]  # two epochs, one evaluation each
    report = json.loads((result.run_dir / "report.json").read_text(encoding="utf-8"))
    assert result.report == report and run_status(result.run_dir) == "complete"
    assert result.report["training"]["best_dev_metric"] == max(f1 for _, f1 in seen)


@pytest.mark.parametrize(
    ("search", "fragments"),
    [
        ({"training.lr": {"type": "loguniform", "low": 1e-2, "high": 1e-4}}, ["search.training.lr", "above high"]),
        ({"training.lrr": {"type": "uniform", "low": 0.1, "high": 0.2}},
         ["search.training.lrr", "unknown key", "did you mean 'training.lr'"]),
        ({"training.lr": {"type": "logunifrom", "low": 1e-4, "high": 1e-2}},
         ["search.training.lr.type", "did you mean 'loguniform'"]),
        ({}, ["search:", "expected a mapping"]),
        (None, ["search:"]),
        ({"training.batch_size": {"type": "categorical", "choices": [4, 0]}},
         ["search.training.batch_size", "bad value for 'training.batch_size'"]),
        ({"training.batch_size": {"type": "int", "low": 2, "high": 8, "setp": 2}}, ["unknown field 'setp'", "step"]),
    ],
    ids=["low-above-high", "unknown-key", "unknown-type", "empty-search", "null-search", "bad-choice", "bad-field"],
)
def test_bad_search_fails_in_one_line(tmp_path, capsys, tiny_model, small_data, search, fragments):
    config = tune_config(tmp_path, tiny_model, small_data, search=search)
    code = main(["tune", str(config), "--trials", "2"])
    assert_one_line_error(code, capsys.readouterr().err, *fragments)
    assert not (tmp_path / "runs").exists()  # nothing ran, not even the default output folder


def test_empty_config_file_fails_in_one_line(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("")
    assert_one_line_error(main(["tune", str(config), "--trials", "1"]), capsys.readouterr().err,
                          "config.yaml", "empty config file")


def test_config_without_search_fails_in_one_line(tmp_path, capsys, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data)
    assert_one_line_error(main(["tune", str(config), "--trials", "1"]), capsys.readouterr().err, "no 'search:'")


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("tuneforge:")]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_train_on_a_tune_config_says_what_search_is_for(tmp_path, capsys, tiny_model, small_data):
    config = tune_config(tmp_path, tiny_model, small_data,
                         search={"training.lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}})
    assert_one_line_error(main(["train", str(config)]), capsys.readouterr().err,
                          "'search' is read by `tuneforge tune", "remove the search: block", "best.yaml")
    assert not (tmp_path / "runs").exists()


@pytest.mark.filterwarnings("ignore:Heartbeat of storage", "ignore::optuna.exceptions.ExperimentalWarning")
def test_a_killed_workers_running_trial_is_failed_and_not_counted(tmp_path, capsys, tiny_model, small_data):
    """#36 item 21: a worker killed mid-trial left it RUNNING; it held a place of --total-trials forever."""
    import sqlite3

    import optuna
    from optuna.trial import TrialState

    from tuneforge.studies.tune import tune
    from tuneforge.studies.tune.study import GRACE_S, HEARTBEAT_S

    config = tune_config(tmp_path, tiny_model, small_data, epochs=1)
    output = tmp_path / "search"
    output.mkdir()
    url = f"sqlite:///{output / 'study.db'}"
    dead = optuna.create_study(storage=optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S),
                               study_name="t", direction="maximize")
    trial = dead.ask({"training.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    dead._storage.record_heartbeat(trial._trial_id)  # what its worker last wrote, GRACE_S + 1 s before now:
    with sqlite3.connect(output / "study.db") as db:
        db.execute(f"UPDATE trial_heartbeats SET heartbeat = datetime('now', '-{GRACE_S + 1} seconds')")
    del dead
    result = tune(config, 2, total_trials=2, output=output)
    states = {t.number: t.state for t in result.study.get_trials(deepcopy=False)}
    assert states == {0: TrialState.FAIL, 1: TrialState.COMPLETE, 2: TrialState.COMPLETE}
    assert "trial 0: its worker sent no heartbeat" in capsys.readouterr().err
    assert [t["state"] for t in trials_json(output)] == ["FAIL", "COMPLETE", "COMPLETE"]
