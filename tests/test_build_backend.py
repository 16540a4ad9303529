"""tuneforge's build backend (tools/backend/tuneforge_build.py): setuptools', after refusing, in one line, a pip that
would build seqeval's source release the legacy way and fail minutes later ('No module named vcs_versioning').
The real thing runs in `make test-pythons`: Python 3.10's stock pip 23.0.1 is refused there, then upgraded."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_backend():
    spec = importlib.util.spec_from_file_location("tuneforge_build", REPO / "tools" / "backend" / "tuneforge_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


backend = load_backend()


def test_pyproject_builds_with_this_backend_and_the_sdist_carries_it():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")  # no tomllib: this runs on Python 3.10 too
    assert 'build-backend = "tuneforge_build"\nbackend-path = ["tools/backend"]\n' in pyproject
    assert "include tools/backend/tuneforge_build.py" in (REPO / "MANIFEST.in").read_text(encoding="utf-8")


@pytest.mark.parametrize("pip, setuptools, wheel, refused_below", [
    ((23, 0, 1), True, False, "23.1"),  # python3.10 -m venv: pip 23.0.1 beside setuptools 65
    ((22, 3), True, False, "23.1"),
    ((23, 1), True, False, None),
    ((24, 2), True, True, "25.3"),  # pip 23.1-25.2 still runs setup.py when wheel is installed
    ((25, 2, 1), True, True, "25.3"),
    ((25, 3), True, True, None),
    ((24, 2), False, True, None),  # no setuptools beside pip (a 3.12+ venv): pip builds in isolation
    ((23, 0, 1), False, False, None),
])
def test_refusal_names_the_pip_needed_and_the_fix(pip, setuptools, wheel, refused_below):
    message = backend.refusal(pip, setuptools, wheel)
    if refused_below is None:
        assert message is None
        return
    beside = ", with the wheel package installed," if wheel else ""
    assert message == (f"tuneforge needs pip >= {refused_below}{beside} to install seqeval, a source-only "
                       f"dependency (this is pip {'.'.join(map(str, pip))}): run python -m pip install -U pip, "
                       "then install again")


def fake_pip(site: Path, version: str, *beside: str) -> str:
    """A site-packages with a pip of this version (and dist-infos beside it); returns the hook runner's folder,
    the entry pip puts on the hook process's sys.path."""
    runner = site / "pip" / "_vendor" / "pyproject_hooks" / "_in_process"
    runner.mkdir(parents=True)
    (site / "pip" / "__init__.py").write_text(f'from typing import List\n\n__version__ = "{version}"\n')
    for name in beside:
        (site / f"{name}.dist-info").mkdir()
    return str(runner)


def test_running_pip_is_read_from_its_hook_runner_on_the_path(tmp_path):
    runner = fake_pip(tmp_path / "site-packages", "23.0.1")
    assert backend.running_pip(["/somewhere/else", runner]) == (tmp_path / "site-packages" / "pip", (23, 0, 1))
    assert backend.running_pip(["/usr/lib/python3/dist-packages", str(tmp_path)]) is None  # build, uv: no check


@pytest.mark.parametrize("hook", ["get_requires_for_build_wheel", "get_requires_for_build_editable"])
def test_the_hooks_refuse_an_old_pip_before_setuptools_runs(tmp_path, monkeypatch, hook):
    runner = fake_pip(tmp_path / "site-packages", "23.0.1", "setuptools-65.5.0")
    monkeypatch.setattr(sys, "path", [str(REPO / "tools" / "backend"), runner, *sys.path])
    called = []
    monkeypatch.setattr(backend._setuptools, hook, lambda settings=None: called.append(settings) or ["wheel"])
    with pytest.raises(SystemExit) as stop:
        getattr(backend, hook)()
    assert str(stop.value).startswith("tuneforge needs pip >= 23.1 to install seqeval") and called == []


def test_the_hooks_pass_a_new_pip_through_to_setuptools(tmp_path, monkeypatch):
    runner = fake_pip(tmp_path / "site-packages", "26.3", "setuptools-84.2.1", "wheel-0.45.1")
    monkeypatch.setattr(sys, "path", [runner, *sys.path])
    monkeypatch.setattr(backend._setuptools, "get_requires_for_build_wheel", lambda settings=None: ["from-setuptools"])
    assert backend.get_requires_for_build_wheel() == ["from-setuptools"]
