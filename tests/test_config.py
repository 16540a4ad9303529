from __future__ import annotations

import pytest

from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_misspelled_key_names_path_and_suggestion(tmp_path):
    path = write(tmp_path, "data: {train: a.conll}\ntraining:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "training.lrr" in message and "did you mean 'training.lr'" in message
    assert str(path) in message and "\n" not in message


def test_bad_value_names_key(tmp_path):
    path = write(tmp_path, "data: {train: a.conll}\ntraining: {batch_size: -3}\n")
    with pytest.raises(ConfigError, match=r"training\.batch_size"):
        load_config(path)


def test_missing_required_key(tmp_path):
    with pytest.raises(ConfigError, match="missing required key 'data.train'"):
        load_config(write(tmp_path, "name: x\n"))


def test_overrides_and_relative_paths(tmp_path, monkeypatch):
    path = write(tmp_path, "data: {train: sub/a.conll}\n")
    monkeypatch.chdir(tmp_path.parent)
    cfg = load_config(path, ["training.lr=3e-5", "training.eval_every=50", "data.dev=b.conll"])
    assert cfg.training.lr == 3e-5 and cfg.training.eval_every == 50
    assert cfg.data.train == str(tmp_path / "sub" / "a.conll")  # relative to the config file
    assert cfg.data.dev == str(tmp_path.parent / "b.conll")  # --set paths: relative to the cwd


def test_override_unknown_key_suggests(tmp_path):
    path = write(tmp_path, "data: {train: a.conll}\n")
    with pytest.raises(ConfigError, match="did you mean 'model.max_length'"):
        load_config(path, ["model.max_lenght=64"])


def test_invalid_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"c\.yaml:2: invalid YAML"):
        load_config(write(tmp_path, "name: x\ndata: a: b\n"))


@pytest.mark.parametrize("option", ["fast_dropout", "embedding_row_grad", "retain_memory"])
def test_a_bad_engine_switch_fails_in_one_line_and_false_is_taken(tmp_path, option):
    path = write(tmp_path, f"data: {{train: a.conll}}\ntraining: {{{option}: sometimes}}\n")
    with pytest.raises(ConfigError, match=rf"training\.{option}") as err:
        load_config(path)
    assert "\n" not in str(err.value)
    assert getattr(load_config(path, [f"training.{option}=false"]).training, option) is False
