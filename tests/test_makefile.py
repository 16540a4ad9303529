"""The Makefile: `make demo` does only the demo (no system packages, nothing deleted; a second demo refuses to
replace the first), the browser for the chat page's test belongs to `make test`'s set-up, and torch can come from
a CPU-only index."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def project(tmp_path: Path, installed: bool = True) -> Path:
    """The Makefile and the files its set-up depends on, in a folder of their own (with .venv up to date)."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    if installed:
        (tmp_path / ".venv").mkdir()
        (tmp_path / ".venv" / ".installed").touch()
        later = (tmp_path / "pyproject.toml").stat().st_mtime + 10
        os.utime(tmp_path / ".venv" / ".installed", (later, later))
    return tmp_path


def make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(folder), *args], capture_output=True,
                          text=True, timeout=60)


def test_demo_runs_only_the_demo(tmp_path):
    done = make(project(tmp_path, installed=False), "-n", "demo")
    assert done.returncode == 0, done.stderr
    assert "tuneforge train examples/demo-ner.yaml --set name=demo-ner" in done.stdout
    assert "tuneforge predict runs/demo-ner" in done.stdout
    assert "apt-get" not in done.stdout and "chromium" not in done.stdout and "rm -rf" not in done.stdout


def test_the_browser_comes_with_the_test_set_up(tmp_path):
    done = make(project(tmp_path), "-n", "test")
    assert done.returncode == 0, done.stderr
    assert "apt-get install -y -q chromium chromium-driver" in done.stdout
    assert "pytest -q" in done.stdout


def test_a_second_demo_refuses_to_replace_the_first_and_deletes_nothing(tmp_path):
    folder = project(tmp_path)
    (folder / "runs" / "demo-ner").mkdir(parents=True)
    (folder / "runs" / "demo-ner" / "report.json").write_text("{}")
    done = make(folder, "demo")
    assert done.returncode == 2
    assert "make demo: runs/demo-ner exists (an earlier demo). Predict with it:" in done.stderr
    assert "or train another beside it: make demo DEMO_RUN=demo-ner-2" in done.stderr
    assert (folder / "runs" / "demo-ner" / "report.json").read_text() == "{}"
    assert sorted(p.name for p in (folder / "runs").iterdir()) == ["demo-ner"]


def test_another_demo_run_name_trains_beside_the_first(tmp_path):
    folder = project(tmp_path)
    (folder / "runs" / "demo-ner").mkdir(parents=True)
    done = make(folder, "-n", "demo", "DEMO_RUN=demo-ner-2")
    assert done.returncode == 0, done.stderr
    assert "--set name=demo-ner-2" in done.stdout and "predict runs/demo-ner-2" in done.stdout


def test_torch_comes_from_the_named_index_before_the_rest(tmp_path):
    folder = project(tmp_path, installed=False)
    plain = make(folder, "-n", "setup").stdout
    assert "--index-url" not in plain
    lines = make(folder, "-n", "setup", "TORCH_INDEX=https://download.pytorch.org/whl/cpu").stdout.splitlines()
    torch = next(i for i, line in enumerate(lines) if "--index-url https://download.pytorch.org/whl/cpu" in line)
    rest = next(i for i, line in enumerate(lines) if '-e ".[dev]"' in line)
    assert "-c constraints.txt torch" in lines[torch] and torch < rest
