"""Consistency between commands: tune --set, init's keys per task, export --merge's files and card, in-memory
records named by their index, and no peft deprecation warning on loading an adapter run."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from conftest import make_config
from test_text_data import INTENTS

import tuneforge
from tuneforge.cli import main
from tuneforge.errors import ConfigError, DataError

TOKEN_KEYS = ("scheme", "invalid_bio", "tokens_field", "tags_field")


def one_line_error(capsys, *args) -> str:
    code = main(list(args))
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_tune_takes_set_like_every_other_command(tmp_path, tiny_model, small_data, capsys):
    config = make_config(tmp_path, tiny_model, small_data, epochs=3)
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    search = {"training.lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}}
    config.write_text(yaml.safe_dump({**cfg, "search": search}), encoding="utf-8")
    out = tmp_path / "tune"
    assert main(["tune", str(config), "--trials", "1", "--output", str(out), "--set", "training.max_steps=2",
                 "--set", "training.weight_decay=0.0"]) == 0
    [trial] = [p for p in (out).iterdir() if (p / "config.yaml").is_file()]
    saved = yaml.safe_load((trial / "config.yaml").read_text(encoding="utf-8"))["training"]
    assert saved["max_steps"] == 2 and saved["weight_decay"] == 0.0 and 1e-4 <= saved["lr"] <= 1e-2
    assert json.loads((trial / "report.json").read_text())["training"]["steps"] == 2
    capsys.readouterr()
    line = one_line_error(capsys, "tune", str(config), "--trials", "1", "--set", "search.training.lr=1")
    assert "--set search.training.lr: the search space is the file's search: block" in line
    assert "--set" in subprocess.run([sys.executable, "-m", "tuneforge", "tune", "--help"], capture_output=True,
                                     text=True).stdout


@pytest.mark.parametrize("task", ["sequence-classification", "relation-extraction", "generation"])
def test_init_writes_only_the_keys_of_its_task(task, capsys):
    from tuneforge.config import load_config

    assert main(["init", "--task", task]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    assert not set(TOKEN_KEYS) & set(data["data"]), sorted(data["data"])
    assert "translation_target" not in data["data"] or task == "generation"
    data["data"] = {k: v for k, v in data["data"].items() if k not in ("dev", "test")}
    assert load_config(data).task == task  # what it wrote loads


def test_init_of_token_classification_keeps_its_keys(capsys):
    assert main(["init", "--task", "token-classification"]) == 0
    assert set(TOKEN_KEYS) <= set(yaml.safe_load(capsys.readouterr().out)["data"])


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_model) -> Path:
    from conftest import SENTENCES, write_conll

    tmp = tmp_path_factory.mktemp("lora")
    data = {"train": write_conll(tmp / "train.conll", SENTENCES * 4), "test": write_conll(tmp / "t.conll", SENTENCES)}
    return tuneforge.train(make_config(tmp, tiny_model, data, max_steps=2), ["method=lora"])


def test_export_merge_writes_ordinary_modes_keeps_the_card_and_warns_nothing(lora_run, tmp_path):
    out = tmp_path / "merged"
    done = subprocess.run([sys.executable, "-m", "tuneforge", "export", str(lora_run), "--merge", "--output",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "is_gradient_checkpointing" not in done.stderr and "FutureWarning" not in done.stderr, done.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert len(set(modes.values())) == 1 and modes["model.safetensors"] & 0o044 == 0o044, modes
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "library_name: transformers" in card and "merged" in card
    assert "PeftModel" not in card and "AutoModelForTokenClassification.from_pretrained" in card


def test_loading_an_adapter_run_raises_no_peft_deprecation(lora_run):
    from tuneforge.prediction.shared_backbone import SharedBackbone
    from tuneforge.runs.directory import config_of

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        tuneforge.load_run(lora_run, merge=False)  # serve's whole-run load
        SharedBackbone(config_of(lora_run).model.name).add("a", lora_run)  # serve's shared backbone
    assert not [w for w in seen if "is_gradient_checkpointing" in str(w.message)]


def test_a_bad_in_memory_record_is_named_by_its_index_and_nothing_is_written(tmp_path, tiny_model):
    records = [{"text": t, "label": label} for t, label in INTENTS]
    cfg = {"name": "mem", "task": "sequence-classification", "model": {"name": tiny_model, "max_length": 32},
           "data": {"train": [*records, {"text": "no label here"}], "dev": records},
           "training": {"max_steps": 1, "progress": False}, "output_dir": str(tmp_path / "runs")}
    with pytest.raises(DataError) as bad:
        tuneforge.train(cfg)
    assert str(bad.value).startswith(f"data.train[{len(records)}]: "), str(bad.value)
    assert "/.data/" not in str(bad.value) and not (tmp_path / "runs").exists()
    typo = {**cfg, "data": {"train": records}, "training": {"max_step": 1}}  # a config error: no data file either
    with pytest.raises(ConfigError, match="training.max_step"):
        tuneforge.train(typo)
    assert not (tmp_path / "runs").exists()
