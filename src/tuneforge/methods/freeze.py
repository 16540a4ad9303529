"""Layer freezing: train only the top ``trainable_layers`` transformer layers and the task head.

Frozen parameters get no gradient, and since nothing below the lowest trainable layer requires one,
autograd runs no backward pass through the frozen layers at all. With ``freeze.cache_frozen`` the
frozen layers' outputs are also computed once and reused every epoch (engine/speed/frozen_cache.py).
"""

from __future__ import annotations

from tuneforge.errors import ConfigError
from tuneforge.methods.heads import train_head_only_outside
from tuneforge.methods.layers import embeddings, layer_stack


def apply_freeze(model, cfg, task_type: str | None):
    options = cfg.freeze
    layers = layer_stack(model)
    if options.trainable_layers > len(layers):
        raise ConfigError(
            f"method 'freeze': freeze.trainable_layers={options.trainable_layers} but model "
            f"'{cfg.model.name}' has only {len(layers)} layers"
        )
    base = getattr(model, "base_model", model)
    for param in base.parameters():
        param.requires_grad_(False)
    for layer in list(layers)[len(layers) - options.trainable_layers:]:
        for param in layer.parameters():
            param.requires_grad_(True)
    if options.train_embeddings:
        for param in embeddings(model).parameters():
            param.requires_grad_(True)
    train_head_only_outside(model)
    return model


def cached_frozen_layers(model, cfg) -> int:
    """How many bottom layers are frozen and to be cached (0 unless ``freeze.cache_frozen``; 0 when the
    embeddings train, since then nothing below the trained layers is fixed)."""
    if cfg.method != "freeze" or not cfg.freeze.cache_frozen or cfg.freeze.train_embeddings:
        return 0
    return len(layer_stack(model)) - cfg.freeze.trainable_layers
