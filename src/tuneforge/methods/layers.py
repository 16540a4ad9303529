"""Find a transformer's embeddings and its stack of layers, across architectures; keep some of the layers."""

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


def evenly_spaced(depth: int, keep: int) -> list[int]:
    """``keep`` of ``depth`` layers, spread evenly and always ending with the last (6 → 3: 1, 3, 5), as
    DistilBERT's every-other-layer initialisation: the top layer, which the head was trained on, stays."""
    if not 1 <= keep < depth:
        raise ConfigError(f"cannot keep {keep} of {depth} layers (choose 1 to {depth - 1})")
    return [round((i + 1) * depth / keep) - 1 for i in range(keep)]


def keep_layers(model, keep: list[int]) -> list[int]:
    """Drop every transformer layer of ``model`` but those at ``keep`` (in place); the config says the new
    depth, so ``save_pretrained`` writes a model that plain transformers loads with the smaller depth.
    Returns the kept indices."""
    stack = layer_stack(model)
    depth = len(stack)
    if not keep or sorted(set(keep)) != list(keep) or keep[0] < 0 or keep[-1] >= depth:
        raise ConfigError(f"layers to keep {keep}: give increasing indices from 0 to {depth - 1}")
    owner, attribute = _parent_of(model, stack)
    kept = nn.ModuleList([stack[i] for i in keep])
    for new_index, layer in enumerate(kept):
        for module in layer.modules():  # decoder attention reads its KV-cache slot by this index
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_index
    setattr(owner, attribute, kept)
    config = getattr(model, "config", None)
    if config is not None:
        config.num_hidden_layers = len(keep)
        types = getattr(config, "layer_types", None)  # per-layer attention kinds (sliding / full) in newer configs
        if isinstance(types, list) and len(types) == depth:
            config.layer_types = [types[i] for i in keep]
    return list(keep)


def _parent_of(model, target: nn.Module) -> tuple[nn.Module, str]:
    for module in model.modules():
        for child_name, child in module.named_children():
            if child is target:
                return module, child_name
    raise ConfigError(f"model {type(model).__name__}: the layer stack has no parent module")
