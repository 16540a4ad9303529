"""Turn start/end logits of extractive QA into answer spans, and tune the SQuAD v2 "no answer" threshold.

Scoring every (start, end) pair of a 384-token window is 147k pairs per window; like HF's run_qa
``postprocess_qa_predictions`` only the n-best starts x n-best ends are scored, as one numpy broadcast.
"""

from __future__ import annotations

import numpy as np

Offsets = list[tuple[int, int] | None]


def best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, context_mask: np.ndarray, n_best: int, max_answer_length: int
) -> tuple[int, int, float] | None:
    """(start, end inclusive, start_logit + end_logit) of the best valid span of one window, or None.

    Valid: both tokens in the context, end >= start, at most ``max_answer_length`` tokens. Candidates are
    the ``n_best`` highest start and end logits among context tokens (HF takes them among all tokens and
    then drops non-context ones, which can leave none when the question's tokens score high).
    """
    if n_best < 1 or max_answer_length < 1:
        raise ValueError(f"n_best and max_answer_length must be >= 1, got {n_best} and {max_answer_length}")
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)
    context = np.flatnonzero(np.asarray(context_mask, dtype=bool))
    if context.size == 0:
        return None
    starts = _top(context, start_logits, n_best)
    ends = _top(context, end_logits, n_best)
    length = ends[None, :] - starts[:, None] + 1
    scores = start_logits[starts][:, None] + end_logits[ends][None, :]
    scores = np.where((length >= 1) & (length <= max_answer_length), scores, -np.inf)
    flat = int(np.argmax(scores))
    i, j = divmod(flat, scores.shape[1])
    if not np.isfinite(scores[i, j]):
        return None
    return int(starts[i]), int(ends[j]), float(scores[i, j])


def _top(candidates: np.ndarray, logits: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` candidate indices with the highest logits, best first (ties: earlier token first)."""
    order = np.argsort(-logits[candidates], kind="stable")[:n]
    return candidates[order]


def decode_example(
    windows: list[tuple[np.ndarray, np.ndarray, Offsets]], n_best: int, max_answer_length: int
) -> dict:
    """The best answer of one example over its windows (a long context is split into overlapping windows).

    ``offsets[i]`` is token i's (char_start, char_end) in the context, None for question / special /
    padding tokens. Returns ``start`` / ``end`` (characters, end exclusive: the answer is
    ``context[start:end]``), ``score`` (start + end logit), ``probability`` (softmax start x softmax end in
    the winning window) — all None when no window has a valid span — and ``null_score``: the lowest
    [CLS] start + end logit over the windows, the "no answer" score of BERT's SQuAD v2 recipe.
    """
    if not windows:
        raise ValueError("decode_example needs at least one window")
    best: tuple[float, int, int, int] | None = None  # score, window, start token, end token
    null_score = np.inf
    for w, (start_logits, end_logits, offsets) in enumerate(windows):
        start_logits, end_logits = np.asarray(start_logits), np.asarray(end_logits)
        if not len(start_logits) == len(end_logits) == len(offsets):
            raise ValueError(f"window {w}: {len(start_logits)} start logits, {len(end_logits)} end logits, "
                             f"{len(offsets)} offsets")
        null_score = min(null_score, float(start_logits[0] + end_logits[0]))
        span = best_span(start_logits, end_logits, np.array([o is not None for o in offsets]), n_best,
                         max_answer_length)
        if span is not None and (best is None or span[2] > best[0]):
            best = (span[2], w, span[0], span[1])
    if best is None:
        return {"start": None, "end": None, "score": None, "probability": None, "null_score": null_score}
    score, w, s, e = best
    start_logits, end_logits, offsets = windows[w]
    probability = _softmax(start_logits)[s] * _softmax(end_logits)[e]
    return {"start": offsets[s][0], "end": offsets[e][1], "score": score, "probability": float(probability),
            "null_score": null_score}


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max())
    return z / z.sum()


def tune_null_threshold(null_minus_best: list[float], answered_f1: list[float], gold_is_null: list[bool]) -> float:
    """The threshold t that maximizes dev F1 when "no answer" is predicted iff null_minus_best > t.

    An example scores 1 for "no answer" on a null gold, ``answered_f1`` for an answer on a gold answer, 0
    otherwise (the official SQuAD v2 ``find_best_thresh``). Sorting the scores, each cut between two
    neighbouring distinct values is one threshold, and a running sum scores them all: O(n log n). The
    returned t lies halfway between the neighbours (1 below the lowest / above the highest value at the
    ends); on ties the lowest threshold wins, as in the official script.
    """
    values = np.asarray(null_minus_best, dtype=np.float64)
    if not len(values) == len(answered_f1) == len(gold_is_null):
        raise ValueError(f"{len(values)} scores, {len(answered_f1)} F1s and {len(gold_is_null)} gold flags")
    if values.size == 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    is_null = np.asarray(gold_is_null, dtype=bool)[order]
    # Below every value all examples get "no answer"; moving the cut past one example answers it instead.
    gain = np.where(is_null, -1.0, np.asarray(answered_f1, dtype=np.float64)[order])
    totals = is_null.sum() + np.concatenate([[0.0], np.cumsum(gain)])  # totals[k]: the k lowest answered
    cut_ok = np.ones(len(totals), dtype=bool)
    cut_ok[1:-1] = ordered[1:] > ordered[:-1]  # equal values fall on the same side of any threshold
    totals = np.round(totals, 9)  # so that float noise in the running sum does not break ties
    k = int(np.argmax(np.where(cut_ok, totals, -np.inf)))
    if k == 0:
        return float(ordered[0] - 1.0)
    if k == len(ordered):
        return float(ordered[-1] + 1.0)
    return float((ordered[k - 1] + ordered[k]) / 2)
