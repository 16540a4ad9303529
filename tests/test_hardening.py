"""#21 hardening: non-finite numbers, unwritable output_dir, run directories created atomically, predict
--output at a directory, output file modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import yaml
from conftest import make_config

from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError, RunError


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_are_refused_before_anything_runs(tmp_path, small_data, value):
    with pytest.raises(ConfigError, match="bad value for 'training.epochs'.*finite"):
        load_config(make_config(tmp_path, "minilm", small_data), [f"training.epochs={value}"])


def test_an_unwritable_output_dir_is_one_line_before_the_model_loads(tmp_path, small_data):
    from tuneforge.api import train

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunError, match="output_dir .*is not a directory"):
        train(make_config(tmp_path, "no-such-model-is-loaded", small_data), [f"output_dir={blocker}/runs"])
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(RunError, match="permission denied"):
            train(make_config(tmp_path, "no-such-model-is-loaded", small_data), [f"output_dir={locked}"])


def test_run_directories_are_created_atomically_with_the_next_free_suffix(tmp_path, small_data):
    from tuneforge.runs.directory import start_run

    cfg = load_config(make_config(tmp_path, "minilm", small_data))
    (tmp_path / "runs" / "t").mkdir(parents=True)  # taken, e.g. by another process a moment ago
    first, second = start_run(cfg), start_run(cfg)
    assert (first.name, second.name) == ("t-2", "t-3")
    assert yaml.safe_load((first / "config.yaml").read_text())["name"] == "t"


def test_outputs_keep_an_existing_files_mode_and_respect_the_umask(tmp_path):
    from tuneforge.util.atomic import write_text

    private = tmp_path / "private.jsonl"
    private.write_text("old")
    private.chmod(0o600)
    write_text(private, "new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text() == "new"
    old = os.umask(0o077)
    try:
        write_text(tmp_path / "fresh.jsonl", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "fresh.jsonl").stat().st_mode) == 0o600


def test_predict_output_at_a_directory_is_one_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text('{"status": "complete"}')
    done = subprocess.run([sys.executable, "-m", "tuneforge", "predict", str(run), "text", "--output", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "is a directory" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path, small_data):
    path = make_config(tmp_path, "minilm", small_data)
    path.write_text(path.read_text() + "training:\n  epochs: 9\n", encoding="utf-8")
    first = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("training:"))
    expected = rf"config.yaml:\d+: duplicate key 'training' \(first given at line {first}\)"
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_max_length_beyond_the_models_positions_fails_before_anything_is_written(tmp_path, small_data, tiny_model):
    from tuneforge.api import train
    from tuneforge.errors import ModelError

    with pytest.raises(ModelError, match=r"model.max_length \(1024\) is more than .* \(512 positions\)"):
        train(make_config(tmp_path, tiny_model, small_data), ["model.max_length=1024"])
    assert not (tmp_path / "runs").exists()


def test_a_yaml_billion_laughs_is_refused_before_it_expands(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\ntraining: {epochs: *i}\n", encoding="utf-8")  # 9^9 strings expanded
    with pytest.raises(ConfigError, match=r"bomb.yaml:1: YAML aliases expand this document past 1,000,000 values"):
        load_config(bomb)
    small = tmp_path / "small.yaml"  # expands to thousands: allowed, and the bad value's message stays short
    small.write_text("\n".join(lines[:4]) + "\ndata: {train: x.csv}\ntraining: {epochs: *d}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad value for 'training.epochs'") as err:
        load_config(small)
    assert len(str(err.value)) < 400
