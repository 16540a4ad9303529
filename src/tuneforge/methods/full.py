"""Full fine-tuning: every parameter trains."""

from __future__ import annotations


def apply_full(model, cfg, task_type: str | None):
    for param in model.parameters():
        param.requires_grad_(True)
    return model
