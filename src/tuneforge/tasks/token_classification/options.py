"""The options of token classification (``task_options:`` when ``task: token-classification``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tuneforge.tasks.common.options import TaskOptions


class TokenClassificationOptions(TaskOptions):
    task: Literal["token-classification"] = Field("token-classification", exclude=True)
    label_all_tokens: bool = Field(False, description="Label every sub-token, not only a word's first.")
    decode: Literal["viterbi", "argmax"] = Field(
        "viterbi", description="viterbi: the best valid BIO sequence; argmax: per-word argmax, then repair."
    )

    def check(self, cfg: Any) -> None:
        m = cfg.model
        if m.stride >= m.max_length // 2:
            raise ValueError(f"model.stride ({m.stride}) must be less than half of model.max_length ({m.max_length})")
