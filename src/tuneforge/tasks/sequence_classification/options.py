"""The options of sequence classification: multi-label, class weights, out-of-scope."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from tuneforge.tasks.common.options import TaskOptions


class SequenceClassificationOptions(TaskOptions):
    task: Literal["sequence-classification"] = Field("sequence-classification", exclude=True)
    multi_label: bool = Field(False, description="Any number of labels per text.")
    class_weights: Literal["none", "balanced"] = Field(
        "none", description="Single-label: none, or balanced (weight the loss by inverse label frequency)."
    )
    out_of_scope_label: str | None = Field(
        None, description="The label for inputs that fit no intent (e.g. oos); allowed in dev/test only."
    )
    oos_threshold: float | Literal["auto"] | None = Field(
        None, description="Below this top probability the answer is out_of_scope_label; auto: tuned on dev."
    )
    oos_calibration: Literal["in-scope-budget", "balanced"] = Field(
        "in-scope-budget", description="How oos_threshold: auto is tuned on dev: in-scope-budget or balanced (see "
        "tasks/classification/out_of_scope.py)."
    )
    oos_in_scope_budget: float = Field(
        0.02, ge=0, le=1, description="in-scope-budget: in-scope accuracy the threshold may cost on dev."
    )
    top_k: int = Field(5, ge=1, description="Labels with probabilities returned by predict.")
    long_texts: Literal["window", "truncate", "error"] = Field(
        "window", description="A text longer than model.max_length: overlapping windows (trained on each, scored "
        "by their mean probability), its first window only, or an error naming it. Counted in the report either way."
    )

    def over_window(self) -> str:
        return {"window": "long_texts: window: split into overlapping windows, scored by their mean probability",
                "truncate": "long_texts: truncate: only the first window is read",
                "error": "long_texts: error: training stops at the first, naming it"}[self.long_texts]

    @field_validator("oos_threshold")
    @classmethod
    def _probability(cls, v: float | str | None) -> float | str | None:
        if isinstance(v, float) and not 0 < v < 1:
            raise ValueError("must be a probability between 0 and 1, or 'auto'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SequenceClassificationOptions:
        if self.oos_threshold is not None and not self.out_of_scope_label:
            raise ValueError("task_options.oos_threshold needs task_options.out_of_scope_label (e.g. oos)")
        if self.multi_label and (self.out_of_scope_label or self.class_weights != "none"):
            raise ValueError("task_options.multi_label cannot be combined with out_of_scope_label or class_weights")
        return self
