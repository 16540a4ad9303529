"""tuneforge init (starter configs), tuneforge config --schema, and docs/config.md's block generated from the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import SENTENCES, write_conll

from tuneforge.cli import main
from tuneforge.config.loading import load_config
from tuneforge.config.reference import CONFIG_PAGE, config_page_block, leaves, render_text, render_yaml
from tuneforge.config.schema import RunConfig
from tuneforge.config.starters import PLACEHOLDERS, starter_config
from tuneforge.methods import METHODS
from tuneforge.tasks import DEFAULT_TASK, TASKS

CONFIG_DOC = Path(__file__).resolve().parents[1] / CONFIG_PAGE


def model_keys(model, prefix: str = "") -> set[str]:
    """Every leaf key below a pydantic model, walked independently of config_schema."""
    from pydantic import BaseModel

    keys = set()
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        path = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys |= model_keys(ann, path + ".")
        else:
            keys.add(path)
    return keys


def all_keys(task: str | None = None) -> set[str]:
    keys = {k for k in model_keys(RunConfig) if not k.startswith("task_options")}
    for name, spec in TASKS.items():
        if task in (None, name):
            keys |= model_keys(spec.options, "task_options.")
    return keys


def flatten(data: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in data.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def test_schema_lists_every_key_once_per_owner():
    paths = [n.path for n in leaves()]
    assert set(paths) == all_keys()
    # the keys README's hand-written block missed (issue #19)
    for key in ("training.log_every", "training.progress", "training.momentum", "task_options.decode",
                "adapter.non_linearity"):
        assert key in paths
    for task in TASKS:
        assert {n.path for n in leaves(task)} == all_keys(task)


def test_schema_defaults_and_descriptions_come_from_the_models():
    by_path = {n.path: n for n in leaves()}
    momentum = by_path["training.momentum"]
    assert momentum.default == 0.9 and momentum.description == "SGD only." and momentum.type == "float (>= 0, < 1)"
    assert by_path["training.eval_every"].type == "int | epoch"
    assert by_path["model.dropout"].type == "float (>= 0.0, < 1.0) | null"
    assert by_path["inference.decoding.stop"].default == []
    # a task's schema shows the defaults its configs get
    for name, spec in TASKS.items():
        nodes = {n.path: n for n in leaves(name)}
        assert nodes["model.name"].default == spec.default_model
        cfg = load_config({"task": name, "data": {"train": "x"}, "task_options": _zero_shot_labels(name)})
        assert nodes["method"].default == cfg.method


def _zero_shot_labels(task: str) -> dict:
    return {"labels": [{"name": "a"}]} if "labels" in TASKS[task].options.model_fields else {}


def test_config_page_block_is_the_generated_one():
    page = CONFIG_DOC.read_text(encoding="utf-8")
    start, end = config_page_block(page)
    assert page[start:end] == render_yaml(), (
        "docs/config.md's config block is out of date; regenerate it with: tuneforge config --schema --format yaml")


def test_generated_block_is_yaml_with_every_key_and_its_default():
    data = yaml.safe_load(render_yaml())
    assert flatten(data) == all_keys()
    assert data["training"]["log_every"] == 10 and data["adapter"]["non_linearity"] == "relu"
    assert data["task_options"]["decode"] == "viterbi"


def test_config_schema_command(capsys):
    assert main(["config", "--schema", "--format", "json", "--task", DEFAULT_TASK]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["key"] for r in records} == all_keys(DEFAULT_TASK)
    assert all({"type", "default", "description"} <= set(r) for r in records)
    assert main(["config", "--schema"]) == 0
    out = capsys.readouterr().out
    assert out == render_text() and "training.log_every: int (>= 1) = 10" in out
    assert main(["config", "--schema", "--format", "yaml"]) == 0
    assert capsys.readouterr().out == render_yaml()
    assert main(["config"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: ")


def _methods_of(task: str) -> list[str]:
    return list(TASKS[task].methods or METHODS)


@pytest.mark.parametrize("task", list(TASKS))
def test_init_for_every_task_and_method_validates_once_data_paths_are_filled(tmp_path, task):
    for method in _methods_of(task):
        path = tmp_path / f"{method}.yaml"
        assert main(["init", "--task", task, "--method", method, "--output", str(path)]) == 0
        text = path.read_text(encoding="utf-8")
        files = {}
        for key, placeholder in PLACEHOLDERS.items():
            if placeholder in text:
                files[key] = tmp_path / Path(placeholder).name
                files[key].write_text("", encoding="utf-8")
                text = text.replace(f" {placeholder} ", f" {files[key]} ")
        assert "data.train" in files
        path.write_text(text, encoding="utf-8")
        cfg = load_config(path)
        assert (cfg.task, cfg.method) == (task, method)
        # every key the starter writes is the default: it loads as the bare config with the same files does
        bare = {"name": cfg.name, "task": task, "method": method, "data": {}, "task_options": {},
                "output_dir": str(tmp_path / "runs")}  # the file's relative runs/, resolved from its folder
        for key, file in files.items():
            section, name = key.split(".")
            bare[section][name] = str(file)
        assert cfg.model_dump() == load_config(bare).model_dump()
    # the task's default method when none is given
    default = load_config({"task": task, "data": {"train": "x"}, "task_options": _zero_shot_labels(task)}).method
    assert f"\nmethod: {default} " in starter_config(task)


def test_init_writes_only_this_method_and_tasks_keys():
    for task in TASKS:
        method = _methods_of(task)[0]
        data = yaml.safe_load(starter_config(task, method))
        sections = {spec.options_key for spec in METHODS.values() if spec.options_key}
        assert sections & set(data) == ({METHODS[method].options_key} - {None})
        assert set(data["task_options"]) == set(TASKS[task].options.model_fields) - {"task"}


def test_init_refuses_to_overwrite_and_bad_choices(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("keep me\n", encoding="utf-8")
    assert main(["init", "--task", DEFAULT_TASK, "--output", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exists" in err and err.count("\n") == 1
    assert path.read_text(encoding="utf-8") == "keep me\n"
    restricted = next(t for t, s in TASKS.items() if s.methods)
    other = next(m for m in METHODS if m not in TASKS[restricted].methods)
    assert main(["init", "--task", restricted, "--method", other, "--output", str(tmp_path / "x.yaml")]) == 2
    assert "cannot train" in capsys.readouterr().err and not (tmp_path / "x.yaml").exists()
    with pytest.raises(SystemExit):  # argparse: an unknown task is a usage error
        main(["init", "--task", "no-such-task"])


def test_init_then_train_token_classification(tmp_path, tiny_model, capsys):
    path = tmp_path / "ner.yaml"
    assert main(["init", "--task", DEFAULT_TASK, "--output", str(path)]) == 0
    train = write_conll(tmp_path / "train.conll", SENTENCES * 2)
    dev = write_conll(tmp_path / "dev.conll", SENTENCES[:2])
    text = path.read_text(encoding="utf-8")
    text = text.replace(f" {TASKS[DEFAULT_TASK].default_model} ", f" {tiny_model} ", 1)
    text = text.replace(" data/train.jsonl ", f" {train} ").replace(" data/dev.jsonl ", f" {dev} ")
    text = text.replace(" data/test.jsonl ", " null ")
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    rc = main(["train", str(path), "--set", "training.epochs=1", "--set", "training.batch_size=4",
               "--set", "model.max_length=32", "--set", "model.stride=8", "--set", "training.progress=false"])
    assert rc == 0, capsys.readouterr().err
    run_dir = tmp_path / "runs" / f"{DEFAULT_TASK}-full"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    assert "f1" in json.loads((run_dir / "report.json").read_text())["dev"]
