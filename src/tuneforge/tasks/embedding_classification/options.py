"""The options of embedding classification: labels, contrastive training, head, out-of-scope."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tuneforge.prompting.label_specs import LabelSpec
from tuneforge.tasks.common.options import TaskOptions


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
        "tasks/classification/out_of_scope.py)."
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
        if not self.needs_train_data() and not self.labels and not self.labels_file:
            raise ValueError("task_options: zero-shot classification needs labels (task_options.labels or "
                             "task_options.labels_file)")
