"""Prompt tuning (Lester et al., 2021) and prefix tuning (Li & Liang, 2021) through peft.

Both learn virtual tokens and leave every model weight frozen. peft's prompt tuning prepends its
virtual tokens to the input, and for token classification it returns logits for them too: the
wrapper here drops those positions, so labels and predictions line up with the real tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_outputs import TokenClassifierOutput

from tuneforge.errors import ConfigError
from tuneforge.methods.peft_wrap import wrap


class DropVirtualTokens(nn.Module):
    """A prompt-tuned token classifier whose logits cover only the real input tokens."""

    def __init__(self, peft_model: nn.Module, num_virtual_tokens: int) -> None:
        super().__init__()
        self.peft_model = peft_model
        self.num_virtual_tokens = num_virtual_tokens

    def forward(self, labels: torch.Tensor | None = None, **batch: torch.Tensor) -> TokenClassifierOutput:
        logits = self.peft_model(**batch).logits[:, self.num_virtual_tokens:]
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return TokenClassifierOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder, **kwargs) -> None:
        self.peft_model.save_pretrained(folder, **kwargs)


def _check(model, cfg, task_type: str | None) -> str:
    if task_type is None:
        raise ConfigError(f"method '{cfg.method}' does not apply to task {cfg.task} with model '{cfg.model.name}' "
                          f"({type(model).__name__}): peft's virtual tokens need a transformers task model; "
                          "use lora, ia3, adapter or bitfit")
    return task_type


def apply_prompt_tuning(model, cfg, task_type: str | None):
    from peft import PromptTuningConfig

    n = cfg.prompt_tuning.num_virtual_tokens
    config = PromptTuningConfig(task_type=_check(model, cfg, task_type), num_virtual_tokens=n)
    wrapped = wrap(model, config, cfg, f"prompt_tuning.num_virtual_tokens={n}")
    return DropVirtualTokens(wrapped, n) if config.task_type == "TOKEN_CLS" else wrapped


def wrap_loaded_prompt(model, cfg):
    """A prompt-tuned token classifier loaded back by peft gets its virtual-token positions dropped again."""
    if model.peft_config[model.active_adapter].task_type == "TOKEN_CLS":
        return DropVirtualTokens(model, cfg.prompt_tuning.num_virtual_tokens)
    return model


def apply_prefix_tuning(model, cfg, task_type: str | None):
    from peft import PrefixTuningConfig

    n = cfg.prefix_tuning.num_virtual_tokens
    config = PrefixTuningConfig(task_type=_check(model, cfg, task_type), num_virtual_tokens=n)
    return wrap(model, config, cfg, f"prefix_tuning.num_virtual_tokens={n}")
