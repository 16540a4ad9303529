"""#21: a damaged run directory or a pickle-only model folder is a one-line error naming the file (exit 2),
never a traceback; weights load through safetensors only."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from conftest import make_config
from safetensors.torch import load_file

import tuneforge
from tuneforge.cli import main
from tuneforge.engine.metrics_log import MetricsLog, read_metrics
from tuneforge.errors import ModelError, RunError


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model):
    from conftest import SENTENCES, write_conll

    tmp = tmp_path_factory.mktemp("corrupt")
    data = {"train": write_conll(tmp / "train.conll", SENTENCES * 2), "dev": write_conll(tmp / "dev.conll", SENTENCES)}
    return tuneforge.train(make_config(tmp, tiny_model, data, epochs=1, threads=1))


def damaged(finished_run, tmp_path, how):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    how(run)
    return run


def half(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def pickle_only(folder):
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def shorter_labels(run):
    labels = json.loads((run / "model" / "labels.json").read_text())
    (run / "model" / "labels.json").write_text(json.dumps(labels[:-2]))


CASES = {
    "truncated weights": (lambda run: half(run / "model" / "model.safetensors"),
                          "model/model.safetensors: damaged"),
    "empty weights": (lambda run: (run / "model" / "model.safetensors").write_bytes(b""),
                      "model/model.safetensors: damaged"),
    "corrupt labels.json": (lambda run: (run / "model" / "labels.json").write_text("["),
                            "model/labels.json: not valid JSON"),
    "labels.json shorter than the head": (shorter_labels, "model/labels.json: 5 labels, but the model's head has 7"),
    "corrupt task.json": (lambda run: (run / "model" / "task.json").write_text("{"), "model/task.json: not valid JSON"),
    "corrupt run.json": (lambda run: (run / "run.json").write_text("{"), "run.json: damaged"),
    "corrupt config.json": (lambda run: (run / "model" / "config.json").write_text("{"),
                            "model: the run's model cannot be loaded"),
    "pickle weights only": (lambda run: pickle_only(run / "model"), "holds pickle weights only (pytorch_model.bin)"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_damaged_run_is_one_line_naming_the_file(finished_run, tmp_path, capsys, case, command):
    how, message = CASES[case]
    run = damaged(finished_run, tmp_path, how)
    args = [command, str(run), *(["Alice lives in Paris"] if command == "predict"
                                  else ["--data", str(finished_run.parent.parent / "dev.conll")])]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {run}") and message in err, err


def test_the_undamaged_run_still_predicts(finished_run, capsys):
    assert main(["predict", str(finished_run), "Alice lives in Paris"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "Alice lives in Paris"


def test_a_pickle_only_backbone_is_refused_before_any_run_is_written(tmp_path, tiny_model, small_data):
    backbone = tmp_path / "backbone"
    shutil.copytree(tiny_model, backbone)
    pickle_only(backbone)
    config = make_config(tmp_path, str(backbone), small_data)
    with pytest.raises(ModelError, match="holds pickle weights only .*loads safetensors only .*save_pretrained"):
        tuneforge.train(config)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_torn_last_line_of_metrics_jsonl_is_dropped_and_a_bad_line_before_it_named(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
    assert [r["step"] for r in read_metrics(path)] == [1, 2]
    MetricsLog(path).truncate_after(1)
    assert path.read_text() == '{"step": 1, "loss": 2.0}\n'
    path.write_text('{"step": 1}\n{"step": 2\n{"step": 3}\n')
    with pytest.raises(RunError, match=r"metrics.jsonl:2: damaged"):
        read_metrics(path)
