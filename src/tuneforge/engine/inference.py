"""Batched inference: length-sorted batches under inference_mode, results back in input order.

A task's registry entry names its scoring path (``TaskSpec.inference``): which model outputs are
read, per feature, cut to the feature's own length where they are per token. ``predict_outputs``
runs any path; ``predict_probs`` adds softmax or sigmoid for the classification paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneforge.data.batching import eval_batches
from tuneforge.engine.progress import bar

if TYPE_CHECKING:
    import torch


def _array(x: Any) -> np.ndarray:
    """An output as float32 numpy: a tensor (any dtype or device) or an ONNX Runtime array."""
    return np.asarray(x, dtype=np.float32) if isinstance(x, np.ndarray) else x.float().cpu().numpy()


def _token_logits(outputs, lengths: list[int]) -> list[np.ndarray]:
    logits = _array(outputs.logits)
    return [logits[row, :n] for row, n in enumerate(lengths)]


def _class_logits(outputs, lengths: list[int]) -> list[np.ndarray]:
    return list(_array(outputs.logits))


def _span_logits(outputs, lengths: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    start, end = _array(outputs.start_logits), _array(outputs.end_logits)
    return [(start[row, :n], end[row, :n]) for row, n in enumerate(lengths)]


def _schema_state(outputs, lengths: list[int]) -> list[dict[str, np.ndarray]]:
    """Per feature, every head's scores (padded over schema elements; per-token scores cut to its length)."""
    arrays = {k: _array(getattr(outputs, k)) for k in ("intent", "requested", "status", "value", "start", "end")}
    return [{k: (v[row, :, :n] if k in ("start", "end") else v[row]) for k, v in arrays.items()}
            for row, n in enumerate(lengths)]


def _embeddings(outputs, lengths: list[int]) -> list[np.ndarray]:
    """One vector per feature (a bi-encoder returns its pooled embeddings as ``last_hidden_state``)."""
    return list(_array(outputs.last_hidden_state))


# What each scoring path reads from a batch's outputs: one entry per feature of the batch.
SCORING_PATHS: dict[str, Callable[[Any, list[int]], list[Any]]] = {
    "token-probabilities": _token_logits,
    "class-probabilities": _class_logits,
    "span-logits": _span_logits,
    "schema-state": _schema_state,
    "embeddings": _embeddings,
}
TARGETS = ("labels", "start_positions", "end_positions")  # what a training collate adds; never a model input


def inference_precision(precision: str, model: Any):
    """bf16 autocast on the model's device for "bf16" (outputs are read back as float32); nothing for "fp32"."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    device = next(model.parameters()).device.type
    return torch.autocast(device, dtype=torch.bfloat16)


def predict_outputs(
    model: Any,
    features: Sequence[Any],
    collate: Callable[[list[Any]], dict[str, Any]],
    path: str,
    batch_size: int = 64,
    batch_tokens: int | None = None,
) -> list[Any]:
    """The scoring path's outputs per feature, in the order of ``features`` (training targets dropped).

    ``model`` is a torch module, or a model that takes numpy inputs (``numpy_inputs``: a checked ONNX graph,
    ``engine/onnx/session.py``), which runs without importing torch; ``collate`` may give tensors or arrays.
    """
    read = SCORING_PATHS[path]
    lengths = [len(f) for f in features]
    out: list[Any] = [None] * len(features)
    calls = _numpy_calls(model) if getattr(model, "numpy_inputs", False) else _torch_calls(model)
    with calls as call, bar(len(features), "scoring", "window") as shown:
        for batch_ids in eval_batches(lengths, batch_size, batch_tokens):
            batch = collate([features[i] for i in batch_ids])
            outputs = call({k: v for k, v in batch.items() if k not in TARGETS})
            for i, value in zip(batch_ids, read(outputs, [lengths[i] for i in batch_ids]), strict=True):
                out[i] = value
            shown.update(len(batch_ids))
    return out


@contextlib.contextmanager
def _numpy_calls(model: Any) -> Iterator[Callable[[dict[str, Any]], Any]]:
    yield lambda batch: model(**{k: np.asarray(v) for k, v in batch.items()})


@contextlib.contextmanager
def _torch_calls(model: torch.nn.Module) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """The model in eval mode under inference_mode (see ``evaluating``: a model already in eval, such as a
    shared backbone's view, is never switched, so another thread's prediction keeps its mode)."""
    import torch

    from tuneforge.engine.eval_mode import evaluating
    from tuneforge.engine.speed.attention_backends import no_cudnn_attention

    device = next(model.parameters()).device
    with evaluating(model), no_cudnn_attention(), torch.inference_mode():
        yield lambda batch: model(**{k: torch.as_tensor(v).to(device) for k, v in batch.items()})


def predict_probs(
    model: Any,
    features: Sequence[Any],
    collate: Callable[[list[Any]], dict[str, Any]],
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
