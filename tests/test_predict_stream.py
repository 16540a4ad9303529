"""predict --input streams: chunked, resumable after a kill, sharded across processes, bad lines named."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest
from conftest import SENTENCES, make_config, write_conll

import tuneforge
from tuneforge.cli import main

WORDS = ["Alice", "lives", "in", "Paris", "Bob", "Smith", "works", "at", "Acme", "New", "York", "is", "big", "Carol",
         "met", "Dave", "Zoë", "—", "naïve", "café"]


def texts(n: int) -> list[str]:
    """Texts of varied lengths (some empty), deterministic."""
    return [" ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(i % 13)) for i in range(n)]


def write_input(path, items: list[str], blank_every: int = 0) -> None:
    lines = []
    for i, t in enumerate(items):
        lines.append(json.dumps({"text": t}, ensure_ascii=False))
        if blank_every and i % blank_every == 0:
            lines.append("")  # blank lines are skipped, as read_inputs skips them
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("predict-stream")
    data = {"train": write_conll(folder / "train.conll", SENTENCES * 2),
            "dev": write_conll(folder / "dev.conll", SENTENCES[:2])}
    config = make_config(folder, tiny_model, data, epochs=1, batch_size=4, threads=1)
    return tuneforge.train(config)


@pytest.fixture(scope="module")
def reference(run_dir):
    """The whole-list predictions of 40 texts (tuneforge.api.predict: one call, as predict did before)."""
    items = texts(40)
    return items, [json.dumps(r, ensure_ascii=False) for r in tuneforge.predict(tuneforge.load_run(run_dir), items)]


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["predict", *args])
    return code, capsys.readouterr().err.strip()


def same(a: list[str], b: list[str]) -> None:
    """The same predictions in the same order; scores (4 decimals) may differ in the last digit between batch
    compositions."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x == y or _close(json.loads(x), json.loads(y)), (x, y)


def _close(x, y) -> bool:
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return len(x) == len(y) and all(_close(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float):
        return abs(x - y) <= 2e-4
    return x == y


def test_streamed_chunks_equal_whole_file_predictions(tmp_path, capsys, run_dir, reference):
    items, expected = reference
    write_input(tmp_path / "in.jsonl", items, blank_every=5)
    out = tmp_path / "out.jsonl"
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
                    "--chunk-size", "3")
    assert code == 0, err
    got = out.read_text(encoding="utf-8").splitlines()
    same(got, expected)
    assert [json.loads(line)["text"] for line in got] == items  # input order, nothing dropped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no partial left behind

    # to stdout, chunk by chunk: the same lines; a text on the command line comes first
    assert main(["predict", str(run_dir), "Bob Smith works at Acme", "--input", str(tmp_path / "in.jsonl"),
                 "--chunk-size", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert json.loads(printed[0])["text"] == "Bob Smith works at Acme"
    same(printed[1:], expected)


def test_resume_after_a_torn_chunk_gives_the_uninterrupted_output(tmp_path, capsys, run_dir, reference):
    items, _ = reference
    write_input(tmp_path / "in.jsonl", items)
    straight = tmp_path / "straight.jsonl"
    assert cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(straight),
               "--chunk-size", "3")[0] == 0
    lines = straight.read_text(encoding="utf-8").splitlines(keepends=True)

    # What a kill leaves: chunks 1-3 fsynced, chunk 4 half written (one whole line and half of the next).
    out = tmp_path / "out.jsonl"
    partial = tmp_path / ".out.jsonl.partial"
    partial.write_text("".join(lines[:10]) + lines[10][: len(lines[10]) // 2], encoding="utf-8")
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
                    "--chunk-size", "3", "--resume")
    assert code == 0, err
    assert out.read_bytes() == straight.read_bytes()  # byte for byte: no line twice, none missing
    assert not partial.exists()

    # a complete partial file (killed between the last fsync and the rename) is just renamed
    out.unlink()
    partial.write_text("".join(lines), encoding="utf-8")
    assert cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
               "--chunk-size", "3", "--resume")[0] == 0
    assert out.read_bytes() == straight.read_bytes()

    # --resume with no partial file predicts everything
    out.unlink()
    assert cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
               "--chunk-size", "3", "--resume")[0] == 0
    assert out.read_bytes() == straight.read_bytes()


def test_resume_after_sigkill(tmp_path, capsys, run_dir):
    """A real kill -9 in the middle of the predict pass, then --resume: the same lines as one straight run."""
    items = texts(3000)
    write_input(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    partial = tmp_path / ".out.jsonl.partial"
    args = [sys.executable, "-m", "tuneforge", "predict", str(run_dir), "--input", str(tmp_path / "in.jsonl"),
            "--output", str(out), "--chunk-size", "5"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if partial.is_file() and partial.stat().st_size > 20_000:
            break
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.skip(f"predict finished before it could be killed (exit {proc.returncode})")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.stat().st_size > 0
    before = partial.read_bytes().count(b"\n")
    assert 0 < before < len(items)
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
                    "--chunk-size", "5", "--resume")
    assert code == 0, err
    resumed = out.read_text(encoding="utf-8").splitlines()
    straight = tmp_path / "straight.jsonl"
    assert cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(straight),
               "--chunk-size", "5")[0] == 0
    assert resumed == straight.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in resumed] == items


