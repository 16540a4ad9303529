"""Carve dev/test splits out of train, seeded so that every rerun sees the same split."""

from __future__ import annotations

import random
from typing import TypeVar

T = TypeVar("T")


def carve(examples: list[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """(kept, carved): ``fraction`` of the examples, chosen by a seeded shuffle, in original order."""
    if fraction <= 0:
        return examples, []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    chosen = set(order[: max(1, round(len(examples) * fraction))])
    kept = [e for i, e in enumerate(examples) if i not in chosen]
    carved = [e for i, e in enumerate(examples) if i in chosen]
    return kept, carved
