"""Out-of-scope intents, both ways CLINC150 allows: an explicit training class, or a confidence threshold.

With a threshold, an input whose top in-scope probability is below it is answered with the
out-of-scope label. ``tune_threshold`` picks it on dev, where out-of-scope examples are present:
by default the threshold that catches the most out-of-scope inputs while costing at most 2 points
of in-scope accuracy (``task_options.oos_calibration`` / ``oos_in_scope_budget``).
Scores follow the CLINC150 paper: in-scope accuracy (over in-scope examples; calling one of them
out-of-scope is an error) and out-of-scope recall, plus out-of-scope precision and F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
    top = probs.max(axis=1)
    floor = oos_scores(gold, decide(probs, labels, oos_label, None), oos_label)["in_scope_accuracy"] - budget
    best: dict[str, Any] | None = None
    for threshold in np.unique(np.concatenate([top, [0.0]])):
        scores = oos_scores(gold, decide(probs, labels, oos_label, float(threshold)), oos_label)
        if objective == "balanced":
            value = (scores["in_scope_accuracy"] + scores["oos_recall"]) / 2
        elif scores["in_scope_accuracy"] >= floor - 1e-12:
            value = scores["oos_recall"]
        else:
            continue
        if best is None or value > best["objective"] + 1e-12:
            best = {"threshold": float(threshold), "objective": value, **scores}
    assert best is not None  # threshold 0 always qualifies
    return best
