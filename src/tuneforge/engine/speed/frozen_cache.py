"""Cache what frozen bottom layers compute, so each epoch after the first skips them entirely.

The frozen prefix (embeddings + the first ``n`` layers) runs once per training feature, in eval mode
(no dropout in frozen layers). Training then runs only the top layers and the head on the cached
hidden states: the model's embeddings are swapped for a stub that returns the cached batch, and its
layer list for the top layers, only for the duration of a forward call. At rest the model is whole,
so checkpoints, evaluation and the saved model are the ordinary ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tuneforge.data.batching import eval_batches
from tuneforge.errors import ConfigError
from tuneforge.methods.layers import layer_stack


@dataclass
class CachedFeature:
    feature: Any
    hidden: torch.Tensor  # [length, hidden] after the frozen layers

    def __len__(self) -> int:
        return len(self.feature)


class _Replay(nn.Module):
    """Stands in for the embeddings: returns the cached hidden states of the current batch."""

    def __init__(self) -> None:
        super().__init__()
        self.current: torch.Tensor | None = None

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.current


class CachedPrefixModel(nn.Module):
    """Wraps a model whose bottom ``n_frozen`` layers are frozen; forwards on cached hidden states."""

    def __init__(self, inner: nn.Module, n_frozen: int) -> None:
        super().__init__()
        self.inner = inner
        self.n_frozen = n_frozen
        self._replay = _Replay()

    @contextmanager
    def _top_only(self, hidden: torch.Tensor):
        base = self.inner.base_model
        layers = layer_stack(self.inner)
        parent, name = _owner(base, layers)
        original_embeddings = base.embeddings
        self._replay.current = hidden
        # Plain attribute writes: nn.Module.__setattr__ would register the replay stub's state.
        base._modules["embeddings"] = self._replay
        parent._modules[name] = nn.ModuleList(list(layers)[self.n_frozen:])
        try:
            yield
        finally:
            base._modules["embeddings"] = original_embeddings
            parent._modules[name] = layers
            self._replay.current = None

    def forward(self, cached_hidden: torch.Tensor | None = None, **batch: torch.Tensor):
        if cached_hidden is None:
            return self.inner(**batch)
        with self._top_only(cached_hidden):
            return self.inner(**batch)

    @torch.inference_mode()
    def prefix_hidden(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Hidden states after the frozen layers, computed by capturing the first top layer's input."""
        layers = layer_stack(self.inner)
        captured: dict[str, torch.Tensor] = {}

        def grab_input(_module, args, kwargs):
            captured["h"] = args[0] if args else kwargs["hidden_states"]
            raise _Stop

        def grab_output(_module, _args, output):
            captured["h"] = output[0] if isinstance(output, tuple) else output
            raise _Stop

        if self.n_frozen < len(layers):
            handle = layers[self.n_frozen].register_forward_pre_hook(grab_input, with_kwargs=True)
        else:  # every layer frozen (head-only training): cache the last layer's output
            handle = layers[-1].register_forward_hook(grab_output)
        try:
            self.inner(**{k: v for k, v in batch.items() if k != "labels"})
        except _Stop:
            pass
        finally:
            handle.remove()
        return captured["h"]


class _Stop(Exception):
    """Ends a forward pass once the frozen layers' output is captured."""


def _owner(base: nn.Module, layers: nn.ModuleList) -> tuple[nn.Module, str]:
    for module in base.modules():
        for name, child in module._modules.items():
            if child is layers:
                return module, name
    raise RuntimeError("layer stack not found in the model")


def build_cache(
    model: nn.Module, n_frozen: int, features: Sequence[Any], collate: Callable, batch_size: int = 64
) -> tuple[CachedPrefixModel, list[CachedFeature], Callable]:
    """(wrapped model, features with cached hidden states, a collate that pads them)."""
    if not hasattr(model.base_model, "embeddings"):
        raise ConfigError(f"freeze.cache_frozen: not supported for {type(model).__name__} "
                          "(needs a BERT-style encoder with an `embeddings` module)")
    wrapped = CachedPrefixModel(model, n_frozen)
    was_training = model.training
    model.eval()
    lengths = [len(f) for f in features]
    cached: list[CachedFeature | None] = [None] * len(features)
    for ids in eval_batches(lengths, batch_size):
        hidden = wrapped.prefix_hidden(collate([features[i] for i in ids]))
        for row, i in enumerate(ids):
            cached[i] = CachedFeature(features[i], hidden[row, : lengths[i]].clone())
    model.train(was_training)

    def collate_cached(items: list[CachedFeature]) -> dict[str, torch.Tensor]:
        batch = collate([c.feature for c in items])
        width = batch["input_ids"].shape[1]
        hidden = torch.zeros(len(items), width, items[0].hidden.shape[-1])
        for row, c in enumerate(items):
            hidden[row, : len(c)] = c.hidden
        batch["cached_hidden"] = hidden
        return batch

    return wrapped, cached, collate_cached  # type: ignore[return-value]