def test_a_partial_output_without_resume_is_one_line(tmp_path, capsys, run_dir):
    write_input(tmp_path / "in.jsonl", texts(5))
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    partial = tmp_path / ".out.jsonl.partial"
    partial.write_text('{"text": "x", "entities": []}\n{"te')
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out))
    assert code == 2 and len(err.splitlines()) == 1
    assert str(partial) in err and "--resume" in err and "delete it" in err
    assert out.read_text() == "old\n" and partial.read_text() == '{"text": "x", "entities": []}\n{"te'


def test_a_bad_line_is_named_before_anything_is_written(tmp_path, capsys, run_dir):
    lines = [json.dumps({"text": t}) for t in texts(10)]
    lines[6] = '{"text": "unclosed'
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
                    "--chunk-size", "2")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'in.jsonl'}:7: invalid JSON")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]  # neither output nor partial file

    lines[6] = json.dumps({"txt": "a field misspelt"})
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out))
    assert code == 2 and "in.jsonl:7: expected an object with 'text' strings" in err
    (tmp_path / "in.jsonl").write_bytes(b'{"text": "a"}\n' * 8 + b'{"text": "\xff"}\n')
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out))
    assert code == 2 and "in.jsonl:9: not valid UTF-8 (byte 0xff)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_option_misuse_is_one_line(tmp_path, capsys, run_dir, monkeypatch):
    write_input(tmp_path / "in.jsonl", texts(3))
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--resume")
    assert code == 2 and "--resume" in err and "--output" in err
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--chunk-size", "0")
    assert code == 2 and "--chunk-size" in err
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, err = cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"))
    assert code == 2 and "2 processes needs --output" in err and len(err.splitlines()) == 1


def test_an_existing_output_keeps_its_mode(tmp_path, capsys, run_dir):
    write_input(tmp_path / "in.jsonl", texts(4))
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    out.chmod(0o600)
    assert cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(out),
               "--progress")[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and len(out.read_text().splitlines()) == 4


def test_streamed_lines_match_read_lines(tmp_path):
    """iter_lines gives read_lines' lines (BOM, \\r\\n, U+2028 inside a line, no final newline) and its errors."""
    from tuneforge.data.text_file import iter_lines, read_lines
    from tuneforge.errors import DataError

    path = tmp_path / "a.jsonl"
    path.write_bytes("\ufeff{\"text\": \"a\u2028b\"}\r\n\n  \r\nlast\r".encode())
    assert [line for _, line in iter_lines(str(path))] == read_lines(str(path))
    for content in (b"", b" \n\r\n", b'{"a": 1}\n\xc3(\n'):
        path.write_bytes(content)
        with pytest.raises(DataError) as old:
            read_lines(str(path))
        with pytest.raises(DataError) as new:
            list(iter_lines(str(path)))
        assert str(new.value) == str(old.value)


@pytest.mark.skipif(shutil.which("accelerate", path=os.path.dirname(sys.executable)) is None,
                    reason="accelerate's launcher is not installed beside this Python")
def test_two_processes_shard_and_merge_in_input_order(tmp_path, capsys, run_dir, reference):
    items, _ = reference
    write_input(tmp_path / "in.jsonl", items, blank_every=7)
    one = tmp_path / "one.jsonl"
    assert cli(capsys, str(run_dir), "--input", str(tmp_path / "in.jsonl"), "--output", str(one),
               "--chunk-size", "4")[0] == 0
    out = tmp_path / "two.jsonl"
    # process 2 was killed earlier: its shard holds one chunk and a torn line; --resume continues it
    first_half = one.read_text(encoding="utf-8").splitlines(keepends=True)[20:]
    (tmp_path / ".two.jsonl.shard-2-of-2.partial").write_text("".join(first_half[:4]) + first_half[4][:9],
                                                              encoding="utf-8")
    launcher = os.path.join(os.path.dirname(sys.executable), "accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [launcher, "launch", "--multi_gpu", "--num_processes", "2", "-m", "tuneforge", "predict", str(run_dir),
         "--input", str(tmp_path / "in.jsonl"), "--output", str(out), "--chunk-size", "4", "--resume"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.read_text(encoding="utf-8").splitlines() == one.read_text(encoding="utf-8").splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "one.jsonl", "two.jsonl"]


def test_an_error_of_the_task_mid_file_names_the_line_and_keeps_what_is_done(tmp_path):
    """Checks only the loaded run can make (a text pair for a run not trained on pairs) fail mid-file: the
    task's "input K" becomes the file's line, the chunks before it stay, and --resume continues after a fix."""
    from tuneforge.errors import DataError
    from tuneforge.prediction.stream import predict_input
    from tuneforge.tasks import task_spec

    class Run:
        def predict(self, items):
            for i, item in enumerate(items):
                if item == "bad":
                    raise DataError(f"input {i + 1}: this run does not take 'bad'")
            return [{"text": item, "n": len(item)} for item in items]

    spec = task_spec("token-classification")
    path = tmp_path / "in.jsonl"
    items = [f"t{i}" for i in range(10)]
    items[7] = "bad"
    write_input(path, items)
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError) as err:
        predict_input(Run, spec, str(path), output=str(out), chunk_size=3)
    assert str(err.value) == (f"{path}:8: this run does not take 'bad' (6 prediction(s) are kept in "
                              f"{tmp_path / '.out.jsonl.partial'}: fix the input and add --resume to continue)")
    assert not out.exists() and (tmp_path / ".out.jsonl.partial").read_text().count("\n") == 6
    items[7] = "fixed"
    write_input(path, items)
    assert predict_input(Run, spec, str(path), output=str(out), chunk_size=3, resume=True) == 4
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == items
