"""Positive pairs for contrastive few-shot training, drawn with a bound.

SetFit's reference sampler builds explicit positive and negative pairs over all combinations of
examples, which grows with the square of the examples and exhausts memory with many classes. Here
each example draws ``per_example`` partners of its own label (itself when it is alone: dropout makes
the two views differ), and negatives are not stored at all: in a batch, every other pair's partner
of another label is a negative (in-batch negatives; same-label partners are masked out of the loss).
Memory is two int32 indices per pair, at most ``max_pairs`` of them.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def positive_pairs(labels: list[int], per_example: int, max_pairs: int, seed: int) -> np.ndarray:
    """[pairs, 2] int32 (anchor, partner) indices into ``labels``, partners of the anchor's label."""
    rng = np.random.default_rng(seed)
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    n = len(labels)
    total = min(n * per_example, max_pairs)
    anchors = np.arange(n, dtype=np.int32).repeat(per_example)
    if total < len(anchors):  # sample anchors so every example keeps about the same share
        anchors = np.sort(rng.choice(anchors, size=total, replace=False)).astype(np.int32)
    partners = np.empty_like(anchors)
    for members in by_label.values():
        members_arr = np.asarray(members, dtype=np.int32)
        rows = np.nonzero(np.isin(anchors, members_arr))[0]
        if len(members_arr) == 1:
            partners[rows] = members_arr[0]
            continue
        # a partner other than the anchor: draw among the other members (shift past the anchor's own slot)
        position = {m: k for k, m in enumerate(members)}
        own = np.array([position[a] for a in anchors[rows]], dtype=np.int64)
        draw = rng.integers(0, len(members_arr) - 1, size=len(rows))
        draw = draw + (draw >= own)
        partners[rows] = members_arr[draw]
    order = rng.permutation(len(anchors))
    return np.stack([anchors[order], partners[order]], axis=1)
