"""The worst errors of an evaluation, kept in report.json so report.html can show them with their text.

Plain JSON values only (str, int, float, lists, dicts): report.json is written with ``json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tuneforge.data.bio import spans
from tuneforge.data.examples import TaggedSentence, TextExample

TOP = 20


def single_label_errors(examples: list[TextExample], predicted: list[str], probs: np.ndarray,
                        top: int = TOP) -> list[dict[str, Any]]:
    """Misclassified examples, most confident first. ``probability`` is the top probability, as ``predict``
    reports it (for an out-of-scope answer below the threshold: the in-scope probability that fell short)."""
    confidence = probs.max(axis=1) if len(examples) else np.zeros(0)
    wrong = [i for i, (e, p) in enumerate(zip(examples, predicted, strict=True)) if e.label != p]
    wrong.sort(key=lambda i: -confidence[i])  # stable: equal confidence keeps the input order
    return [{**_texts(examples[i]), "gold": examples[i].label, "predicted": predicted[i],
             "probability": round(float(confidence[i]), 4)} for i in wrong[:top]]


def multi_label_errors(examples: list[TextExample], predicted: list[list[str]], labels: list[str],
                       top: int = TOP) -> list[dict[str, Any]]:
    """Examples whose predicted label set is not the gold one, the most labels wrong first."""
    order = {label: i for i, label in enumerate(labels)}

    def listed(values: set[str]) -> list[str]:  # label order, so gold and predicted read side by side
        return sorted(values, key=lambda x: (order.get(x, len(order)), x))

    rows = [(len(set(e.labels) ^ set(p)), i) for i, (e, p) in enumerate(zip(examples, predicted, strict=True))]
    rows = sorted((r for r in rows if r[0]), key=lambda r: -r[0])
    return [{**_texts(examples[i]), "gold": listed(set(examples[i].labels)), "predicted": listed(set(predicted[i]))}
            for _, i in rows[:top]]


def entity_errors(sentences: list[TaggedSentence], predicted: list[list[str]], top: int = TOP) -> list[dict[str, Any]]:
    """Sentences with the most wrong entities (false positives + false negatives: exact span and type),
    spans as ``[type, first word, last word + 1]``."""
    rows = []
    for i, (sentence, tags) in enumerate(zip(sentences, predicted, strict=True)):
        gold, pred = set(spans(sentence.tags)), set(spans(tags))
        if gold != pred:
            rows.append((len(gold ^ pred), i, gold, pred))
    rows.sort(key=lambda r: -r[0])
    return [{"tokens": list(sentences[i].tokens), "gold": _span_list(gold), "predicted": _span_list(pred)}
            for _, i, gold, pred in rows[:top]]


def _texts(example: TextExample) -> dict[str, str]:
    if example.text_pair is None:
        return {"text": example.text}
    return {"text": example.text, "text_pair": example.text_pair}


def _span_list(found: set[tuple[str, int, int]]) -> list[list[Any]]:
    return [[kind, int(first), int(last)] for kind, first, last in sorted(found, key=lambda s: (s[1], s[2], s[0]))]
