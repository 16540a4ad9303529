"""The task head always trains, whatever the method (a well-known failure elsewhere is a frozen or lost head)."""

from __future__ import annotations


def train_head_only_outside(model) -> None:
    """Make every parameter outside the backbone (``model.base_model``) trainable: that is the head."""
    base = getattr(model, "base_model", model)
    backbone = {id(p) for p in base.parameters()}
    for param in model.parameters():
        if id(param) not in backbone:
            param.requires_grad_(True)


def head_module_names(model) -> list[str]:
    """Top-level child modules outside the backbone (``classifier``, ``score``, ``dropout``…) holding parameters."""
    base = getattr(model, "base_model", model)
    return [name for name, child in model.named_children()
            if child is not base and any(True for _ in child.parameters())]
