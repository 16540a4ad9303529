"""Adaptation methods: each one takes a model with its task head and decides what trains.

A registry from the config's ``method:`` name to a function ``apply(model, cfg) -> model``; tasks
know nothing of methods and methods nothing of tasks. peft provides lora, ia3, prompt-tuning and
prefix-tuning; freeze, bitfit and bottleneck adapters are written here. The head always trains.
"""

from __future__ import annotations

from collections.abc import Callable

from tuneforge.methods.adapter import apply_adapter
from tuneforge.methods.bitfit import apply_bitfit
from tuneforge.methods.freeze import apply_freeze
from tuneforge.methods.full import apply_full
from tuneforge.methods.ia3 import apply_ia3
from tuneforge.methods.lora import apply_lora
from tuneforge.methods.virtual_tokens import apply_prefix_tuning, apply_prompt_tuning

METHODS: dict[str, Callable] = {
    "full": apply_full,
    "freeze": apply_freeze,
    "bitfit": apply_bitfit,
    "adapter": apply_adapter,
    "lora": apply_lora,
    "ia3": apply_ia3,
    "prompt-tuning": apply_prompt_tuning,
    "prefix-tuning": apply_prefix_tuning,
}
PEFT_METHODS = ("lora", "ia3", "prompt-tuning", "prefix-tuning")  # saved in peft's adapter format
DELTA_METHODS = ("bitfit", "adapter")  # saved as tuneforge_adapter.{json,safetensors}


def apply_method(model, cfg):
    return METHODS[cfg.method](model, cfg)


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts; peft's frozen spare copy of the head is not counted."""
    params = [p for n, p in model.named_parameters() if ".original_module." not in n]
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
