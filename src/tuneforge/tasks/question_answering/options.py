"""The options of extractive question answering: document stride, answer lengths, no-answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tuneforge.tasks.common.options import TaskOptions


class QuestionAnsweringOptions(TaskOptions):
    task: Literal["question-answering"] = Field("question-answering", exclude=True)
    squad_version: Literal["auto", "1.1", "2.0"] = Field(
        "auto", description="1.1: every question has an answer; 2.0: unanswerable ones allowed; auto: the file's."
    )
    max_answer_length: int = Field(30, ge=1, description="Longest answer, in sub-word tokens.")
    n_best: int = Field(20, ge=1, description="Start and end candidates per window in post-processing.")
    max_question_length: int = Field(64, ge=4, description="Longer questions are cut to this many sub-words.")
    null_threshold: float | Literal["auto"] = Field(
        "auto", description="SQuAD 2.0: answer nothing when the null score beats the best span by more than "
        "this; auto: tuned on dev for F1 (0 without a dev set)."
    )

    def check(self, cfg: Any) -> None:
        m = cfg.model
        room = m.max_length - self.max_question_length - 3  # [CLS] question [SEP] context [SEP]
        if room < 16:
            raise ValueError(f"model.max_length ({m.max_length}) leaves {room} tokens of context after "
                             f"task_options.max_question_length ({self.max_question_length}); raise max_length")
        if m.stride >= room:
            raise ValueError(f"model.stride ({m.stride}) must be less than the context room of a window "
                             f"({room} = max_length - max_question_length - 3)")
