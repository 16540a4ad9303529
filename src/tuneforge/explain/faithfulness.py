"""Faithfulness of attributions, measured as ERASER does (DeYoung et al., 2020), against deleting random words.

For a text and the label the model predicts, words are ranked by attribution. Comprehensiveness: how much the
label's probability falls when the top k% of words are deleted (higher: the ranking found what the model used).
Sufficiency: how much it falls when only those words are kept (lower: they alone suffice). Both are averaged
over ERASER's bins (1, 5, 10, 20, 50% of the words, at least one word: AOPC). Deleting removes the words'
tokens from the input, so no baseline token is involved. A random ranking gives the floor to beat.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from random import Random
from typing import Any

from tuneforge.explain.integrated_gradients import integrated_gradients
from tuneforge.explain.occlusion import occlusion
from tuneforge.explain.target import Target

BINS = (0.01, 0.05, 0.10, 0.20, 0.50)
RANDOM_ORDERS = 3  # random rankings averaged per text


def erased(model: Any, target: Target, ranking: list[int]) -> tuple[float, float]:
    """(comprehensiveness, sufficiency) of one ranking of the target's words (AOPC over ``BINS``)."""
    import torch

    n = len(target.words)
    rows = [list(target.input_ids)]
    for fraction in BINS:
        top = set(ranking[:max(1, math.ceil(fraction * n))])
        rows.append([t for t, w in zip(target.input_ids, target.word_of_token, strict=True) if w not in top])
        rows.append([t for t, w in zip(target.input_ids, target.word_of_token, strict=True) if w is None or w in top])
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [target.baseline_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    with torch.inference_mode():
        p = target.score(model, ids, mask).float().tolist()
    full, rest = p[0], p[1:]
    comprehensiveness = sum(full - x for x in rest[0::2]) / len(BINS)
    sufficiency = sum(full - x for x in rest[1::2]) / len(BINS)
    return comprehensiveness, sufficiency


def ranking(scores: list[float]) -> list[int]:
    """Word indices, the highest attribution first (ties in word order)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def measure(model: Any, targets: list[Target], steps: int, seed: int = 13,
            progress: Callable[[int, dict[str, dict[str, float]]], None] | None = None) -> dict[str, dict[str, float]]:
    """Mean comprehensiveness and sufficiency of integrated gradients, occlusion and random rankings over the
    targets, and the seconds each attribution method took per text (measured text by text, interleaved).
    ``progress(texts done, means so far)`` is called after each text."""
    rng = Random(seed)
    sums: dict[str, list[float]] = {m: [0.0, 0.0, 0.0] for m in ("integrated_gradients", "occlusion", "random")}
    for done, target in enumerate(targets, start=1):
        started = time.perf_counter()
        ig, _ = integrated_gradients(model, target, steps)
        middle = time.perf_counter()
        occ = occlusion(model, target)
        ended = time.perf_counter()
        sums["integrated_gradients"][2] += middle - started
        sums["occlusion"][2] += ended - middle
        for name, order in (("integrated_gradients", ranking(ig)), ("occlusion", ranking(occ))):
            c, s = erased(model, target, order)
            sums[name][0] += c
            sums[name][1] += s
        for _ in range(RANDOM_ORDERS):
            order = list(range(len(target.words)))
            rng.shuffle(order)
            c, s = erased(model, target, order)
            sums["random"][0] += c / RANDOM_ORDERS
            sums["random"][1] += s / RANDOM_ORDERS
        if progress is not None:
            progress(done, _means(sums, done))
    return _means(sums, max(len(targets), 1))


def _means(sums: dict[str, list[float]], n: int) -> dict[str, dict[str, float]]:
    return {m: {"comprehensiveness": round(v[0] / n, 4), "sufficiency": round(v[1] / n, 4),
                **({"seconds_per_text": round(v[2] / n, 4)} if m != "random" else {})} for m, v in sums.items()}
