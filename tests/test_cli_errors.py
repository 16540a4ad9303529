"""Bad input: one line naming file/line or key, exit status 2, no traceback, no run directory."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import SENTENCES, make_config, write_conll

from tuneforge.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    return code, err


def assert_clean_failure(code: int, err: str, tmp_path, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("tuneforge:")]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"Alice B-person\nlives\n", ["train.conll:2", "tag missing"]),
        (b"", ["train.conll", "file is empty"]),
        (b"Alice B-person\nCaf\xe9 O\n", ["train.conll:2", "not valid UTF-8"]),
        (b"Alice B-person\nlives I-location\n", ["train.conll:2", "does not continue an entity"]),
    ],
    ids=["tag-missing", "empty-file", "non-utf8", "i-after-o-in-error-mode"],
)
def test_bad_train_file(tmp_path, capsys, tiny_model, small_data, content, fragments):
    small_data["train"].write_bytes(content)
    config = make_config(tmp_path, tiny_model, small_data)
    code, err = run_cli(capsys, "train", str(config), "--set", "data.invalid_bio=error")
    assert_clean_failure(code, err, tmp_path, *fragments)


def test_unknown_label_in_test_set(tmp_path, capsys, tiny_model, small_data):
    write_conll(small_data["test"], [*SENTENCES[:1], [("Zorg", "O"), ("Inc", "B-alien")]])
    config = make_config(tmp_path, tiny_model, small_data)
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, "test.conll:8", "'B-alien'", "does not occur in the training data")


def test_misspelled_config_key(tmp_path, capsys, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data)
    config.write_text(config.read_text().replace("batch_size", "batch_sise"))
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, "training.batch_sise", "did you mean 'training.batch_size'")


def test_unknown_model_name_offline(tmp_path, capsys, small_data):
    config = make_config(tmp_path, "no-such-org/no-such-model", small_data)
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, "no-such-org/no-such-model", "cannot be loaded")


def test_missing_data_file(tmp_path, capsys, tiny_model, small_data):
    small_data["dev"] = tmp_path / "nope.conll"
    code, err = run_cli(capsys, "train", str(make_config(tmp_path, tiny_model, small_data)))
    assert_clean_failure(code, err, tmp_path, "nope.conll", "file not found")


def test_check_data_lists_every_problem(tmp_path, capsys, tiny_model, small_data):
    small_data["train"].write_text("A B-x\nB\n\nC O\nD\n", encoding="utf-8")
    code = main(["check-data", str(make_config(tmp_path, tiny_model, small_data)), "--no-model"])
    out = capsys.readouterr().out
    assert code == 2
    assert "train.conll:2: tag missing" in out and "train.conll:5: tag missing" in out


def test_subprocess_exit_status_and_single_line(tmp_path, tiny_model, small_data):
    small_data["train"].write_bytes(b"Alice B-person\nlives\n")
    config = make_config(tmp_path, tiny_model, small_data)
    proc = subprocess.run([sys.executable, "-m", "tuneforge", "train", str(config)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {small_data['train']}:2: tag missing: "
                                                "expected a token and a tag, found only 'lives'"]
    assert not (tmp_path / "runs").exists()
