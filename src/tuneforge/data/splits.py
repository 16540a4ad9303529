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


def carve_stratified(examples: list[T], fraction: float, seed: int, key) -> tuple[list[T], list[T]]:
    """Like ``carve``, but takes ``fraction`` of each group (``key(example)``), so label shares are kept.

    Every group keeps at least one example in ``kept``; rounding is done per group.
    """
    if fraction <= 0:
        return examples, []
    groups: dict[object, list[int]] = {}
    for i, example in enumerate(examples):
        groups.setdefault(key(example), []).append(i)
    rng = random.Random(seed)
    chosen: set[int] = set()
    for group in sorted(groups, key=str):
        members = groups[group][:]
        rng.shuffle(members)
        take = min(round(len(members) * fraction), len(members) - 1)
        chosen.update(members[:take])
    kept = [e for i, e in enumerate(examples) if i not in chosen]
    carved = [e for i, e in enumerate(examples) if i in chosen]
    return kept, carved
