"""One options model per adaptation method (the config's ``freeze:``, ``lora:``, ``adapter:``… sections)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tuneforge.util.strict import Strict


class FreezeConfig(Strict):
    """Options of ``method: freeze``."""

    trainable_layers: int = Field(2, ge=0, description="Top transformer layers that train (0: head only).")
    train_embeddings: bool = Field(False, description="Also train the embeddings (then cache_frozen has no "
                                   "effect).")
    cache_frozen: bool = Field(
        False, description="Compute the frozen layers' outputs once and reuse them every epoch."
    )


class LoraOptions(Strict):
    """Options of ``method: lora`` (peft's LoraConfig)."""

    r: int = Field(8, ge=1, description="Rank of the low-rank updates.")
    alpha: int = Field(16, ge=1, description="Scale of the updates: they are multiplied by alpha / r.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout probability on the input of the low-rank path.")
    target_modules: list[str] | None = Field(None, description="Module names to adapt; default: every backbone Linear.")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")
    train_layer_norm: bool = Field(False, description="Also train the LayerNorm weights (saved by peft).")


class IA3Options(Strict):
    """Options of ``method: ia3`` (peft's IA3Config)."""

    target_modules: list[str] | None = Field(None, description="Modules to rescale; default: peft's for the model "
                                             "(keys, values, feed-forward).")
    feedforward_modules: list[str] | None = Field(None, description="Which target modules are feed-forward "
                                                  "(rescaled on their input); default: peft's.")


class VirtualTokenOptions(Strict):
    """Options of ``method: prompt-tuning`` and ``method: prefix-tuning``."""

    num_virtual_tokens: int = Field(20, ge=1, description="Virtual tokens to train (prompt: before the input; "
                                    "prefix: in every layer).")


class AdapterOptions(Strict):
    """Options of ``method: adapter`` (bottleneck adapters, written here: peft has none)."""

    # Defaults from the Banking77 comparison (docs/benchmarks.md): pfeiffer at 16 ended 9 points under full
    # fine-tuning in 5 epochs; houlsby at 8 with trained LayerNorms fits in the same budget.
    placement: Literal["houlsby", "pfeiffer"] = Field(
        "houlsby", description="houlsby: after attention and feed-forward; pfeiffer: after feed-forward only."
    )
    reduction_factor: int = Field(8, ge=1, description="hidden size / bottleneck size.")
    non_linearity: Literal["relu", "gelu", "tanh"] = Field(
        "relu", description="Activation inside the bottleneck: relu, gelu or tanh."
    )
    train_layer_norm: bool = Field(True, description="Also train the layers' LayerNorm weights (Houlsby et al.).")
