"""BitFit (Ben Zaken et al., 2022): train only the backbone's bias terms, plus the task head."""

from __future__ import annotations

from tuneforge.errors import ConfigError
from tuneforge.methods.heads import train_head_only_outside


def apply_bitfit(model, cfg, task_type: str | None):
    base = getattr(model, "base_model", model)
    biases = [p for name, p in base.named_parameters() if name.endswith(".bias")]
    if not biases:
        raise ConfigError(f"method 'bitfit': model '{cfg.model.name}' ({type(model).__name__}) has no bias terms "
                          "(e.g. Llama-style models); choose lora or adapter")
    for param in model.parameters():
        param.requires_grad_(False)
    for param in biases:
        param.requires_grad_(True)
    train_head_only_outside(model)
    return model
