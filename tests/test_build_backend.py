"""tuneforge's build backend (tools/backend/tuneforge_build.py): setuptools', after refusing, in one line, a pip that
would build seqeval's source release the legacy way under a setuptools that makes it fail minutes later ('No
module named vcs_versioning'). The real thing runs in `make test-pythons`: Python 3.10's stock pip 23.0.1 installs
there (pyproject caps setuptools on 3.10), and is refused once a newer setuptools is installed beside it."""

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


@pytest.mark.parametrize("pip, setuptools, wheel, capped, refused_below", [
    ((23, 0, 1), (65, 5), False, True, None),  # python3.10 -m venv: pip 23.0.1 beside setuptools 65; capped on 3.10
    ((23, 0, 1), (80, 6), False, True, None),
    ((23, 0, 1), (80, 7), False, True, "23.1"),  # a newer setuptools installed already (torch first, say)
    ((23, 0, 1), (65, 5), False, False, "23.1"),  # no cap (3.11+): torch's floor pulls the newest setuptools
    ((22, 3), (84, 2, 1), False, True, "23.1"),
    ((23, 1), (84, 2, 1), False, False, None),
    ((24, 2), (84, 2, 1), True, False, "25.3"),  # pip 23.1-25.2 still runs setup.py when wheel is installed
    ((25, 2, 1), (84, 2, 1), True, False, "25.3"),
    ((24, 2), (79, 0, 1), True, True, None),
    ((25, 3), (84, 2, 1), True, False, None),
    ((24, 2), None, True, False, None),  # no setuptools beside pip (a 3.12+ venv): pip builds in isolation
    ((23, 0, 1), None, False, False, None),
])
def test_refusal_names_the_pip_needed_and_the_fix(pip, setuptools, wheel, capped, refused_below):
    message = backend.refusal(pip, setuptools, wheel, capped)
    if refused_below is None:
        assert message is None
        return
    beside = ", with the wheel package installed," if wheel else ""
    assert message == (f"tuneforge needs pip >= {refused_below}{beside} to install seqeval, a source-only "
                       f"dependency (this is pip {'.'.join(map(str, pip))} beside setuptools "
                       f"{'.'.join(map(str, setuptools))}): run python -m pip install -U pip, then install again")


def test_the_cap_the_backend_assumes_is_the_one_pyproject_declares():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    below = ".".join(map(str, backend.SETUPTOOLS_FETCH_BREAKS))
    assert f'"setuptools>=77.0.3,<{below}; python_version < \'3.11\'",' in pyproject
    assert (sys.version_info < (3, 11)) == backend.SETUPTOOLS_CAPPED


def test_installed_version_reads_the_dist_info(tmp_path):
    (tmp_path / "setuptools-80.6.0.dist-info").mkdir()
    (tmp_path / "setuptools_scm-9.2.0.dist-info").mkdir()
    assert backend.installed_version(tmp_path, "setuptools") == (80, 6, 0)
    assert backend.installed_version(tmp_path, "wheel") is None


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
    runner = fake_pip(tmp_path / "site-packages", "23.0.1", "setuptools-84.2.1")
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
