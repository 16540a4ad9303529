"""LoRA (Hu et al., 2021) and DoRA (Liu et al., 2024) through peft: low-rank updates of chosen linear layers."""

from __future__ import annotations

from tuneforge.methods.peft_wrap import peft_task_type, wrap


def apply_lora(model, cfg):
    from peft import LoraConfig

    o = cfg.lora
    config = LoraConfig(task_type=peft_task_type(model), r=o.r, lora_alpha=o.alpha, lora_dropout=o.dropout,
                        target_modules=o.target_modules, use_dora=o.use_dora)
    if config.task_type is None and o.target_modules is None:
        config.target_modules = ["query", "value"] if _has(model, "query") else ["q_proj", "v_proj"]
    targets = o.target_modules or config.target_modules or "peft's default"
    return wrap(model, config, cfg, f"lora.target_modules={targets}")


def _has(model, name: str) -> bool:
    return any(n.endswith(f".{name}") for n, _ in model.named_modules())
