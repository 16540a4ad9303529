"""Logits at the scored positions only: the vocabulary projection (49k-152k columns) runs on the few
positions a loss reads, not on every position of every row."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def scored_logits(model, inputs: dict[str, Any], scored: torch.Tensor) -> torch.Tensor:
    """``model(**inputs).logits`` of the positions where ``scored`` is True, as [positions, vocabulary]."""

    def keep_scored(_module, args):
        hidden = args[0]
        mask = scored
        if hidden.shape[1] > mask.shape[1]:  # prompt tuning's virtual tokens come first
            mask = F.pad(mask, (hidden.shape[1] - mask.shape[1], 0), value=False)
        return (hidden[mask],)

    handle = model.get_output_embeddings().register_forward_pre_hook(keep_scored)
    try:
        logits = model(**inputs).logits
    finally:
        handle.remove()
    if logits.dim() == 3:  # a head that does more after its output projection: cut here
        logits = logits[:, -scored.shape[1]:][scored]
    return logits
