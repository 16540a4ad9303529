"""SDPA attention whose attention-probability dropout uses fast_dropout's cheap mask on CPU.

With dropout on, PyTorch's CPU ``scaled_dot_product_attention`` falls back to its math kernel and
draws a float per attention probability (``bernoulli_``): about 3% of a MiniLM training step at
batch 32. In training on CPU this computes the same math (scores, mask, softmax, dropout, values)
with fast_dropout's 16-bit mask; in eval, with dropout 0, or on other devices it is transformers'
own SDPA function. It is registered with transformers as ``tuneforge_sdpa`` and swapped in for
training only, so saved configs keep ``sdpa``.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

from tuneforge.engine.speed.fast_dropout import _MaskedScale

NAME = "tuneforge_sdpa"
_LEFT_TO_SDPA = ("position_bias", "cache", "softcap", "s_aux", "sinks")  # extras this math does not apply


def fast_dropout_sdpa(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                      is_causal: bool | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    plain = dropout == 0 or dropout >= 1 or query.device.type != "cpu" or (attention_mask is None and causal)
    if plain or any(kwargs.get(name) is not None for name in _LEFT_TO_SDPA):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    groups = query.shape[1] // key.shape[1]
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    scores = torch.matmul(query, key.transpose(2, 3)) * (scaling if scaling is not None else query.shape[-1] ** -0.5)
    if attention_mask is not None and attention_mask.dtype == torch.bool:  # True = attend, as sdpa_mask builds it
        scores.masked_fill_(~attention_mask, torch.finfo(scores.dtype).min)  # scores is our own fresh tensor
    elif attention_mask is not None:
        scores = scores + attention_mask
    probs = _MaskedScale.apply(torch.softmax(scores, dim=-1), dropout)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), None


AttentionInterface.register(NAME, fast_dropout_sdpa)
ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)


def use_fast_attention_dropout(model: nn.Module) -> PreTrainedModel | None:
    """Switch the model's SDPA attention to ``tuneforge_sdpa``; returns the switched model, or None."""
    target = next((m for m in model.modules() if isinstance(m, PreTrainedModel)), None)
    if target is None or target.config._attn_implementation != "sdpa" or not target._can_set_attn_implementation():
        return None
    target.set_attn_implementation(NAME)
    return target if target.config._attn_implementation == NAME else None


def restore_sdpa(target: PreTrainedModel) -> None:
    target.set_attn_implementation("sdpa")
