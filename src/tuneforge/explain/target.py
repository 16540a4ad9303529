"""What an explanation explains: one input as token ids, its words, and the probability of one answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# (model, input_ids [batch, length], attention_mask) -> the explained probability per row [batch]
ScoreFn = Callable[[Any, Any, Any], Any]


@dataclass
class Target:
    """One input to attribute: ``input_ids`` (one window, with its special tokens), ``word_of_token`` (the word
    each token belongs to; None for special tokens, which stay fixed), the words shown, and ``score``: the
    probability of ``answer`` that the attributions explain. ``baseline_id`` replaces a word that is taken out."""

    input_ids: list[int]
    word_of_token: list[int | None]
    words: list[str]
    answer: str
    probability: float
    score: ScoreFn
    baseline_id: int
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # what the target kind adds (the entity's words)

    def token_positions(self, word: int) -> list[int]:
        return [i for i, w in enumerate(self.word_of_token) if w == word]
