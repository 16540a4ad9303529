"""How each kind of task is perturbed and compared (``TaskSpec.perturbs`` names the kind).

Both go through the task protocol only: ``predict_examples`` for answers, ``score_examples`` for a tagger's
entity F1.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tuneforge.data.bio import spans
from tuneforge.robustness.sample import Perturbed, Sample


class TextKind:
    """One label per text: a flip is a different top label; accuracy counts the top label right."""

    metric = "accuracy"

    @staticmethod
    def fields(cfg: Any) -> dict[str, str]:
        out = {cfg.data.text_field: "text"}
        if cfg.data.text_pair_field:
            out[cfg.data.text_pair_field] = "text_pair"
        return out

    @staticmethod
    def sample(example: Any, attribute: str) -> Sample:
        return Sample(getattr(example, attribute).split())

    @staticmethod
    def rebuild(example: Any, perturbed: Perturbed, attribute: str) -> Any:
        return replace(example, **{attribute: " ".join(perturbed.words)})

    @staticmethod
    def text(example: Any) -> str:
        return example.text if example.text_pair is None else f"{example.text} || {example.text_pair}"

    @staticmethod
    def answers(task: Any, model: Any, examples: list[Any], batching: dict[str, Any]) -> list[Any]:
        return task.predict_examples(model, examples, **batching) if examples else []

    @staticmethod
    def score(task: Any, examples: list[Any], answers: list[Any]) -> float:
        right = [a[0] == e.label if isinstance(e.label, str) else a[0] in (e.label or [])
                 for e, a in zip(examples, answers, strict=True)]
        return sum(right) / len(right) if right else 0.0

    @staticmethod
    def flipped(before: Any, after: Any, perturbed: Perturbed) -> bool:
        return before[0] != after[0]

    @staticmethod
    def shown(answer: Any) -> Any:
        return {"label": answer[0], "probability": round(float(answer[1]), 4)}


class TaggedKind:
    """Tags travel with their words: a flip is any predicted entity that differs once the original answer's
    spans are carried to the perturbed words; accuracy is entity F1."""

    metric = "f1"

    @staticmethod
    def fields(cfg: Any) -> dict[str, str]:
        return {cfg.data.tokens_field: "tokens"}

    @staticmethod
    def sample(example: Any, attribute: str) -> Sample:
        return Sample(list(example.tokens), list(example.tags))

    @staticmethod
    def rebuild(example: Any, perturbed: Perturbed, attribute: str) -> Any:
        return replace(example, tokens=perturbed.words, tags=perturbed.tags, word_per_line=False)

    @staticmethod
    def text(example: Any) -> str:
        return " ".join(example.tokens)

    @staticmethod
    def answers(task: Any, model: Any, examples: list[Any], batching: dict[str, Any]) -> list[Any]:
        return task.predict_examples(model, examples, **batching) if examples else []

    @staticmethod
    def score(task: Any, examples: list[Any], answers: list[Any]) -> float:
        return float(task.score_examples(examples, [a[0] for a in answers])["f1"]) if examples else 0.0

    @staticmethod
    def flipped(before: Any, after: Any, perturbed: Perturbed) -> bool:
        return carried(before[0], perturbed.align) != set(spans(after[0]))

    @staticmethod
    def shown(answer: Any) -> Any:
        return [list(s) for s in spans(answer[0])]


def carried(tags: list[str], align: list[int | None]) -> set[tuple[str, int, int]]:
    """The entities of ``tags`` on the perturbed words: each span's first and last surviving word moved where
    ``align`` says (a span whose words were all removed is gone)."""
    out = set()
    for kind, first, last in spans(tags):
        kept = [align[i] for i in range(first, last) if align[i] is not None]
        if kept:
            out.add((kind, kept[0], kept[-1] + 1))
    return out


KINDS: dict[str, Any] = {"text": TextKind, "tagged-words": TaggedKind}
