"""A run's ``config.yaml`` with its paths kept relative where the user's were, so the project folder can move.

``load_config`` resolves every path key (``config.PATH_KEYS``) to an absolute path from the config file's folder.
Written back into ``runs/<name>/config.yaml``, a path is stored relative to that run directory — which is where
``load_config`` resolves it from when the run is resumed, evaluated or calibrated — when the user wrote it
relative (in the config file ``source``) or it lies inside the project folder (``source``'s folder; without a
source, the folder that holds ``output_dir``). Other paths stay absolute.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from tuneforge.config.loading import PATH_KEYS, dump_config, resolve_path
from tuneforge.config.schema import RunConfig


def run_config_text(cfg: RunConfig, run_dir: Path, source: str | Path | None = None) -> str:
    """``dump_config`` of ``cfg`` with its path keys relative to ``run_dir`` where the user's were."""
    run_dir = Path(run_dir).resolve()
    source = Path(source) if source is not None and Path(source).is_file() else None
    root = source.parent.resolve() if source else Path(cfg.output_dir).expanduser().absolute().parent.resolve()
    written = _written_paths(source)
    portable = cfg
    for dotted in PATH_KEYS:
        node: Any = cfg
        for key in dotted.split("."):
            node = getattr(node, key, None)
        value = node
        if not isinstance(value, str) or value.startswith("pkg:"):
            continue
        path = Path(value).expanduser().absolute().resolve()
        raw = written.get(dotted)
        user_relative = raw is not None and not Path(raw).expanduser().is_absolute() and source is not None \
            and resolve_path(raw, source.parent.resolve()) == str(path)
        if user_relative or path.is_relative_to(root):
            portable = _replaced(portable, dotted.split("."), os.path.relpath(path, run_dir))
    return dump_config(portable)


def _replaced(model: Any, keys: list[str], value: str) -> Any:
    """A copy of ``model`` with the value at ``keys`` replaced (unvalidated: the value is the same path, relative)."""
    inner = value if len(keys) == 1 else _replaced(getattr(model, keys[0]), keys[1:], value)
    return model.model_copy(update={keys[0]: inner})


def _written_paths(source: Path | None) -> dict[str, str]:
    """The path keys as written in the config file (before ``load_config`` resolved them)."""
    if source is None:
        return {}
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    found = {}
    for dotted in PATH_KEYS:
        node: Any = data
        for key in dotted.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and not node.startswith("pkg:"):
            found[dotted] = node
    return found
