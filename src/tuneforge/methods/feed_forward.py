"""Narrow every transformer layer's feed-forward block to a share of its neurons (structured pruning): the neurons
kept are those whose weights in and out are largest, the same count in every layer, so the config's one
``intermediate_size`` describes the result and ``save_pretrained`` writes a model plain transformers loads.

Half the layers of a MiniLM-L6 give at most about 2× its throughput (the embeddings and head stay); a student
that must be faster still, or deeper at the same cost, keeps more layers and fewer feed-forward neurons in each."""

from __future__ import annotations

import torch
from torch import nn

from tuneforge.errors import ConfigError
from tuneforge.methods.layers import layer_stack


def narrow_feed_forward(model, share: float) -> int:
    """Keep ``share`` (0 < share ≤ 1) of each layer's feed-forward neurons, in place; returns the new width.

    A layer's feed-forward block is found by shape: the linear maps into the config's ``intermediate_size``
    (BERT's ``intermediate.dense``; a gated MLP's ``gate_proj`` and ``up_proj``) and the one out of it
    (``output.dense``; ``down_proj``). A neuron's importance is the norm of its incoming rows times that of its
    outgoing column."""
    config = getattr(model, "config", None)
    width = getattr(config, "intermediate_size", None)
    if not isinstance(width, int) or width == getattr(config, "hidden_size", None):
        raise ConfigError(f"model {type(model).__name__}: its config names no feed-forward width apart from the "
                          "hidden size, so its feed-forward blocks cannot be narrowed")
    if not 0 < share <= 1:
        raise ConfigError(f"feed-forward share {share}: give a fraction above 0 and at most 1")
    kept = max(1, round(width * share))
    if kept == width:
        return width
    for layer in layer_stack(model):
        into = [(owner, name, m) for owner, name, m in _linears(layer) if m.out_features == width]
        out_of = [(owner, name, m) for owner, name, m in _linears(layer) if m.in_features == width]
        if not into or len(out_of) != 1:
            raise ConfigError(f"model {type(model).__name__}: a layer's feed-forward block was not found (linear "
                              f"maps into and out of width {width})")
        with torch.no_grad():
            importance = sum(m.weight.norm(dim=1) for _, _, m in into) * out_of[0][2].weight.norm(dim=0)
            neurons = importance.topk(kept).indices.sort().values
            for owner, name, m in into:
                setattr(owner, name, _rows(m, neurons))
            owner, name, m = out_of[0]
            setattr(owner, name, _columns(m, neurons))
    config.intermediate_size = kept
    return kept


def _linears(layer: nn.Module):
    for owner in layer.modules():
        for name, child in owner.named_children():
            if isinstance(child, nn.Linear):
                yield owner, name, child


def _rows(linear: nn.Linear, keep: torch.Tensor) -> nn.Linear:
    new = nn.Linear(linear.in_features, len(keep), bias=linear.bias is not None,
                    device=linear.weight.device, dtype=linear.weight.dtype)
    new.weight.copy_(linear.weight[keep])
    if linear.bias is not None:
        new.bias.copy_(linear.bias[keep])
    return new


def _columns(linear: nn.Linear, keep: torch.Tensor) -> nn.Linear:
    new = nn.Linear(len(keep), linear.out_features, bias=linear.bias is not None,
                    device=linear.weight.device, dtype=linear.weight.dtype)
    new.weight.copy_(linear.weight[:, keep])
    if linear.bias is not None:
        new.bias.copy_(linear.bias)
    return new
