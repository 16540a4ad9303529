"""Corpus metrics for generated text: ROUGE, BLEU, chrF (0-100) and slot recall (0-1).

ROUGE, BLEU and chrF share sacrebleu's 0-100 scale so they read alike in reports; slot recall is a share
0-1. Nothing is rounded here (callers round). ``perplexity`` is listed so config validation can name it,
but it is computed by the task from the model's loss, not from text, so ``text_scores`` skips it.
The scorers are imported lazily because importing them is slow and most runs never evaluate generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

METRICS: dict[str, tuple[str, ...]] = {
    "rouge": ("rouge1", "rouge2", "rougeL"),
    "bleu": ("bleu",),
    "chrf": ("chrf",),
    "slot_recall": ("slot_recall",),
    "perplexity": ("perplexity",),
}

HIGHER_IS_BETTER: dict[str, bool] = {key: name != "perplexity" for name, keys in METRICS.items() for key in keys}

_ROUGE_TYPES = METRICS["rouge"]
# Metrics scored against references (the rest need values, or no text at all).
_REFERENCE_METRICS = frozenset({"rouge", "bleu", "chrf"})


def _check_metrics(metrics: Sequence[str]) -> list[str]:
    """The requested names, deduplicated in order; an unknown one is a config error worth naming clearly."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown generation metric(s) {unknown}; known: {sorted(METRICS)}")
    return list(dict.fromkeys(metrics))


def _sentence_scorer(metric: str) -> Any:
    """A sacrebleu scorer for picking references; BLEU needs effective order or short sentences score 0."""
    from sacrebleu.metrics import BLEU, CHRF

    if metric == "bleu":
        return BLEU(effective_order=True)
    if metric == "chrf":
        return CHRF()
    raise ValueError(f"best_references supports 'bleu' and 'chrf', not {metric!r}")


def best_references(outputs: list[str], references: list[list[str]], metric: str) -> list[str]:
    """Each output's best-matching reference by sentence-level ``metric`` ("bleu" or "chrf").

    Corpus BLEU/chrF take one reference stream, so with several references per example we score against
    the one the output matches best (ties go to the first). Examples with a single reference skip scoring.
    """
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs but {len(references)} reference lists")
    scorer = None
    picked: list[str] = []
    for output, refs in zip(outputs, references, strict=True):
        if not refs:
            raise ValueError("every example needs at least one reference")
        if len(refs) == 1:
            picked.append(refs[0])
            continue
        scorer = scorer or _sentence_scorer(metric)
        scores = [scorer.sentence_score(output, [ref]).score for ref in refs]
        picked.append(refs[scores.index(max(scores))])  # index() finds the first maximum: ties -> first
    return picked


def _normalize(text: str) -> str:
    return " ".join(text.casefold().split())


def slot_recall(outputs: list[str], values: list[list[str]]) -> float | None:
    """Share of required values that appear in their output (case-insensitive, whitespace-normalized).

    Pooled over all values rather than averaged per example, so examples with more slots weigh more and
    examples without values contribute nothing. Values that are blank after normalization are ignored.
    None when there is nothing to check, so callers can omit the score instead of reporting a fake 0 or 1.
    """
    if len(outputs) != len(values):
        raise ValueError(f"{len(outputs)} outputs but {len(values)} value lists")
    found = total = 0
    for output, wanted in zip(outputs, values, strict=True):
        text = _normalize(output)
        for value in wanted:
            needle = _normalize(value)
            if needle:
                total += 1
                found += needle in text
    return found / total if total else None


def _rouge(outputs: list[str], references: list[list[str]]) -> dict[str, float]:
    """Mean over examples of each ROUGE F-measure x 100, best reference per example and ROUGE type.

    rouge_score's default tokenizer lowercases and keeps only ASCII letters and digits, so non-ASCII letters
    (German umlauts, accents, non-Latin scripts) are dropped: fine for English, unreliable otherwise.
    """
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(_ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(_ROUGE_TYPES, 0.0)
    for output, refs in zip(outputs, references, strict=True):
        best = scorer.score_multi(refs, output)  # per type, the reference with the highest F-measure
        for key in _ROUGE_TYPES:
            totals[key] += best[key].fmeasure
    return {key: 100 * total / len(outputs) for key, total in totals.items()}


def text_scores(
    outputs: list[str],
    references: list[list[str]],
    metrics: Sequence[str],
    values: list[list[str]] | None = None,
) -> dict[str, float]:
    """Corpus scores of generated outputs against one or more references per example.

    ROUGE, BLEU and chrF are 0-100; with several references, ROUGE takes each example's best reference per
    ROUGE type, BLEU and chrF score against each example's best-matching reference (see
    ``best_references``). ``slot_recall`` (0-1) needs ``values`` and is omitted when there are none.
    ``perplexity`` is ignored here: the task computes it from the loss. Empty outputs are legal and score 0.
    """
    names = _check_metrics(metrics)
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs but {len(references)} reference lists")
    scores: dict[str, float] = {}
    if _REFERENCE_METRICS.intersection(names):
        if not outputs:
            raise ValueError("no outputs to score")
        if any(not refs for refs in references):
            raise ValueError("every example needs at least one reference")
    for name in names:
        if name == "rouge":
            scores.update(_rouge(outputs, references))
        elif name in ("bleu", "chrf"):
            from sacrebleu.metrics import BLEU, CHRF

            corpus = BLEU() if name == "bleu" else CHRF()
            picked = best_references(outputs, references, name)
            scores[name] = float(corpus.corpus_score(outputs, [picked]).score)
        elif name == "slot_recall" and values is not None:
            recall = slot_recall(outputs, values)
            if recall is not None:
                scores["slot_recall"] = recall
    return scores
