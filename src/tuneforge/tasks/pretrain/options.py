"""The options of continued pre-training: the objective and masking."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tuneforge.tasks.common.options import TaskOptions


class PretrainOptions(TaskOptions):
    """Continued pretraining on unlabelled text (plain text, one document per line; JSONL's data.text_field; or a
    CoNLL file's sentences, their words joined)."""

    task: Literal["pretrain"] = Field("pretrain", exclude=True)
    objective: Literal["auto", "mlm", "causal"] = Field(
        "auto", description="mlm: masked tokens (encoders); causal: the next token (decoders); auto: from the "
        "model's config (a decoder or causal-LM architecture: causal, else mlm).")
    mask_rate: float = Field(0.15, gt=0, lt=1, description="mlm: share of tokens chosen for the loss (of them 80% "
                             "become [MASK], 10% a random token, 10% stay); special tokens never.")
    whole_word_masking: bool = Field(False, description="mlm: choose whole words, all their sub-word pieces "
                                     "together, instead of single tokens.")

    def check(self, cfg: Any) -> None:
        es = cfg.training.early_stopping
        if es.metric is None and es.mode == "max":
            es.mode = "min"  # the default metric, perplexity, is better when lower
        elif es.metric in ("perplexity", "loss") and es.mode == "max":
            raise ValueError(f"training.early_stopping.metric {es.metric} is better when lower: set "
                             "training.early_stopping.mode: min")
