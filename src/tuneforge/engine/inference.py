"""Batched inference: length-sorted batches under inference_mode, results back in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from tuneforge.data.batching import eval_batches
from tuneforge.engine.attention_backends import no_cudnn_attention


@no_cudnn_attention()
def predict_probs(
    model: torch.nn.Module,
    features: Sequence[Any],
    collate: Callable[[list[Any]], dict[str, torch.Tensor]],
    batch_size: int = 64,
    batch_tokens: int | None = None,
    per_token: bool = True,
    activation: str = "softmax",
) -> list[np.ndarray]:
    """Probabilities per feature, in the order of ``features``: [length, labels] per token, or [labels].

    ``activation`` is softmax (one label) or sigmoid (independent labels, multi-label).
    """
    lengths = [len(f) for f in features]
    out: list[np.ndarray | None] = [None] * len(features)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        for batch_ids in eval_batches(lengths, batch_size, batch_tokens):
            batch = collate([features[i] for i in batch_ids])
            batch.pop("labels", None)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            logits = logits.float()
            probs = (torch.sigmoid(logits) if activation == "sigmoid" else torch.softmax(logits, dim=-1)).cpu().numpy()
            for row, i in enumerate(batch_ids):
                out[i] = probs[row, : lengths[i]] if per_token else probs[row]
    model.train(was_training)
    return out  # type: ignore[return-value]
