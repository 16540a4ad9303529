"""IA3 (Liu et al., 2022) through peft: learned rescaling of keys, values and feed-forward activations."""

from __future__ import annotations

from tuneforge.methods.peft_wrap import wrap


def apply_ia3(model, cfg, task_type: str | None):
    from peft import IA3Config

    o = cfg.ia3
    config = IA3Config(task_type=task_type, target_modules=o.target_modules,
                       feedforward_modules=o.feedforward_modules)
    if config.task_type is None and o.target_modules is None:
        config.target_modules, config.feedforward_modules = ["key", "value", "output.dense"], ["output.dense"]
    targets = o.target_modules or config.target_modules or "peft's default"
    return wrap(model, config, cfg, f"ia3.target_modules={targets}")
