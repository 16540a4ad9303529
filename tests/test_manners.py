"""Terminal and API manners: evaluate without --data, one-string predict, calibrate with nothing to tune,
check-data warnings and split order, a short train summary, quiet third-party warnings, in-memory data."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from conftest import SENTENCES, make_config, write_conll
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main
from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, tiny_model):
    """A tiny NER run trained through the CLI, with what the command printed."""
    tmp = tmp_path_factory.mktemp("manners")
    data = {"train": write_conll(tmp / "train.conll", SENTENCES * 4),
            "dev": write_conll(tmp / "dev.conll", SENTENCES[:2]),
            "test": write_conll(tmp / "test.conll", SENTENCES[2:])}
    config = make_config(tmp, tiny_model, data, epochs=2)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["train", str(config)]) == 0
    return {"run": tmp / "runs" / "t", "data": data, "out": out.getvalue(), "err": err.getvalue()}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("tuneforge:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def copy_run(ner_run, tmp_path, **data):
    """The same trained run with other data settings in its config.yaml (what evaluate reads without --data)."""
    copy = tmp_path / "copy"
    shutil.copytree(ner_run["run"], copy)
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    cfg["data"].update({name: str(path) for name, path in ner_run["data"].items()}, **data)
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return copy


def forbid_model_loading(monkeypatch):
    import tuneforge.runs.directory

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(tuneforge.runs.directory, "load_run", refuse)
    monkeypatch.setattr(tuneforge.api, "load_run", refuse)


# a. evaluate RUN without --data ------------------------------------------------------------------------------
def test_evaluate_without_data_scores_the_runs_test_split(ner_run, capsys):
    run, data = ner_run["run"], ner_run["data"]
    assert main(["evaluate", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == tuneforge.evaluate(run, data["test"])
    assert main(["evaluate", str(run)]) == 0
    captured = capsys.readouterr()
    assert "### the run's test split" in captured.out and "dev split" not in captured.err


def test_evaluate_without_test_split_scores_dev_with_a_note(ner_run, tmp_path, capsys):
    run = copy_run(ner_run, tmp_path, test=None)
    assert main(["evaluate", str(run), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == tuneforge.evaluate(run, ner_run["data"]["dev"])
    assert "no test split: scoring its dev split" in captured.err


def test_evaluate_with_neither_split_is_one_line_before_loading(ner_run, tmp_path, capsys, monkeypatch):
    run = copy_run(ner_run, tmp_path, test=None, dev=None)
    forbid_model_loading(monkeypatch)
    assert main(["evaluate", str(run)]) == 2
    assert "no test or dev split to score" in one_error_line(capsys)
    with pytest.raises(ConfigError, match="no test or dev split"):
        tuneforge.evaluate(run)


# b. predict one string ----------------------------------------------------------------------------------------
def test_predict_one_string_gives_one_result(ner_run):
    run = tuneforge.load_run(ner_run["run"])
    one = tuneforge.predict(run, "Alice lives in Paris")
    assert isinstance(one, dict) and one["text"] == "Alice lives in Paris"
    assert [one] == tuneforge.predict(run, ["Alice lives in Paris"])
    assert len(tuneforge.predict(run, ("Alice", "Bob Smith works"))) == 2


# c. calibrate with nothing to calibrate -----------------------------------------------------------------------
def test_calibrate_with_nothing_to_tune_says_so_before_loading(ner_run, capsys, monkeypatch):
    forbid_model_loading(monkeypatch)
    report = (ner_run["run"] / "report.md").read_bytes()
    assert main(["calibrate", str(ner_run["run"])]) == 2
    assert "nothing to calibrate" in one_error_line(capsys)
    assert (ner_run["run"] / "report.md").read_bytes() == report


@pytest.mark.parametrize(("task", "options", "tuned"), [
    ("sequence-classification", {}, False),
    ("sequence-classification", {"out_of_scope_label": "oos", "oos_threshold": 0.5}, False),
    ("sequence-classification", {"out_of_scope_label": "oos", "oos_threshold": "auto"}, True),
    ("sequence-classification", {"multi_label": True}, True),
    ("relation-extraction", {}, False),
    ("question-answering", {"squad_version": "1.1"}, False),
    ("question-answering", {"squad_version": "2.0"}, True),
    ("question-answering", {"squad_version": "2.0", "null_threshold": 1.5}, False),
    ("embedding-classification", {"labels": [{"name": "a"}, {"name": "b"}], "out_of_scope_label": "oos",
                                  "oos_threshold": "auto"}, True),
])
def test_calibration_targets_follow_the_options(tmp_path, task, options, tuned):
    from tuneforge.api import calibration_targets
    from tuneforge.config.loading import validate

    cfg = validate({"task": task, "data": {"train": str(tmp_path / "train")}, "task_options": options})
    assert bool(calibration_targets(cfg, tmp_path)) is tuned


def test_question_answering_run_that_found_v1_data_has_nothing_to_tune(tmp_path):
    from tuneforge.api import calibration_targets
    from tuneforge.config.loading import validate

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "task.json").write_text(json.dumps({"squad_version": "1.1", "null_threshold": None}))
    cfg = validate({"task": "question-answering", "data": {"train": str(tmp_path / "train")}})
    assert calibration_targets(cfg, tmp_path) == []


# d. check-data: rare labels, split order ------------------------------------------------------------------------
def test_rare_labels():
    from tuneforge.tasks.common.check_report import rare_labels

    assert rare_labels({"a": 2000, "b": 2000, "c": 2000, "d": 15, "e": 3}) == {"e": 3, "d": 15}
    assert rare_labels({"a": 6, "b": 5, "c": 4}) == {"c": 4}
    assert rare_labels({}) == {}


def test_check_data_names_rare_labels(tmp_path, capsys, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS * 4 + [("I lost my phone", "lost_phone")])
    config = text_config(tmp_path, tiny_model, train=train)
    assert main(["check-data", str(config), "--no-model"]) == 0
    out = capsys.readouterr().out
    assert "WARNING 1 label(s) with very few training examples" in out and "lost_phone 1" in out
    assert main(["check-data", str(config), "--no-model", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["train"]["rare_labels"] == {"lost_phone": 1}


def test_check_data_prints_splits_in_train_dev_test_order(tmp_path, capsys, tiny_model):
    train = write_conll(tmp_path / "train.conll", SENTENCES * 10)
    config = make_config(tmp_path, tiny_model, {"train": train})
    assert main(["check-data", str(config), "--no-model", "--set", "data.split.dev=0.2",
                 "--set", "data.split.test=0.2"]) == 0
    out = capsys.readouterr().out
    headers = [line.split(":")[0] for line in out.splitlines() if line.startswith("== ")]
    assert headers == ["== train", "== dev", "== test"]
    assert "WARNING" not in out  # 10 of each entity type: none is rare


# e. train prints a summary, not the report ----------------------------------------------------------------------
def test_train_prints_a_short_summary(ner_run):
    out, run = ner_run["out"], ner_run["run"]
    report = json.loads((run / "report.json").read_text())
    lines = out.strip().splitlines()
    assert len(lines) <= 5, out
    assert lines[0].startswith(f"dev: f1 {report['dev']['f1']:.4f}")
    assert lines[1].startswith(f"test: f1 {report['test']['f1']:.4f}")
    assert any(line.startswith("time: 8 steps, ") for line in lines)
    assert str(run / "report.md") in out and str(run / "report.json") in out
    assert "Entity-level" not in out and "Entity-level" in (run / "report.md").read_text()


# f. third-party warnings ---------------------------------------------------------------------------------------
def warn_from(module: str, category=FutureWarning) -> None:
    warnings.warn_explicit("noisy", category, filename=f"/x/{module.replace('.', '/')}.py", lineno=1, module=module)


def test_third_party_warnings_are_quiet_but_ours_are_not(monkeypatch):
    from tuneforge.util.quiet import third_party_quiet

    monkeypatch.setattr(sys, "warnoptions", [])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with third_party_quiet():
            warn_from("transformers.modeling_utils")
            warn_from("peft.tuners.lora", UserWarning)
            warn_from("torch.utils.data", UserWarning)
            warn_from("tuneforge.api", UserWarning)
            warn_from("transformerslike")  # not the transformers package
            warn_from("transformers.x", RuntimeWarning)  # not a noisy category
        warn_from("transformers.modeling_utils")  # outside: untouched
    assert [(w.filename.removeprefix("/x/"), w.category) for w in seen] == [
        ("tuneforge/api.py", UserWarning), ("transformerslike.py", FutureWarning),
        ("transformers/x.py", RuntimeWarning), ("transformers/modeling_utils.py", FutureWarning)]


def test_warnings_asked_for_with_W_are_kept(monkeypatch):
    from tuneforge.util.quiet import third_party_quiet

    monkeypatch.setattr(sys, "warnoptions", ["default"])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with third_party_quiet():
            warn_from("transformers.modeling_utils")
    assert len(seen) == 1


# g. in-memory data ---------------------------------------------------------------------------------------------
def test_train_takes_records_in_memory(tmp_path, tiny_model):
    records = [{"text": t, "label": label} for t, label in INTENTS]
    cfg = {"name": "mem", "task": "sequence-classification", "model": {"name": tiny_model, "max_length": 32},
           "data": {"train": records * 3, "dev": records},
           "training": {"epochs": 1, "batch_size": 4, "progress": False, "seed": 1},
           "output_dir": str(tmp_path / "runs")}
    run = tuneforge.train(cfg)
    saved = load_config(run / "config.yaml").data  # the run names the files its data was written to
    assert saved.train.startswith(str(tmp_path / "runs" / ".data" / "train-")) and saved.train.endswith(".jsonl")
    lines = [json.loads(line) for line in Path(saved.train).read_text(encoding="utf-8").splitlines()]
    assert lines == records * 3
    assert json.loads((run / "report.json").read_text())["dev"]["examples"] == 6
    assert tuneforge.predict(run, "where is my card")["label"] in {"card_arrival", "top_up", "close_account"}


class FakeFrame:
    """Stands in for a pandas DataFrame (not installed here): columns and to_dict("records")."""

    columns = ["text", "label"]

    def __init__(self, rows):
        self.rows = rows

    def to_dict(self, orient):
        assert orient == "records"
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def test_in_memory_frames_and_bad_records(tmp_path):
    from tuneforge.api import materialize_data

    cfg = materialize_data({"data": {"train": FakeFrame(INTENTS), "test": str(tmp_path / "t.csv")},
                            "output_dir": str(tmp_path / "out")})
    assert cfg["data"]["test"] == str(tmp_path / "t.csv")
    rows = [json.loads(line) for line in Path(cfg["data"]["train"]).read_text(encoding="utf-8").splitlines()]
    assert rows == [{"text": t, "label": label} for t, label in INTENTS]
    assert materialize_data(cfg) == cfg  # nothing left in memory
    with pytest.raises(ConfigError, match=r"data.train\[1\]: a str"):
        materialize_data({"data": {"train": [{"text": "a", "label": "b"}, "oops"]}, "output_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="data.format"):
        materialize_data({"data": {"train": [{"text": "a"}], "format": "csv"}, "output_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="no records"):
        materialize_data({"data": {"dev": []}, "output_dir": str(tmp_path)})
