"""Entity-level scores (seqeval, strict IOB2): the numbers that matter for NER.

Token accuracy is reported too, named as what it is: a secondary number that flatters NER, since
most tokens are O.
"""

from __future__ import annotations

from typing import Any

from tuneforge.tasks.classification.metrics import per_label_table


def entity_scores(gold: list[list[str]], predicted: list[list[str]]) -> dict[str, Any]:
    # Imported here: seqeval pulls in scikit-learn and SciPy (~1.4 s), which predict never needs.
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(
        gold, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )
    overall = report.pop("micro avg")
    for key in ("macro avg", "weighted avg"):
        report.pop(key, None)
    per_type = {
        kind: {
            "precision": float(r["precision"]),
            "recall": float(r["recall"]),
            "f1": float(r["f1-score"]),
            "support": int(r["support"]),
        }
        for kind, r in sorted(report.items())
    }
    words = sum(len(s) for s in gold)
    correct = sum(g == p for gs, ps in zip(gold, predicted, strict=True) for g, p in zip(gs, ps, strict=True))
    return {
        "precision": float(overall["precision"]),
        "recall": float(overall["recall"]),
        "f1": float(overall["f1-score"]),
        "entities": int(overall["support"]),
        "per_type": per_type,
        "token_accuracy_secondary": correct / words if words else 0.0,
        "sentences": len(gold),
    }


def markdown_table(scores: dict[str, Any], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "Entity-level, strict IOB2 (seqeval).",
        "",
        *per_label_table(scores["per_type"], "type"),
    ]
    lines.append(
        f"| **overall (micro)** | **{scores['precision']:.4f}** | **{scores['recall']:.4f}** | "
        f"**{scores['f1']:.4f}** | **{scores['entities']}** |"
    )
    lines += [
        "",
        f"Token accuracy (secondary; flatters NER because most tokens are O): "
        f"{scores['token_accuracy_secondary']:.4f} over {scores['sentences']} sentences.",
        "",
    ]
    return "\n".join(lines)
