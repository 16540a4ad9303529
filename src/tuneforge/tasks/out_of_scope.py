"""Out-of-scope intents, both ways CLINC150 allows: an explicit training class, or a confidence threshold.

With a threshold, an input whose top in-scope probability is below it is answered with the
out-of-scope label. ``tune_threshold`` picks it on dev, where out-of-scope examples are present.
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


def tune_threshold(probs: np.ndarray, gold: list[str], labels: list[str], oos_label: str) -> dict[str, Any]:
    """The threshold that maximizes (in-scope accuracy + out-of-scope recall) / 2 on ``gold``.

    Balanced, because dev sets hold few out-of-scope examples (100 of 3,100 in CLINC150): plain
    accuracy would barely reward catching them.
    """
    if oos_label not in gold:
        raise ValueError(f"the dev set has no '{oos_label}' examples to tune the out-of-scope threshold on")
    top = probs.max(axis=1)
    candidates = np.unique(np.concatenate([top, [0.0]]))
    best: dict[str, Any] | None = None
    for threshold in candidates:
        scores = oos_scores(gold, decide(probs, labels, oos_label, float(threshold)), oos_label)
        objective = (scores["in_scope_accuracy"] + scores["oos_recall"]) / 2
        if best is None or objective > best["objective"] + 1e-12:
            best = {"threshold": float(threshold), "objective": objective, **scores}
    assert best is not None
    return best
