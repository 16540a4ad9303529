"""The SemEval-2010 Task 8 official score: macro-F1 over the relation types, direction-aware, ``Other`` excluded.

As in the task's scorer ("(9+1)-way evaluation with directionality taken into account"), a relation
type R collects every example whose gold or predicted label is R in either direction; a prediction
is correct only if it also has the gold direction. Per type: P = correct / predicted as R,
R = correct / gold R; the official score is the mean F1 over the types (each type's F1 from its P
and R). A full per-label table (every direction, and Other) is reported too.
"""

from __future__ import annotations

from typing import Any

from tuneforge.tasks.classification.metrics import single_label_scores

OTHER = "Other"


def base_relation(label: str) -> str:
    """``Cause-Effect(e1,e2)`` → ``Cause-Effect``."""
    return label.split("(", 1)[0]


def relation_scores(gold: list[str], predicted: list[str], labels: list[str] | None = None) -> dict[str, Any]:
    labels = labels or sorted(set(gold) | set(predicted))
    types = sorted({base_relation(x) for x in labels} - {OTHER})
    per_type = {}
    for kind in types:
        correct = sum(g == p and base_relation(g) == kind for g, p in zip(gold, predicted, strict=True))
        n_pred = sum(base_relation(p) == kind for p in predicted)
        n_gold = sum(base_relation(g) == kind for g in gold)
        precision = correct / n_pred if n_pred else 0.0
        recall = correct / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_type[kind] = {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}
    scores = single_label_scores(gold, predicted, labels)
    scores["official_f1"] = sum(r["f1"] for r in per_type.values()) / len(per_type) if per_type else 0.0
    scores["per_relation"] = per_type
    return scores
