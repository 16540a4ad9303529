"""The options of dialogue state tracking: the schema files, the dialogue context and the switches of the ablations."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from tuneforge.tasks.common.options import TaskOptions


class DialogueStateOptions(TaskOptions):
    task: Literal["dialogue-state"] = Field("dialogue-state", exclude=True)
    # a new service's schema given at predict time; carry-over and context switched off for ablations
    predict_keys: ClassVar[tuple[str, ...]] = ("schema_files", "carry_over", "system_turn", "history_turns")
    schema_files: list[str] = Field(
        default_factory=list, min_length=1, description="SGD schema JSON files of the services (train's and "
        "dev's, say; one file or a list); relative to the config file. predict/evaluate --schema add more.")
    schema_text: Literal["name", "description", "both"] = Field(
        "both", description="What stands for an intent or slot beside the dialogue: its name, its description, or "
        "both (name: description).")
    system_turn: bool = Field(True, description="Read the system turn before the user turn (values it offered "
                              "are taken from there); false: the user turn alone (an ablation).")
    history_turns: int = Field(4, ge=0, le=40, description="Earlier turns read after the current pair (newest "
                               "first), for values offered or said before the previous system turn.")
    carry_over: bool = Field(True, description="A slot may take a value already in another service's state in "
                             "the dialogue (the most similar slot's); false: never (an ablation).")
    status_bias: float | Literal["auto"] = Field(
        "auto", description="Added to the scores of a slot's changed statuses against unchanged when decoding; "
        "auto: tuned on dev (eval_dialogues) for joint goal accuracy.")
    max_span_tokens: int = Field(20, ge=1, description="Longest non-categorical value, in sub-word tokens.")
    train_dialogues: int | None = Field(None, ge=1, description="Train on N dialogues spread evenly over the train "
                                        "file (SGD's files are grouped by service); null: all.")
    eval_dialogues: int | None = Field(None, ge=1, description="Score dev during training on N dialogues spread "
                                       "evenly over it (the final scores use all of them); null: all.")

    @field_validator("schema_files", mode="before")
    @classmethod
    def _one_or_more(cls, files: Any) -> Any:
        return [files] if isinstance(files, str) else files  # one file may be given as it is

    @field_validator("schema_files")
    @classmethod
    def _distinct(cls, files: list[str]) -> list[str]:
        if len(set(files)) != len(files):
            raise ValueError("task_options.schema_files names a file twice")
        return files

    def check(self, cfg: Any) -> None:
        if cfg.model.max_length < 128:
            raise ValueError(f"model.max_length ({cfg.model.max_length}) leaves no room for a service's schema "
                             "beside the dialogue; use 256 or more")
