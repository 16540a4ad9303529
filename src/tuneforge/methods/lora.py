"""LoRA (Hu et al., 2021) and DoRA (Liu et al., 2024) through peft: low-rank updates of chosen linear layers.

Without ``lora.target_modules`` every linear layer of the backbone is adapted (attention and feed-forward),
not peft's query/value default: on small encoders that is what brings LoRA level with full fine-tuning
(as QLoRA found for LLMs), at r=8 still about 1.5% of MiniLM's parameters. ``lora.train_layer_norm``
also trains the normalization weights (peft's ``modules_to_save``, so plain peft still loads the run).
"""

from __future__ import annotations

from torch import nn

from tuneforge.methods.heads import head_module_names
from tuneforge.methods.peft_wrap import wrap


def apply_lora(model, cfg, task_type: str | None):
    from peft import LoraConfig

    o = cfg.lora
    targets = o.target_modules or backbone_linear_names(model) or None  # None: peft's default for the model
    config = LoraConfig(task_type=task_type, r=o.r, lora_alpha=o.alpha, lora_dropout=o.dropout,
                        target_modules=targets, use_dora=o.use_dora,
                        modules_to_save=norm_names(model) if o.train_layer_norm else None)
    return wrap(model, config, cfg, f"lora.target_modules={targets or config.target_modules}")


def backbone_linear_names(model) -> list[str]:
    """Leaf names of the backbone's nn.Linear layers (query, key, value, dense…), never the head's."""
    heads = tuple(f"{name}." for name in head_module_names(model))
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, nn.Linear) and not name.startswith(heads)
                   and name.rsplit(".", 1)[-1] not in {h[:-1] for h in heads}})


def norm_names(model) -> list[str]:
    """Leaf names of the normalization layers (LayerNorm, input_layernorm, norm…)."""
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if name and "norm" in type(module).__name__.lower()})
