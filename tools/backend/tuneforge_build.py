"""tuneforge's build backend: setuptools' own, after one check of the pip that is installing tuneforge.

seqeval, the NER scorer, ships only as a source release whose setup.py fetches setuptools_scm through
setup_requires. A pip that builds it the legacy way, by running setup.py in the target environment (pip < 23.1;
pip < 25.3 when the wheel package is installed beside it), fails there once torch has upgraded setuptools:
"No module named 'vcs_versioning'", after minutes of downloads. pip runs this backend before it downloads any
dependency, so the check here turns that into one line that says what to do. Other front ends (build, uv)
build source releases in isolation and are not checked.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the hooks not wrapped below: build_sdist, build_wheel, ...)

MIN_PIP = (23, 1)  # isolated PEP 517 builds for a setup.py-only source release
MIN_PIP_BESIDE_WHEEL = (25, 3)  # ... even when the wheel package is installed


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


def refusal(pip_version: tuple[int, ...], setuptools_installed: bool, wheel_installed: bool) -> str | None:
    """The one-line message for a pip that would build seqeval the legacy way (it does only when setuptools
    imports in its environment), or None for one that will not."""
    needed = MIN_PIP_BESIDE_WHEEL if wheel_installed else MIN_PIP
    if not setuptools_installed or pip_version >= needed:
        return None
    beside = ", with the wheel package installed," if wheel_installed else ""
    return (f"tuneforge needs pip >= {'.'.join(map(str, needed))}{beside} to install seqeval, a source-only "
            f"dependency (this is pip {'.'.join(map(str, pip_version))}): run python -m pip install -U pip, "
            "then install again")


def _check_pip() -> None:
    pip = running_pip([sys.argv[0], *sys.path])
    if pip is None:
        return
    folder, version = pip
    # pip takes the legacy build by what imports in its own environment: the folder beside pip's
    beside = folder.parent
    message = refusal(version, any(beside.glob("setuptools-*.dist-info")), any(beside.glob("wheel-*.dist-info")))
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
