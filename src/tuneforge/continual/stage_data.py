"""A stage's data as the continual loop sees it: examples tagged with the stage they come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stage:
    index: int
    name: str
    train: list[Any]
    test: list[Any]
    dev: list[Any] | None
    labels: list[str]  # what its data annotates: labels, or entity types for NER
    new_labels: list[str]  # of those, the ones no earlier stage had
    test_labels: list[str] = field(default_factory=list)  # the labels its test set is scored on


@dataclass
class Sourced:
    """One training example and the stage it came from (what its annotation covers)."""

    example: Any
    stage: int
