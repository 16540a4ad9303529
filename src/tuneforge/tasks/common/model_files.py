"""The files a task writes into a run's model folder beside the weights, and how they are read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuneforge.errors import RunError

LABELS_FILE, STATE_FILE = "labels.json", "task.json"


def read_model_json(path: Path, required: bool) -> Any:
    """A JSON file of a run's model folder; missing (when required) or damaged is a one-line RunError."""
    if not path.is_file():
        if required:
            raise RunError(f"{path}: missing; the run's model folder is incomplete")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RunError(f"{path}: not valid JSON; the run's model folder is damaged") from None
