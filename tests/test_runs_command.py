"""tuneforge runs: listing run directories (finished, running, damaged) and comparing runs side by side."""

from __future__ import annotations

import json
import time

import pytest
from conftest import SENTENCES, make_config, write_conll

from tuneforge.cli import main
from tuneforge.runs.listing import list_runs


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory, tiny_model):
    """Two tiny finished runs (different learning rates), one still running and one damaged."""
    from tuneforge.api import train

    base = tmp_path_factory.mktemp("runs-command")
    data = {"train": write_conll(base / "train.conll", SENTENCES * 2),
            "dev": write_conll(base / "dev.conll", SENTENCES[:2]),
            "test": write_conll(base / "test.conll", SENTENCES[2:])}
    config = make_config(base, tiny_model, data, epochs=1, eval_every=1, log_every=1)
    finished = [train(config, [f"name={name}", f"training.lr={lr}"]) for name, lr in (("slow", 1e-4), ("fast", 1e-2))]
    folder = finished[0].parent
    running = folder / "live"
    running.mkdir()
    (running / "config.yaml").write_text((finished[0] / "config.yaml").read_text())
    (running / "run.json").write_text(json.dumps({"status": "running", "started": time.time()}))
    lines = (finished[0] / "metrics.jsonl").read_text().splitlines()
    (running / "metrics.jsonl").write_text("\n".join(lines[:4]) + '\n{"step": 9, "lo')  # torn by a live writer
    damaged = folder / "torn"
    damaged.mkdir()
    (damaged / "run.json").write_text('{"status": "compl')
    (damaged / "report.json").write_text("[]")
    (folder / "not-a-run").mkdir()
    return folder


def test_runs_lists_every_run_with_its_status(runs_folder, capsys):
    assert main(["runs", str(runs_folder)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert lines[0].split()[:4] == ["name", "status", "task", "method"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert set(by_name) == {"slow", "fast", "live", "torn"}
    assert " running " in by_name["live"] and "damaged (run.json is damaged; report.json is damaged)" in by_name["torn"]
    for name in ("slow", "fast"):
        report = json.loads((runs_folder / name / "report.json").read_text())
        assert " complete " in by_name[name]
        assert f"test f1 {report['test']['f1']:.4f}" in by_name[name]
        assert f"{report['training']['trainable_parameters']:,}" in by_name[name]


def test_run_summaries_read_the_runs_files(runs_folder):
    runs = {r.name: r for r in list_runs(runs_folder)}
    report = json.loads((runs_folder / "fast" / "report.json").read_text())
    fast = runs["fast"]
    assert (fast.status, fast.metric, fast.split, fast.value) == ("complete", "f1", "test", report["test"]["f1"])
    assert fast.trainable_parameters == report["training"]["trainable_parameters"]
    assert fast.train_seconds == report["training"]["train_seconds"]
    assert runs["live"].value is None and runs["live"].task == fast.task
    assert runs["torn"].task is None and runs["torn"].status.startswith("damaged")
    # a run directory itself lists as its one run
    assert [r.name for r in list_runs(runs_folder / "fast")] == ["fast"]


def test_runs_json_format(runs_folder, capsys):
    assert main(["runs", str(runs_folder), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in records} == {"slow", "fast", "live", "torn"}


def test_runs_compare_writes_table_and_curves(runs_folder, tmp_path, capsys):
    out = tmp_path / "cmp"
    folders = [str(runs_folder / n) for n in ("slow", "fast", "live")]
    assert main(["runs", "compare", *folders, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    table = (out / "compare.md").read_text()
    assert printed == table
    assert "| | slow | fast | live |" in table.replace("|  |", "| |")
    slow, fast = (json.loads((runs_folder / n / "report.json").read_text()) for n in ("slow", "fast"))
    for split in ("dev", "test"):
        assert f"| {split} f1 | {slow[split]['f1']:.4f} | {fast[split]['f1']:.4f} | – |" in table
    assert "| status | complete | complete | running |" in table
    assert "![dev metric by step](dev_metric.svg)" in table and "![training loss by step](loss.svg)" in table
    for svg in ("dev_metric.svg", "loss.svg"):
        text = (out / svg).read_text()
        assert text.startswith("<svg")
        assert all(f">{name}</text>" in text for name in ("slow", "fast", "live"))  # the live run's first steps too
    data = json.loads((out / "compare.json").read_text())
    assert [r["label"] for r in data["runs"]] == ["slow", "fast", "live"]
    assert data["runs"][1]["metrics"]["test f1"] == fast["test"]["f1"]


def test_runs_compare_lists_a_damaged_run_as_damaged(runs_folder, tmp_path, capsys):
    assert main(["runs", "compare", str(runs_folder / "fast"), str(runs_folder / "torn"),
                 "--output", str(tmp_path / "c")]) == 0
    assert "damaged (run.json is damaged; report.json is damaged)" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["runs", "no/such/folder"], ["runs", "compare", "ONE"],
                                  ["runs", "compare", "A", "not-a-run"], ["runs", "a", "b"],
                                  ["runs", ".", "--output", "x"]])
def test_runs_errors_are_one_line(runs_folder, argv, capsys, monkeypatch):
    monkeypatch.chdir(runs_folder)
    argv = [a.replace("ONE", str(runs_folder / "fast")).replace("A", str(runs_folder / "slow")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
