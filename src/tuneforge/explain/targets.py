"""What each kind of task explains (``TaskSpec.explains`` names the kind): the function that builds its Target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneforge.explain.entity_target import entity_target
from tuneforge.explain.label_target import label_target
from tuneforge.explain.target import Target

TARGETS: dict[str, Callable[..., Target]] = {"label": label_target, "entity": entity_target}


def build_target(kind: str, run: Any, text: str, label: str | None = None, entity: str | None = None) -> Target:
    return TARGETS[kind](run, text, label=label, entity=entity)
