"""Growing a classifier head for new labels: the old rows stay as they are, the new ones start like a fresh head's."""

from __future__ import annotations

import torch
from torch import nn


def output_layer(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    """(parent module, attribute, layer) of the head's last Linear: BERT-style ``classifier``, decoder ``score``."""
    for name in ("classifier", "score"):
        layer = getattr(model, name, None)
        if isinstance(layer, nn.Linear):
            return model, name, layer
        if isinstance(layer, nn.Module) and isinstance(getattr(layer, "out_proj", None), nn.Linear):
            return layer, "out_proj", layer.out_proj  # RoBERTa's classification head
    raise ValueError(f"{type(model).__name__}: no classifier or score layer to grow")


def grow_head(model: nn.Module, labels: list[str]) -> int:
    """Give the head one output per label of ``labels``, whose first rows are the labels it has; returns how
    many rows it had. The label map of the model's config follows, so a saved model reads by itself."""
    parent, attr, old = output_layer(model)
    before = old.out_features
    if len(labels) < before:
        raise ValueError(f"the head has {before} outputs, more than the {len(labels)} labels given")
    if len(labels) > before:
        new = nn.Linear(old.in_features, len(labels), bias=old.bias is not None,
                        device=old.weight.device, dtype=old.weight.dtype)
        std = getattr(model.config, "initializer_range", 0.02)
        with torch.no_grad():
            new.weight.normal_(0.0, std)
            new.weight[:before] = old.weight
            if old.bias is not None:
                new.bias.zero_()
                new.bias[:before] = old.bias
        new.weight.requires_grad_(old.weight.requires_grad)
        if new.bias is not None:
            new.bias.requires_grad_(old.bias.requires_grad)
        setattr(parent, attr, new)
    model.config.num_labels = len(labels)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: i for i, label in enumerate(labels)}
    if hasattr(model, "num_labels"):
        model.num_labels = len(labels)
    return before
