"""The options of each strategy: a section of the plan (and of ``tuneforge update``) each."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tuneforge.methods import METHODS
from tuneforge.util.strict import Strict


class ReplayOptions(Strict):
    buffer_size: int | None = Field(None, ge=1, description="Examples the rehearsal buffer holds at most.")
    buffer_fraction: float = Field(0.02, gt=0.0, le=1.0, description="Without buffer_size: this share of all "
                                   "the plan's training examples.")
    repeat: int | Literal["balanced"] = Field(
        "balanced", description="How many times each buffered example is trained on per epoch; balanced: as often as "
        "makes an old label as frequent as a new one, but never more buffered than new examples in a stage.")

    def limit(self, total_examples: int) -> int:
        return self.buffer_size or max(1, int(self.buffer_fraction * total_examples))


class EwcOptions(Strict):
    weight: float = Field(5000.0, ge=0.0, description="lambda: the penalty's strength (it multiplies "
                          "0.5 * sum F (theta - theta*)^2 per example).")
    decay: float = Field(0.9, ge=0.0, le=1.0, description="gamma of online EWC: the old Fisher's weight when a "
                         "stage's is added.")
    fisher_examples: int = Field(1000, ge=1, description="Training examples of a stage its Fisher is estimated on.")


class LwfOptions(Strict):
    weight: float = Field(1.0, ge=0.0, description="The distillation term's weight.")
    temperature: float = Field(2.0, gt=0.0, description="Softmax temperature of the previous model's targets.")
    pseudo_label: float | None = Field(0.5, gt=0.0, le=1.0, description="Token classification: a word tagged O "
                                       "that the previous model tags as an earlier type with at least this "
                                       "probability is trained towards that tag (null: distillation only).")
    distil_on: Literal["all", "background"] = Field(
        "background", description="Token classification: the words distilled. background: only the words the "
        "new stage tags O, the only ones whose labels say nothing about the earlier types (Monaikul et al., "
        "2021), so a new type's words learn from their labels alone; all: every word.")


# Methods saved apart from the backbone can share it; the first that can share one in memory is the default.
ADAPTERS = [name for name, spec in METHODS.items() if spec.save_format != "model"]
DEFAULT_ADAPTER = next(name for name, spec in METHODS.items() if spec.shares_backbone)


class AdapterPerStageOptions(Strict):
    method: str = Field(DEFAULT_ADAPTER, description="The adapter each stage trains: a method that leaves the "
                        "backbone as it is (its options come from the config's section of it).")
    lr: float | None = Field(None, gt=0.0, description="The adapters' peak learning rate; default: the method's.")
    epochs: int | None = Field(None, ge=1, description="Epochs of each stage's adapter; default: the config's "
                               "training.epochs (a small adapter often needs more than full fine-tuning does).")
    router: Literal["nearest-class", "confidence"] = Field(
        "nearest-class", description="Sequence classification: which stage's adapter answers a text. "
        "nearest-class: the stage of the class centroid (mean embedding by the frozen backbone) nearest the text; "
        "confidence: the adapter most sure of its answer. Token classification always asks every adapter and "
        "merges their entities (one sentence holds entities of several stages).")

    @field_validator("method")
    @classmethod
    def _an_adapter(cls, value: str) -> str:
        if value not in ADAPTERS:
            raise ValueError(f"'{value}' is not an adapter method (choose from {', '.join(ADAPTERS)})")
        return value
