"""One options model per task (the config's ``task_options:``), each validated against its own task.

The config picks the model by ``task:`` (a discriminated union on the hidden ``task`` field), so an
option of another task fails with a line naming the task it belongs to. ``check(cfg)`` holds the
checks that need the rest of the config (the window and stride of ``model:``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tuneforge.prompting.label_specs import LabelSpec
from tuneforge.util.strict import Strict


class TaskOptions(Strict):
    """What every task's options share: the hidden discriminator, filled in from ``task:``."""

    task: str = Field(exclude=True)

    def check(self, cfg: Any) -> None:
        """Checks against the rest of the config; raise ValueError with the keys named."""

    def needs_train_data(self) -> bool:
        """Whether the task needs ``data.train`` (zero-shot classification does not)."""
        return True

    def trains_model(self) -> bool:
        """Whether training changes the model's weights (not so for zero-shot or a head on frozen embeddings)."""
        return True


class TokenClassificationOptions(TaskOptions):
    task: Literal["token-classification"] = Field("token-classification", exclude=True)
    label_all_tokens: bool = Field(False, description="Label every sub-token, not only a word's first.")
    decode: Literal["viterbi", "argmax"] = Field(
        "viterbi", description="viterbi: the best valid BIO sequence; argmax: per-word argmax, then repair."
    )

    def check(self, cfg: Any) -> None:
        m = cfg.model
        if m.stride >= m.max_length // 2:
            raise ValueError(f"model.stride ({m.stride}) must be less than half of model.max_length ({m.max_length})")


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
        "tasks/out_of_scope.py)."
    )
    oos_in_scope_budget: float = Field(
        0.02, ge=0, le=1, description="in-scope-budget: in-scope accuracy the threshold may cost on dev."
    )
    top_k: int = Field(5, ge=1, description="Labels with probabilities returned by predict.")
    long_texts: Literal["window", "truncate", "error"] = Field(
        "window", description="A text longer than model.max_length: overlapping windows (trained on each, scored "
        "by their mean probability), its first window only, or an error naming it. Counted in the report either way."
    )

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
        es = cfg.training.early_stopping
        if es.metric == "perplexity" and es.mode == "max":
            raise ValueError("training.early_stopping.metric perplexity is better when lower: set "
                             "training.early_stopping.mode: min")


class EmbeddingClassificationOptions(TaskOptions):
    """Classify by sentence embeddings: zero-shot from label descriptions, schema-guided, or few-shot contrastive."""

    task: Literal["embedding-classification"] = Field("embedding-classification", exclude=True)
    labels: list[LabelSpec] = Field(default_factory=list, description="Labels with a name and, optionally, a "
                                    "description and example phrases.")
    labels_file: str | None = Field(None, description="A YAML/JSON file of labels (a list, a mapping name: "
                                    "description, or an SGD schema); config entries win over it.")
    label_text: Literal["description", "name"] = Field(
        "description", description="What stands for a label: its description (its name when it has none), or its "
        "name alone.")
    contrastive: Literal["none", "pairs", "descriptions"] = Field(
        "none", description="What training does: none (zero-shot, or a head on frozen embeddings); pairs "
        "(SetFit-style: examples of one label pulled together, of others pushed apart); descriptions "
        "(schema-guided: each text pulled to its label's description, away from the other candidates').")
    head: Literal["auto", "similarity", "logistic"] = Field(
        "auto", description="similarity: the nearest label embedding (no examples needed); logistic: a light "
        "head fitted on the training examples' embeddings; auto: logistic after pairs, else similarity.")
    pairs_per_example: int = Field(20, ge=1, le=1000, description="pairs: positive partners drawn per example "
                                   "(negatives are the other labels' texts in the batch).")
    max_pairs: int = Field(50_000, ge=1, description="pairs: at most this many pairs in all (a seeded sample).")
    scale: float = Field(20.0, gt=0, le=100, description="Cosine similarities are multiplied by this before the "
                         "softmax (an inverse temperature).")
    logistic_c: float = Field(1.0, gt=0, description="logistic head: inverse regularization strength, as "
                              "scikit-learn's LogisticRegression(C).")
    out_of_scope_label: str | None = Field(None, description="The answer for texts that fit no label (e.g. oos); "
                                           "allowed in dev/test only.")
    oos_threshold: float | Literal["auto"] | None = Field(
        None, description="Below this top score (cosine similarity for the similarity head, probability for "
        "logistic) the answer is out_of_scope_label; auto: tuned on dev.")
    oos_calibration: Literal["in-scope-budget", "balanced"] = Field(
        "in-scope-budget", description="How oos_threshold: auto is tuned on dev: in-scope-budget or balanced (see "
        "tasks/out_of_scope.py)."
    )
    oos_in_scope_budget: float = Field(
        0.02, ge=0, le=1, description="in-scope-budget: in-scope accuracy the threshold may cost on dev."
    )
    top_k: int = Field(5, ge=1, description="Labels with scores returned by predict.")

    @model_validator(mode="after")
    def _consistent(self) -> EmbeddingClassificationOptions:
        if self.oos_threshold is not None and not self.out_of_scope_label:
            raise ValueError("task_options.oos_threshold needs task_options.out_of_scope_label (e.g. oos)")
        if self.contrastive == "descriptions" and self.head == "logistic":
            raise ValueError("task_options.contrastive: descriptions trains the encoder to match descriptions; "
                             "use head: similarity (or auto)")
        if isinstance(self.oos_threshold, float) and not -1 < self.oos_threshold < 1:
            raise ValueError("task_options.oos_threshold must lie between -1 and 1, or be 'auto'")
        return self

    @property
    def head_kind(self) -> str:
        if self.head != "auto":
            return self.head
        return "logistic" if self.contrastive == "pairs" else "similarity"

    def trains_model(self) -> bool:
        return self.contrastive != "none"

    def needs_train_data(self) -> bool:
        return self.trains_model() or self.head_kind == "logistic"

    def check(self, cfg: Any) -> None:
        from tuneforge.tasks import TASKS

        allowed = TASKS[self.task].methods
        if allowed and cfg.method not in allowed:
            raise ValueError(f"method {cfg.method} cannot train task {self.task} (choose from {', '.join(allowed)})")
        if not self.needs_train_data() and not self.labels and not self.labels_file:
            raise ValueError("task_options: zero-shot classification needs labels (task_options.labels or "
                             "task_options.labels_file)")


class PretrainOptions(TaskOptions):
    """Continued pretraining on unlabelled text (plain text, one document per line, or JSONL's data.text_field)."""

    task: Literal["pretrain"] = Field("pretrain", exclude=True)
    objective: Literal["auto", "mlm", "causal"] = Field(
        "auto", description="mlm: masked tokens (encoders); causal: the next token (decoders); auto: from the "
        "model's config (a decoder or causal-LM architecture: causal, else mlm).")
    mask_rate: float = Field(0.15, gt=0, lt=1, description="mlm: share of tokens chosen for the loss (of them 80% "
                             "become [MASK], 10% a random token, 10% stay); special tokens never.")
    whole_word_masking: bool = Field(False, description="mlm: choose whole words, all their sub-word pieces "
                                     "together, instead of single tokens.")

    def check(self, cfg: Any) -> None:
        es = cfg.training.early_stopping
        if es.metric is None and es.mode == "max":
            es.mode = "min"  # the default metric, perplexity, is better when lower
        elif es.metric in ("perplexity", "loss") and es.mode == "max":
            raise ValueError(f"training.early_stopping.metric {es.metric} is better when lower: set "
                             "training.early_stopping.mode: min")
