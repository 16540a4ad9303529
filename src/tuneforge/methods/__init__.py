"""Adaptation methods: each one takes a model with its task head and decides what trains.

A registry from the config's ``method:`` name to a function ``apply(model, cfg) -> model``; tasks
know nothing of methods and methods nothing of tasks.
"""

from __future__ import annotations

from collections.abc import Callable

from tuneforge.methods.freeze import apply_freeze
from tuneforge.methods.full import apply_full

METHODS: dict[str, Callable] = {"full": apply_full, "freeze": apply_freeze}


def apply_method(model, cfg):
    return METHODS[cfg.method](model, cfg)


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
