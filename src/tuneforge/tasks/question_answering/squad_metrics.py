"""The official SQuAD v1.1 / v2.0 evaluation (exact match and token F1), as fractions 0-1.

Normalization and F1 follow the official ``evaluate-v2.0.py`` exactly, so scores compare with published
numbers (divided by 100): v2.0's F1 is v1.1's, plus "no answer" handling (empty gold and empty prediction
agree). A question's score is its best over the gold answers.
"""

from __future__ import annotations

import re
import string
from collections import Counter

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation, drop articles a/an/the, collapse whitespace (the official order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match(pred: str, gold: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(gold))


def f1(pred: str, gold: str) -> float:
    """Token-overlap F1 of the normalized answers; if either is empty, 1 when both are and 0 otherwise."""
    pred_tokens, gold_tokens = _tokens(pred), _tokens(gold)
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(golds: list[list[str]], preds: list[str]) -> dict:
    """Mean exact match and F1 (fractions), each the max over a question's gold answers.

    An empty gold list (or only empty strings) means the question has no answer: the prediction must be
    "" to score. When any question has no answer (SQuAD v2), the scores are also split into has-answer
    and no-answer questions, with their counts.
    """
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold answer lists but {len(preds)} predictions")
    # Like the official v2 script: gold answers that normalize to nothing count as "no answer".
    answers = [[g for g in gold if normalize_answer(g)] or [""] for gold in golds]
    em = [max(exact_match(pred, g) for g in gold) for gold, pred in zip(answers, preds, strict=True)]
    f = [max(f1(pred, g) for g in gold) for gold, pred in zip(answers, preds, strict=True)]
    scores: dict = {"exact_match": _mean(em), "f1": _mean(f), "examples": len(preds)}
    has_answer = [gold != [""] for gold in answers]
    if not all(has_answer):
        answered = [i for i, has in enumerate(has_answer) if has]
        unanswerable = [i for i, has in enumerate(has_answer) if not has]
        scores["has_answer_examples"] = len(answered)
        if answered:
            scores["has_answer_exact_match"] = _mean([em[i] for i in answered])
            scores["has_answer_f1"] = _mean([f[i] for i in answered])
        scores["no_answer_examples"] = len(unanswerable)
        # For a no-answer question exact match and F1 coincide: both ask for an empty prediction.
        scores["no_answer_accuracy"] = _mean([em[i] for i in unanswerable])
    return scores


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
