"""Batched inference: length-sorted batches under inference_mode, results back in input order.

A task's registry entry names its scoring path (``TaskSpec.inference``): which model outputs are
read, per feature, cut to the feature's own length where they are per token. ``predict_outputs``
runs any path; ``predict_probs`` adds softmax or sigmoid for the classification paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from tuneforge.data.batching import eval_batches
from tuneforge.engine.attention_backends import no_cudnn_attention


def _token_logits(outputs, lengths: list[int]) -> list[np.ndarray]:
    logits = outputs.logits.float().cpu().numpy()
    return [logits[row, :n] for row, n in enumerate(lengths)]


def _class_logits(outputs, lengths: list[int]) -> list[np.ndarray]:
    return list(outputs.logits.float().cpu().numpy())


def _span_logits(outputs, lengths: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    start, end = outputs.start_logits.float().cpu().numpy(), outputs.end_logits.float().cpu().numpy()
    return [(start[row, :n], end[row, :n]) for row, n in enumerate(lengths)]


# What each scoring path reads from a batch's outputs: one entry per feature of the batch.
SCORING_PATHS: dict[str, Callable[[Any, list[int]], list[Any]]] = {
    "token-probabilities": _token_logits,
    "class-probabilities": _class_logits,
    "span-logits": _span_logits,
}


def inference_precision(precision: str, model: torch.nn.Module):
    """bf16 autocast on the model's device for "bf16" (outputs are read back as float32); nothing for "fp32"."""
    if precision == "fp32":
        return contextlib.nullcontext()
    device = next(model.parameters()).device.type
    return torch.autocast(device, dtype=torch.bfloat16)


@no_cudnn_attention()
def predict_outputs(
    model: torch.nn.Module,
    features: Sequence[Any],
    collate: Callable[[list[Any]], dict[str, torch.Tensor]],
    path: str,
    batch_size: int = 64,
    batch_tokens: int | None = None,
) -> list[Any]:
    """The scoring path's outputs per feature, in the order of ``features`` (training targets dropped)."""
    read = SCORING_PATHS[path]
    lengths = [len(f) for f in features]
    out: list[Any] = [None] * len(features)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        for batch_ids in eval_batches(lengths, batch_size, batch_tokens):
            batch = collate([features[i] for i in batch_ids])
            for target in ("labels", "start_positions", "end_positions"):
                batch.pop(target, None)
            outputs = model(**{k: v.to(device) for k, v in batch.items()})
            for i, value in zip(batch_ids, read(outputs, [lengths[i] for i in batch_ids]), strict=True):
                out[i] = value
    model.train(was_training)
    return out


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
    path = "token-probabilities" if per_token else "class-probabilities"
    logits = predict_outputs(model, features, collate, path, batch_size, batch_tokens)
    if activation == "sigmoid":
        return [1 / (1 + np.exp(-x)) for x in logits]
    return [_softmax(x) for x in logits]


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)
