"""Constrained decoding for BIO tags: the most probable sequence in which every I-X continues an X entity.

Per-word argmax followed by a repair (I-X after O becomes B-X) decides each word alone; Viterbi over
the word-level log-probabilities, with the transitions BIO forbids removed, picks the best valid
sequence as a whole (e.g. it can prefer B-X I-X over O I-X when that is likelier overall).
"""

from __future__ import annotations

import numpy as np

from tuneforge.data.bio import split_tag


def allowed_transitions(labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(start[j], step[i, j]): may a sentence start with labels[j]; may labels[i] be followed by labels[j]."""
    parts = [split_tag(label) for label in labels]
    start = np.array([prefix != "I" for prefix, _ in parts])
    step = np.ones((len(labels), len(labels)), dtype=bool)
    for j, (prefix, kind) in enumerate(parts):
        if prefix == "I":
            step[:, j] = [p in ("B", "I") and k == kind for p, k in parts]
    return start, step


def viterbi(probs: np.ndarray, start: np.ndarray, step: np.ndarray) -> list[int]:
    """Best label indices for ``probs`` ([words, labels]) under the allowed transitions."""
    logp = np.log(np.clip(probs, 1e-12, None))
    forbidden = np.where(step, 0.0, -np.inf)
    score = np.where(start, logp[0], -np.inf)
    back = np.zeros(probs.shape, dtype=np.int64)
    for t in range(1, len(probs)):
        total = score[:, None] + forbidden  # [from, to]
        back[t] = total.argmax(axis=0)
        score = total.max(axis=0) + logp[t]
    path = [int(score.argmax())]
    for t in range(len(probs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]
