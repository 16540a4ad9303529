"""Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021), written here because peft has none.

An adapter is down-projection → non-linearity → up-projection with a residual connection, inserted
after a sub-layer's output projection: after the feed-forward output (``pfeiffer``), or after both
the attention output and the feed-forward output (``houlsby``). The up-projection starts at zero,
so training starts from exactly the pretrained model. Only adapters, the layers' normalization
weights (``adapter.train_layer_norm``) and the head train.

Saved format (see methods/saving.py): ``tuneforge_adapter.json`` (method and options) and
``tuneforge_adapter.safetensors`` holding the trainable tensors under their model names, e.g.
``bert.encoder.layer.0.output.dense.adapter.down.weight``.
"""

from __future__ import annotations

import torch
from torch import nn

from tuneforge.errors import ConfigError
from tuneforge.methods.heads import train_head_only_outside
from tuneforge.methods.layers import layer_stack

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}
# (attention output projection, feed-forward output projection) inside one layer, by architecture family
OUTPUT_PROJECTIONS = [("attention.output.dense", "output.dense"),  # BERT, RoBERTa, MiniLM, ELECTRA
                      ("attention.out_lin", "ffn.lin2"),  # DistilBERT
                      ("self_attn.o_proj", "mlp.down_proj")]  # Llama, SmolLM2, Mistral


class Bottleneck(nn.Module):
    def __init__(self, hidden: int, reduction: int, activation: str) -> None:
        super().__init__()
        size = max(1, hidden // reduction)
        self.down = nn.Linear(hidden, size)
        self.act = ACTIVATIONS[activation]()
        self.up = nn.Linear(size, hidden)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.act(self.down(x)))


class WithAdapter(nn.Module):
    """A linear output projection followed by its adapter; ``dense`` keeps the original weights."""

    def __init__(self, dense: nn.Linear, adapter: Bottleneck) -> None:
        super().__init__()
        self.dense = dense
        self.adapter = adapter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.dense(x))


def _find(layer: nn.Module, dotted: str) -> tuple[nn.Module, str] | None:
    *path, last = dotted.split(".")
    node = layer
    for part in path:
        node = getattr(node, part, None)
        if node is None:
            return None
    return (node, last) if isinstance(getattr(node, last, None), nn.Linear) else None


def apply_adapter(model, cfg, task_type: str | None):
    options = cfg.adapter
    for param in model.parameters():
        param.requires_grad_(False)
    layers = layer_stack(model)
    pair = next((p for p in OUTPUT_PROJECTIONS if all(_find(layers[0], name) for name in p)), None)
    if pair is None:
        raise ConfigError(f"method 'adapter': adapter.placement={options.placement} needs the layers' output "
                          f"projections, not found in model '{cfg.model.name}' ({type(layers[0]).__name__})")
    targets = pair if options.placement == "houlsby" else pair[1:]
    for layer in layers:
        for name in targets:
            parent, attr = _find(layer, name)
            dense = getattr(parent, attr)
            adapter = Bottleneck(dense.out_features, options.reduction_factor, options.non_linearity)
            setattr(parent, attr, WithAdapter(dense, adapter.to(dense.weight.device)))
    train_head_only_outside(model)
    for name, param in model.named_parameters():
        if ".adapter." in name:
            param.requires_grad_(True)
    if options.train_layer_norm:  # as Houlsby et al. do: a few thousand parameters, and adapters fit much faster
        for layer in layers:
            for module in layer.modules():
                if "norm" in type(module).__name__.lower():
                    module.requires_grad_(True)
    return model
