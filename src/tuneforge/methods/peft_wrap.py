"""Wrap a task model with a peft method, so the result saves in peft's own adapter format.

The head is listed in ``modules_to_save`` (peft does so itself for its token/sequence classification
task types), so it trains and is saved inside ``adapter_model.safetensors``. A target that matches
no module fails here, before training, with the method, the option and the model named.
"""

from __future__ import annotations

from tuneforge.errors import ConfigError
from tuneforge.methods.heads import head_module_names
from tuneforge.util.quiet import peft_wrapping_quiet


def wrap(model, peft_config, cfg, option: str):
    from peft import get_peft_model

    if peft_config.task_type is None:
        peft_config.modules_to_save = [*(peft_config.modules_to_save or []), *head_module_names(model)]
    try:
        with peft_wrapping_quiet():
            return get_peft_model(model, peft_config)
    except ValueError as exc:
        modules = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"})
        first_line = str(exc).splitlines()[0]
        raise ConfigError(f"method '{cfg.method}': {option} does not fit model '{cfg.model.name}' "
                          f"({type(model).__name__}): {first_line} Linear modules there: "
                          f"{', '.join(modules)}") from None
