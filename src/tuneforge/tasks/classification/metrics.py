"""Scores for label predictions: accuracy, macro/micro F1, a per-label table and the confusion matrix."""

from __future__ import annotations

from collections import Counter
from typing import Any


def per_label_scores(gold: list[set[str]], predicted: list[set[str]], labels: list[str]) -> dict[str, dict[str, Any]]:
    """P/R/F1/support per label; each example holds a set of labels (one for single-label tasks)."""
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    for g, p in zip(gold, predicted, strict=True):
        for label in p & g:
            tp[label] += 1
        for label in p - g:
            fp[label] += 1
        for label in g - p:
            fn[label] += 1
    return {label: _prf(tp[label], fp[label], fn[label]) for label in labels}


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}


def micro_f1(gold: list[set[str]], predicted: list[set[str]], labels: list[str] | None = None) -> float:
    keep = set(labels) if labels is not None else None
    tp = fp = fn = 0
    for g, p in zip(gold, predicted, strict=True):
        if keep is not None:
            g, p = g & keep, p & keep
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
    return _prf(tp, fp, fn)["f1"]


def single_label_scores(gold: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro F1 over the labels that occur in gold or predictions, micro F1, table, confusions."""
    per_label = per_label_scores([{g} for g in gold], [{p} for p in predicted], labels)
    present = [label for label in labels if per_label[label]["support"] or label in set(predicted)]
    n = len(gold)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / n if n else 0.0
    return {
        "accuracy": accuracy,
        "macro_f1": sum(per_label[x]["f1"] for x in present) / len(present) if present else 0.0,
        "micro_f1": accuracy,  # one gold and one predicted label per example: micro F1 equals accuracy
        "examples": n,
        "per_label": per_label,
        "confusion": confusion(gold, predicted, labels),
    }


def confusion(gold: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    """Counts as data: ``matrix[i][j]`` = examples of gold ``labels[i]`` predicted as ``labels[j]``."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g]][index[p]] += 1
    return {"labels": labels, "matrix": matrix}


def top_confusions(scores: dict[str, Any], n: int = 10) -> list[tuple[str, str, int]]:
    labels, matrix = scores["confusion"]["labels"], scores["confusion"]["matrix"]
    pairs = [(labels[i], labels[j], c) for i, row in enumerate(matrix) for j, c in enumerate(row) if i != j and c]
    return sorted(pairs, key=lambda x: (-x[2], x[0], x[1]))[:n]


def per_label_table(rows: dict[str, dict[str, Any]], first_column: str = "label") -> list[str]:
    """Markdown lines of a precision / recall / F1 / support table, one row per label (entity type, relation)."""
    lines = [f"| {first_column} | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {label} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['support']} |"
              for label, r in rows.items()]
    return lines


def markdown_report(scores: dict[str, Any], title: str, headline: list[tuple[str, str]]) -> str:
    """A headline table of the main numbers, the per-label table and the top confusions."""
    lines = [f"### {title}", "", "| metric | value |", "|---|---:|"]
    lines += [f"| {name} | {scores[key]:.4f} |" for key, name in headline if key in scores]
    lines += ["", *per_label_table(scores["per_label"])]
    if "confusion" in scores:
        pairs = top_confusions(scores)
        if pairs:
            lines += ["", "Top confusions (gold → predicted: count):", ""]
            lines += [f"- {g} → {p}: {c}" for g, p, c in pairs]
    lines.append("")
    return "\n".join(lines)
