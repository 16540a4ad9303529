"""Find a transformer's embeddings and its stack of layers, across architectures."""

from __future__ import annotations

from torch import nn

from tuneforge.errors import ConfigError


def layer_stack(model) -> nn.ModuleList:
    """The ModuleList holding the model's transformer blocks (the longest list of same-type modules)."""
    base = getattr(model, "base_model", model)
    best: nn.ModuleList | None = None
    for module in base.modules():
        same_type = isinstance(module, nn.ModuleList) and len(module) and len({type(m) for m in module}) == 1
        if same_type and (best is None or len(module) > len(best)):
            best = module
    if best is None:
        raise ConfigError(f"model {type(model).__name__}: no stack of transformer layers found")
    return best


def embeddings(model) -> nn.Module:
    base = getattr(model, "base_model", model)
    for name in ("embeddings", "embed_tokens", "wte", "word_embeddings"):
        if hasattr(base, name):
            return getattr(base, name)
    return base.get_input_embeddings()
