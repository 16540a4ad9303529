"""The options of relation extraction: entity markers and the relation direction."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tuneforge.tasks.common.options import TaskOptions


class RelationExtractionOptions(TaskOptions):
    task: Literal["relation-extraction"] = Field("relation-extraction", exclude=True)
    class_weights: Literal["none", "balanced"] = Field(
        "none", description="none, or balanced (weight the loss by inverse label frequency)."
    )
    top_k: int = Field(5, ge=1, description="Labels with probabilities returned by predict.")

    # Relation extraction runs on the sequence-classification code, where these are options; a relation
    # has exactly one label and no out-of-scope answer, so here they are fixed, not settable.
    multi_label = property(lambda self: False)
    out_of_scope_label = property(lambda self: None)
    oos_threshold = property(lambda self: None)

    def over_window(self) -> str:
        return "cropped around the two entities"
