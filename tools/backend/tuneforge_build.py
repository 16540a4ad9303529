"""tuneforge's build backend: setuptools' own, after one check of the pip that is installing tuneforge.

seqeval, the NER scorer, ships only as a source release whose setup.py fetches setuptools_scm through
setup_requires. A pip that builds it the legacy way, by running setup.py in the target environment (pip < 23.1;
pip < 25.3 when the wheel package is installed beside it), fails there under setuptools >= 80.7, whose fetch
takes a setuptools_scm that cannot import ("No module named 'vcs_versioning'"), after minutes of downloads.
On Python 3.10, whose venvs bring pip 23.0.1, pyproject.toml caps setuptools below 80.7, so a fresh venv's own
pip installs tuneforge; elsewhere, or with a newer setuptools already installed, this check turns the failure
into one line that says what to do. pip runs this backend before it downloads any dependency. Other front ends
(build, uv) build source releases in isolation and are not checked.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the hooks not wrapped below: build_sdist, build_wheel, ...)

MIN_PIP = (23, 1)  # isolated PEP 517 builds for a setup.py-only source release
MIN_PIP_BESIDE_WHEEL = (25, 3)  # ... even when the wheel package is installed
SETUPTOOLS_FETCH_BREAKS = (80, 7)  # setup_requires fetches a setuptools_scm that cannot import from here on
SETUPTOOLS_CAPPED = sys.version_info < (3, 11)  # pyproject.toml: setuptools < 80.7 on Python 3.10


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def running_pip(paths: list[str]) -> tuple[Path, tuple[int, ...]] | None:
    """The folder and version of the pip whose vendored hook runner is on ``paths`` (sys.argv[0] and sys.path of
    the hook process), or None when pip is not the one running the hook."""
    for entry in paths:
        parts = Path(entry).parts
        for i in range(len(parts) - 1):
            if parts[i] == "pip" and parts[i + 1] == "_vendor":
                folder = Path(*parts[: i + 1])
                try:
                    init = (folder / "__init__.py").read_text(encoding="utf-8")
                except OSError:
                    return None
                found = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", init)
                return (folder, _version(found.group(1))) if found else None
    return None


def refusal(pip_version: tuple[int, ...], setuptools_version: tuple[int, ...] | None, wheel_installed: bool,
            capped: bool = SETUPTOOLS_CAPPED) -> str | None:
    """The one-line message for a pip that would build seqeval the legacy way (it does only when setuptools
    imports in its environment) under a setuptools whose fetch breaks, or None for one that will not. The
    legacy build runs seqeval's setup.py under the setuptools installed now (for its metadata) and under the one
    pip leaves (to install it): below 80.7 both times where pyproject.toml caps it, else torch's floor pulls the
    newest."""
    needed = MIN_PIP_BESIDE_WHEEL if wheel_installed else MIN_PIP
    if setuptools_version is None or pip_version >= needed:
        return None
    if capped and setuptools_version < SETUPTOOLS_FETCH_BREAKS:
        return None
    beside = ", with the wheel package installed," if wheel_installed else ""
    return (f"tuneforge needs pip >= {'.'.join(map(str, needed))}{beside} to install seqeval, a source-only "
            f"dependency (this is pip {'.'.join(map(str, pip_version))} beside setuptools "
            f"{'.'.join(map(str, setuptools_version))}): run python -m pip install -U pip, then install again")


def installed_version(folder: Path, name: str) -> tuple[int, ...] | None:
    """The version of the distribution ``name`` installed in ``folder`` (a site-packages), from its dist-info."""
    for info in folder.glob(f"{name}-*.dist-info"):
        return _version(info.name[len(name) + 1: -len(".dist-info")])
    return None


def _check_pip() -> None:
    pip = running_pip([sys.argv[0], *sys.path])
    if pip is None:
        return
    folder, version = pip
    # pip takes the legacy build by what imports in its own environment: the folder beside pip's
    beside = folder.parent
    message = refusal(version, installed_version(beside, "setuptools"), any(beside.glob("wheel-*.dist-info")))
    if message:
        raise SystemExit(message)


def get_requires_for_build_wheel(config_settings=None):
    _check_pip()
    return _setuptools.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings=None):
    _check_pip()
    return _setuptools.get_requires_for_build_editable(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _check_pip()  # again: with --no-build-isolation pip skips get_requires_*
    return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _check_pip()
    return _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)
