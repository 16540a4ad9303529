"""Out-of-scope intents, both ways CLINC150 allows: an explicit training class, or a confidence threshold.

With a threshold, an input whose top in-scope probability is below it is answered with the
out-of-scope label. ``tune_threshold`` picks it on dev, where out-of-scope examples are present:
by default the threshold that catches the most out-of-scope inputs while costing at most 2 points
of in-scope accuracy (``task_options.oos_calibration`` / ``oos_in_scope_budget``). ``oos_curve`` gives the
trade-off it chose from (in-scope accuracy and out-of-scope recall at each threshold), for report.html.
Scores follow the CLINC150 paper: in-scope accuracy (over in-scope examples; calling one of them
out-of-scope is an error) and out-of-scope recall, plus out-of-scope precision and F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CURVE_POINTS = 50  # enough to draw the trade-off; a dev set has as many thresholds as examples


def decide(probs: np.ndarray, labels: list[str], oos_label: str, threshold: float | None) -> list[str]:
    """The answer per row of ``probs`` ([examples, labels])."""
    top = probs.argmax(axis=1)
    answers = []
    for row, i in enumerate(top):
        low = threshold is not None and probs[row, i] < threshold
        answers.append(oos_label if low else labels[i])
    return answers


def oos_scores(gold: list[str], predicted: list[str], oos_label: str) -> dict[str, float]:
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != oos_label]
    oos_gold = sum(g == oos_label for g in gold)
    oos_predicted = sum(p == oos_label for p in predicted)
    oos_hit = sum(g == p == oos_label for g, p in zip(gold, predicted, strict=True))
    recall = oos_hit / oos_gold if oos_gold else 0.0
    precision = oos_hit / oos_predicted if oos_predicted else 0.0
    return {
        "in_scope_accuracy": sum(g == p for g, p in in_scope) / len(in_scope) if in_scope else 0.0,
        "oos_recall": recall,
        "oos_precision": precision,
        "oos_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }


def tune_threshold(probs: np.ndarray, gold: list[str], labels: list[str], oos_label: str,
                   objective: str = "in-scope-budget", budget: float = 0.02) -> dict[str, Any]:
    """Pick the out-of-scope threshold on dev (``gold`` holds some out-of-scope examples).

    - ``in-scope-budget``: catch as many out-of-scope inputs as possible while in-scope accuracy
      stays within ``budget`` of what it is with no threshold (an operating point: how many
      in-scope users may be told "I can't help with that").
    - ``balanced``: maximize (in-scope accuracy + out-of-scope recall) / 2; dev sets hold few
      out-of-scope examples (100 of 3,100 in CLINC150), so plain accuracy would barely reward them.
    """
    if oos_label not in gold:
        raise ValueError(f"the dev set has no '{oos_label}' examples to tune the out-of-scope threshold on")
    thresholds, accuracy, recall = _tradeoff(probs, gold, labels, oos_label)
    floor = oos_scores(gold, decide(probs, labels, oos_label, None), oos_label)["in_scope_accuracy"] - budget
    best, best_value = 0.0, None  # the first (lowest) threshold with the best value, as before
    for threshold, a, r in zip(thresholds.tolist(), accuracy.tolist(), recall.tolist(), strict=True):
        if objective == "balanced":
            value = (a + r) / 2
        elif a >= floor - 1e-12:
            value = r
        else:
            continue
        if best_value is None or value > best_value + 1e-12:
            best, best_value = threshold, value
    assert best_value is not None  # threshold 0 always qualifies
    return {"threshold": best, "objective": best_value, **oos_scores(gold, decide(probs, labels, oos_label, best),
                                                                     oos_label)}


def oos_curve(probs: np.ndarray, gold: list[str], labels: list[str], oos_label: str, chosen: float | None = None,
              points: int = CURVE_POINTS) -> list[dict[str, float]]:
    """In-scope accuracy and out-of-scope recall at the thresholds ``tune_threshold`` considers, thinned to about
    ``points`` evenly through them (the first, threshold 0, the last and ``chosen`` always kept): the trade-off
    the threshold was picked from, for report.html to draw."""
    thresholds, accuracy, recall = _tradeoff(probs, gold, labels, oos_label)
    keep = set(np.linspace(0, len(thresholds) - 1, min(points, len(thresholds))).round().astype(int).tolist())
    at = int(np.searchsorted(thresholds, chosen)) if chosen is not None else len(thresholds)
    if at < len(thresholds) and thresholds[at] == chosen:
        keep.add(at)
    return [{"threshold": float(thresholds[i]), "in_scope_accuracy": float(accuracy[i]),
             "oos_recall": float(recall[i])} for i in sorted(keep)]


def _tradeoff(probs: np.ndarray, gold: list[str], labels: list[str],
              oos_label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidate thresholds (0 and every top probability, ascending) and, at each, the in-scope accuracy and
    out-of-scope recall that ``decide`` + ``oos_scores`` give, counted with sorted arrays instead of a loop.

    An input is rejected (answered out-of-scope) when its top probability is below the threshold, so what is
    right at threshold t is: in scope, kept (top >= t) and its top label right; out of scope, and either
    rejected (top < t) or its top label is the out-of-scope class itself.
    """
    gold_arr = np.asarray(gold, dtype=object)
    top = probs.max(axis=1)
    answer = np.asarray(labels, dtype=object)[probs.argmax(axis=1)]
    thresholds = np.unique(np.concatenate([top, [0.0]]))
    in_scope, out = gold_arr != oos_label, gold_arr == oos_label
    right_top = np.sort(top[in_scope & (answer == gold_arr)])
    kept_right = len(right_top) - np.searchsorted(right_top, thresholds, side="left")  # top >= t
    oos_top = np.sort(top[out & (answer != oos_label)])
    rejected = np.searchsorted(oos_top, thresholds, side="left")  # top < t
    caught = rejected + int((out & (answer == oos_label)).sum())
    n_in, n_out = int(in_scope.sum()), int(out.sum())
    accuracy = kept_right / n_in if n_in else np.zeros(len(thresholds))
    recall = caught / n_out if n_out else np.zeros(len(thresholds))
    return thresholds, accuracy, recall
