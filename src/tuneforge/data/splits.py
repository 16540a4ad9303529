"""Carve dev/test splits out of train, seeded so that every rerun sees the same split."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from tuneforge.errors import DataError

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


def carve_groups(examples: list[T], fraction: float, seed: int, key: Callable[[T], object]) -> tuple[list[T], list[T]]:
    """Like ``carve``, but whole groups (``key(example)``, e.g. an article) go to one side only.

    Examples of one group share content (questions on one article), so splitting a group would leak it from
    train into the carved split. Groups are shuffled (seeded) and taken until about ``fraction`` of the
    examples are carved: at least one group, never all of them. Both sides keep the original order.
    """
    if fraction <= 0 or not examples:
        return examples, []
    sizes: dict[object, int] = {}
    for example in examples:
        group = key(example)
        sizes[group] = sizes.get(group, 0) + 1
    if len(sizes) < 2:
        raise DataError(
            f"cannot carve {fraction:.0%} of {len(examples)} examples by group: they all belong to one group "
            f"({next(iter(sizes))!r}); give the dev/test files instead"
        )
    order = sorted(sizes, key=str)  # sets / dicts of mixed keys have no stable order: sort before shuffling
    random.Random(seed).shuffle(order)
    target = len(examples) * fraction
    chosen: set[object] = set()
    carved_count = 0
    for group in order:
        if carved_count >= target:
            break
        size = sizes[group]
        if carved_count + size >= len(examples):
            continue  # never carve everything
        # Take a group when it brings the carved count closer to the target; a later, smaller one may fit better.
        if not chosen or carved_count + size - target <= target - carved_count:
            chosen.add(group)
            carved_count += size
    kept = [e for e in examples if key(e) not in chosen]
    carved = [e for e in examples if key(e) in chosen]
    return kept, carved
