"""One options model per adaptation method (the config's ``freeze:``, ``lora:``, ``adapter:``… sections)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tuneforge.options_base import Strict


class FreezeConfig(Strict):
    """Options of ``method: freeze``."""

    trainable_layers: int = Field(2, ge=0, description="Top transformer layers that train (0: head only).")
    train_embeddings: bool = False
    cache_frozen: bool = Field(
        False, description="Compute the frozen layers' outputs once and reuse them every epoch."
    )


class LoraOptions(Strict):
    """Options of ``method: lora`` (peft's LoraConfig)."""

    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    target_modules: list[str] | None = Field(None, description="Module names to adapt; default: every backbone Linear.")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")
    train_layer_norm: bool = Field(False, description="Also train the LayerNorm weights (saved by peft).")


class IA3Options(Strict):
    """Options of ``method: ia3`` (peft's IA3Config)."""

    target_modules: list[str] | None = None
    feedforward_modules: list[str] | None = None


class VirtualTokenOptions(Strict):
    """Options of ``method: prompt-tuning`` and ``method: prefix-tuning``."""

    num_virtual_tokens: int = Field(20, ge=1)


class AdapterOptions(Strict):
    """Options of ``method: adapter`` (bottleneck adapters, written here: peft has none)."""

    # Defaults from the Banking77 comparison (docs/benchmarks.md): pfeiffer at 16 ended 9 points under full
    # fine-tuning in 5 epochs; houlsby at 8 with trained LayerNorms fits in the same budget.
    placement: Literal["houlsby", "pfeiffer"] = Field(
        "houlsby", description="houlsby: after attention and feed-forward; pfeiffer: after feed-forward only."
    )
    reduction_factor: int = Field(8, ge=1, description="hidden size / bottleneck size.")
    non_linearity: Literal["relu", "gelu", "tanh"] = "relu"
    train_layer_norm: bool = Field(True, description="Also train the layers' LayerNorm weights (Houlsby et al.).")
