"""The options of generation: prompt format, packing, decoding and the metrics of every evaluation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tuneforge.tasks.common.options import TaskOptions
from tuneforge.tasks.generation.metrics import HIGHER_IS_BETTER, METRICS

GENERATION_METRICS = ("rouge", "bleu", "chrf", "slot_recall", "perplexity")


class GenerationOptions(TaskOptions):
    task: Literal["generation"] = Field("generation", exclude=True)
    instruction: str | None = Field(
        None, description="Put before a plain prompt in its user message (e.g. 'Summarize in one sentence.')."
    )
    system: str | None = Field(None, description="A system message for every prompt that has none.")
    chat_template: Literal["auto", "none"] = Field(
        "auto", description="auto: the model's chat template when it has one; none: 'User: ... Assistant:' text."
    )
    assistant_turns: Literal["all", "last"] = Field(
        "all", description="Chat records: the loss covers every assistant turn, or only the final reply."
    )
    too_long: Literal["error", "truncate-left"] = Field(
        "error", description="A prompt plus reply longer than model.max_length: an error naming the record, or cut "
        "the prompt from the left (oldest turns first), counted in the report."
    )
    packing: bool | None = Field(
        None, description="Pack several examples into each training row (attention and positions kept inside each "
        "example); default: on, unless the method prepends virtual tokens (prompt/prefix tuning)."
    )
    metrics: list[Literal[GENERATION_METRICS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["rouge"], min_length=1,
        description="Scores of every evaluation: rouge (1/2/L), bleu, chrf, slot_recall, perplexity.",
    )
    eval_examples: int | None = Field(
        None, ge=1, description="Decode at most this many examples per evaluation (a fixed, seeded sample in file "
        "order); null: all of them."
    )

    def check(self, cfg: Any) -> None:
        from tuneforge.methods import METHODS

        virtual = METHODS[cfg.method].virtual_tokens
        if self.packing is None:
            self.packing = not virtual
        elif self.packing and virtual:
            raise ValueError(f"task_options.packing cannot be used with method {cfg.method} (peft drops the "
                             "position ids that keep packed examples apart); set task_options.packing: false")
        # Selection (best checkpoint, early stopping, tune's direction) follows the metric's own direction: a
        # mode left at its default takes it; a mode set against it is refused (the run would keep its worst).
        es = cfg.training.early_stopping
        metric = es.metric or self.main_metric()
        better = "max" if HIGHER_IS_BETTER.get(metric, True) else "min"
        if "mode" not in es.model_fields_set:
            es.mode = better
        elif es.mode != better:
            raise ValueError(f"training.early_stopping.metric {metric} is better when "
                             f"{'higher' if better == 'max' else 'lower'}: set training.early_stopping.mode: "
                             f"{better}")

    def main_metric(self) -> str:
        """The first text metric's headline score (rougeL for rouge), or perplexity when it is the only one."""
        text = [m for m in self.metrics if m != "perplexity"]
        return METRICS[text[0]][-1] if text else "perplexity"
