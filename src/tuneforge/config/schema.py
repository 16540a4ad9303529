"""The run config: a typed, validated schema, read from YAML with ``--set`` overrides.

Everything is checked before any model or data loads. An unknown key fails with its full path
and the closest valid name; a bad value fails with its path and what was expected.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, field_validator, model_validator

from tuneforge.config.privacy import PrivacyConfig
from tuneforge.engine.tracking import TRACKERS
from tuneforge.methods import DEFAULT_METHOD, METHODS
from tuneforge.methods.options import AdapterOptions, FreezeConfig, IA3Options, LoraOptions, VirtualTokenOptions
from tuneforge.tasks import DEFAULT_TASK, TASKS
from tuneforge.util.strict import Strict


class ModelConfig(Strict):
    name: str = Field("minilm", description="Registry name (minilm, smollm2-135m), local folder or hub id; "
                             "default: the task's (minilm; smollm2-135m for generation).")
    max_length: int = Field(128, ge=8, le=8192, description="Window length in sub-word tokens.")
    stride: int = Field(32, ge=0, description="Sub-word tokens shared by neighbouring windows.")
    dropout: float | None = Field(None, ge=0.0, lt=1.0, description="Overrides every dropout probability of the model.")


class SplitConfig(Strict):
    """Carve missing dev/test splits out of train (seeded, so reruns see the same split)."""

    dev: float = Field(0.0, ge=0.0, lt=0.5, description="Share of train carved out as dev if data.dev is not "
                       "given (< 0.5; 0: none).")
    test: float = Field(0.0, ge=0.0, lt=0.5, description="Share of train carved out as test if data.test is not "
                        "given (< 0.5; 0: none).")
    seed: int = Field(13, description="Seed of the carved splits and of data.train_limit's sample.")
    stratify: bool = Field(True, description="Classification tasks: keep label proportions in carved splits.")


class DataConfig(Strict):
    train: str | None = Field(None, description="Training data; required unless the task needs none (zero-shot "
                              "classification from label descriptions).")
    dev: str | None = Field(None, description="Dev data: scored while training, picks the best checkpoint; "
                            "else split.dev.")
    test: str | None = Field(None, description="Test data, scored once at the end (report.json); else "
                             "split.test.")
    format: Literal["auto", "conll", "jsonl", "csv", "json-splits", "semeval", "squad", "sgd",
                    "squad-translation", "sgd-intents"] = Field(
        "auto", description="auto: by suffix (.jsonl, .csv, .txt for relations, a '#list' fragment for json-splits); "
        "question-answering reads SQuAD JSON. generation: jsonl (prompt/completion or chat messages), sgd "
        "(Schema-Guided Dialogue: the conversation so far -> the assistant's next turn), squad-translation "
        "(a SQuAD file's questions -> the same questions, by id, in data.translation_target). "
        "embedding-classification also reads sgd-intents (each user turn of a Schema-Guided Dialogue file -> the "
        "active intent of each service it mentions, chosen among that service's intents and NONE)."
    )
    scheme: Literal["bio", "iob1"] = Field("bio", description="token-classification: tag scheme of the "
                                           "files: bio, or iob1 (converted to BIO).")
    invalid_bio: Literal["repair", "error"] = Field(
        "repair", description="token-classification: an I-X not following B-X/I-X: repair to B-X (counted, "
        "reported) or error."
    )
    tokens_field: str = Field("tokens", description="token-classification: JSONL/CSV field of a sentence's "
                              "tokens.")
    tags_field: str = Field("tags", description="token-classification: JSONL/CSV field of a sentence's tags, "
                            "one per token.")
    text_field: str = Field("text", description="JSONL/CSV/JSON field of the text (sentence-level tasks).")
    label_field: str = Field("label", description="JSONL/CSV/JSON field of the label (multi-label JSONL: a list of "
                             "labels).")
    text_pair_field: str | None = Field(None, description="Column/field of the second text of a text pair.")
    label_separator: str | None = Field(None, description="CSV multi-label: separator inside the label column.")
    prompt_field: str = Field("prompt", description="generation: the prompt (a string, or a list of strings "
                              "joined with spaces).")
    completion_field: str = Field("completion", description="generation: the reply (a string, or a list of "
                                  "reference strings: the first trains, all score).")
    messages_field: str = Field("messages", description="generation: chat records, a list of {role, content}.")
    values_field: str | None = Field(None, description="generation: a list of strings a right reply must contain "
                                     "(scored as slot_recall).")
    translation_target: str | None = Field(None, description="generation: squad-translation's SQuAD file whose "
                                           "questions (matched by id) are the translations.")
    split: SplitConfig = Field(default_factory=SplitConfig, description="Carve missing dev/test splits out of "
                               "train (seeded, so reruns see the same split).")
    train_limit: int | None = Field(None, ge=1, description="Train on a seeded sample of this many train examples "
                                    "(taken after dev/test are carved), in file order.")
    prepared_by: str | None = Field(None, description="The command (run from the checkout) that makes the data "
                                    "files, named by the error when one is missing.")

    def require_prepared(self) -> None:
        """A missing data file of a config whose data must be made first: one line naming the command."""
        if not self.prepared_by:
            return
        from pathlib import Path

        from tuneforge.errors import DataError

        for key in ("train", "dev", "test"):
            value = getattr(self, key)
            if value and not value.startswith("pkg:") and not Path(value.split("#", 1)[0]).is_file():
                raise DataError(f"data.{key}: {value}: file not found; make the data first: {self.prepared_by}")


class EarlyStoppingConfig(Strict):
    metric: str | None = Field(None, description="Dev metric to select on; default: the task's main metric.")
    mode: Literal["max", "min"] = Field("max", description="max: a higher metric is better; min: a lower one "
                                        "(e.g. perplexity).")
    patience: int | None = Field(None, ge=1, description="Evaluations without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0.0, description="Smallest gain of the metric that counts as an improvement.")


TrackerName = Literal[tuple(TRACKERS)]  # type: ignore[valid-type]


class TrainingConfig(Strict):
    epochs: float = Field(3, gt=0, description="Passes over the training data; fractions allowed (0.5: half an "
                          "epoch).")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps.")
    lr: float | None = Field(None, gt=0, description="Peak learning rate; default: the method's (methods.METHODS).")
    optimizer: Literal["adamw", "sgd"] = Field("adamw", description="adamw, or sgd with training.momentum.")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD only.")
    weight_decay: float = Field(0.01, ge=0, description="Weight decay; biases and LayerNorm weights get none.")
    scheduler: Literal["linear", "cosine", "constant"] = Field(
        "linear", description="Learning rate after warm-up: linear or cosine decay to 0, or constant."
    )
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of the optimizer steps over which the learning "
                                "rate warms up from 0.")
    max_grad_norm: float | None = Field(1.0, gt=0, description="Clip the gradient's global norm to this; null: no "
                                        "clipping.")
    grad_accum: int = Field(1, ge=1, description="Micro-batches per step; a step batch is batch_size x "
                            "grad_accum x processes.")
    batch_size: int = Field(32, ge=1, description="Training examples per micro-batch, per process.")
    batch_tokens: int | None = Field(None, ge=64, description="Token budget per batch instead of batch_size.")
    eval_batch_size: int = Field(64, ge=1, description="Examples per evaluation/prediction batch (see also "
                                 "inference.batch_tokens).")
    group_by_length: bool = Field(True, description="Length-grouped batches: little padding, still shuffled "
                                  "(seeded).")
    eval_every: int | Literal["epoch"] = Field("epoch", description="Score dev at the end of every epoch, or every "
                                               "this many optimizer steps.")
    checkpoint_every: int | Literal["epoch"] = Field(
        "epoch", description="Resumable checkpoint every epoch, or every this many steps (two newest kept)."
    )
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig, description="The dev metric "
                                                "that picks the best checkpoint, and when to stop early.")
    restore_best: bool = Field(True, description="End with the best dev checkpoint's weights, not the last step's.")
    seed: int = Field(42, description="Seed of the new head's weights, batch shuffling and dropout.")
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    retain_memory: bool = Field(
        True, description="Keep freed memory for the next step instead of page-faulting it back in (glibc). Turn "
        "it off when batch shapes vary a lot (retrieval, dialogue-state): large blocks are then returned, "
        "and memory stays flat instead of fragmenting."
    )
    fast_dropout: bool = Field(
        True, description="On CPU, draw dropout masks (attention probabilities included) from 16 random bits per "
        "element (3.5x cheaper than torch's)."
    )
    embedding_row_grad: bool = Field(
        True, description="On one CPU process, keep the word-embedding gradient in one buffer and clear, add and "
        "clip only the rows a step used (same values, less memory traffic).",
    )
    log_every: int = Field(10, ge=1, description="Optimizer steps between loss, lr and tokens/s records in "
                           "metrics.jsonl.")
    progress: bool | None = Field(None, description="Progress bar; default: when stderr is a terminal.")
    report_to: list[TrackerName] = Field(
        default_factory=list, description="Experiment trackers that also get metrics.jsonl's records: tensorboard "
        "(event files in the run's tensorboard/), mlflow (config as params; MLFLOW_TRACKING_URI, else the run's "
        "mlruns/). pip install '.[tracking]' in tuneforge's folder.",
    )

    @field_validator("eval_every", "checkpoint_every")
    @classmethod
    def _positive(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError("must be 'epoch' or a positive number of steps")
        return v

    @model_validator(mode="after")
    def _trackers_once(self) -> TrainingConfig:
        # Whether a tracker's package is installed is checked when training starts (api.train), not here:
        # predicting with a run trained with report_to must not need the tracker.
        twice = next((name for i, name in enumerate(self.report_to) if name in self.report_to[:i]), None)
        if twice:
            raise ValueError(f"training.report_to: {twice} is listed twice")
        return self


class DecodingConfig(Strict):
    """How a generation run writes its replies (evaluation and predict)."""

    strategy: Literal["greedy", "beam", "sample"] = Field(
        "greedy", description="greedy, beam (num_beams) or sample (temperature, top_p, top_k, seed)."
    )
    max_new_tokens: int = Field(64, ge=1, le=4096, description="Most tokens a reply may have (at most 4096).")
    num_beams: int = Field(4, ge=2, description="beam: beams kept per input.")
    temperature: float = Field(1.0, gt=0, le=10, description="sample: divides the logits.")
    top_p: float = Field(1.0, gt=0, le=1, description="sample: nucleus probability mass.")
    top_k: int = Field(50, ge=0, description="sample: candidates kept (0: all).")
    seed: int = Field(0, description="sample: the same inputs, seed and batching give the same replies.")
    stop: list[str] = Field(default_factory=list, description="Strings that end a reply (not included in it).")
    repetition_penalty: float = Field(1.0, gt=0, le=10, description="Above 1 discourages repeating tokens.")
    speculation: Literal["off", "prompt_lookup", "draft_model"] = Field(
        "off", description="greedy: draft tokens cheaply and verify them in one pass of the model, the reply kept "
        "token for token: prompt_lookup copies n-grams from the prompt, draft_model asks decoding.draft_model. "
        "Batched as plain greedy is (each row's drafts verified in the same pass); not with repetition_penalty."
    )
    draft_model: str | None = Field(None, description="speculation: draft_model: a small causal LM with the "
                                    "run's tokenizer (registry name, folder, or a run directory of a full run).")
    max_draft_tokens: int = Field(8, ge=1, le=64, description="speculation: most drafts verified in one pass (the "
                                  "length adapts: longer while all are accepted, shorter after a rejection).")

    @model_validator(mode="after")
    def _speculation(self) -> DecodingConfig:
        if self.speculation == "draft_model" and not self.draft_model:
            raise ValueError("speculation: draft_model needs decoding.draft_model (a model name or folder)")
        if self.speculation != "off" and self.strategy != "greedy":
            raise ValueError(f"speculation keeps greedy replies; it does not go with strategy: {self.strategy}")
        if self.speculation != "off" and self.repetition_penalty != 1:
            raise ValueError("speculation verifies drafts against plain greedy choices; set repetition_penalty: 1")
        return self

    @field_validator("stop")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if any(not s for s in v):
            raise ValueError("stop strings must not be empty")
        return v


class InferenceConfig(Strict):
    """How evaluation and prediction batch and compute."""

    batch_tokens: int | None = Field(
        4096, ge=64, description="Padded-token budget of one evaluation/prediction batch (besides "
        "training.eval_batch_size): long windows go in smaller batches, which run faster on CPU; null: no budget."
    )
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="predict and evaluate: bf16 autocast (fast on CPUs with AVX512-BF16/AMX and on GPUs; "
        "answers can differ slightly). Scores written while training are always fp32."
    )
    engine: Literal["torch", "onnx"] = Field(
        "torch", description="predict and evaluate: onnx runs the run's model in ONNX Runtime (CPU; exported "
        "and checked against PyTorch at the first batch, cached under $TUNEFORGE_CACHE/onnx; later loads open "
        "the checked graph without building the PyTorch model: the fast cold start)."
    )
    decoding: DecodingConfig = Field(default_factory=DecodingConfig, description="generation: how replies are "
                                     "decoded.")

    @model_validator(mode="after")
    def _engine_precision(self) -> InferenceConfig:
        if self.engine == "onnx" and self.precision != "fp32":
            raise ValueError("inference.engine: onnx runs fp32; set inference.precision: fp32")
        return self


Method = Literal[tuple(METHODS)]  # type: ignore[valid-type]
TaskName = Literal[tuple(TASKS)]  # type: ignore[valid-type]
# Each task's options model comes from its registry entry: a new task needs no line here.
AnyTaskOptions = Annotated[Union[tuple(spec.options for spec in TASKS.values())], Field(discriminator="task")]  # noqa: UP007


class RunConfig(Strict):
    name: str = Field("run", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Run directory "
                      "output_dir/<name> (<name>-2, … if taken); letters, digits, . _ -")
    task: TaskName = Field(DEFAULT_TASK, description="What the run trains (see Tasks); its options go under "
                           "task_options.")
    method: Method = Field(DEFAULT_METHOD, description="Adaptation method; default: the task's (lora for generation, "
                                  "else full).")
    freeze: FreezeConfig = Field(default_factory=FreezeConfig, description="Options of method: freeze (the top "
                                 "layers and the head train, the rest is frozen).")
    lora: LoraOptions = Field(default_factory=LoraOptions, description="Options of method: lora (peft's LoraConfig: "
                              "low-rank updates of Linear layers).")
    ia3: IA3Options = Field(default_factory=IA3Options, description="Options of method: ia3 (peft's IA3Config: "
                            "learned rescaling of activations).")
    adapter: AdapterOptions = Field(default_factory=AdapterOptions, description="Options of method: adapter "
                                    "(bottleneck adapters, written here: peft has none).")
    prompt_tuning: VirtualTokenOptions = Field(default_factory=VirtualTokenOptions, description="Options of method: "
                                               "prompt-tuning (trained virtual tokens before the input).")
    prefix_tuning: VirtualTokenOptions = Field(default_factory=VirtualTokenOptions, description="Options of method: "
                                               "prefix-tuning (trained key/value prefixes in every layer).")
    model: ModelConfig = Field(default_factory=ModelConfig, description="The backbone and how texts are cut into "
                               "windows.")
    data: DataConfig = Field(default_factory=DataConfig, description="The data files and how they are read.")
    task_options: AnyTaskOptions = Field(default_factory=TASKS[DEFAULT_TASK].options,
                                         description="The options of the config's task (task:).")
    training: TrainingConfig = Field(default_factory=TrainingConfig, description="The training loop: optimizer, "
                                     "schedule, batches, evaluation and checkpoints.")
    inference: InferenceConfig = Field(default_factory=InferenceConfig, description="How evaluation and prediction "
                                       "batch and compute.")
    output_dir: str = Field("runs", description="Folder of the run directories; relative to the config file's "
                            "folder.")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig, description="Personal data: what check-data "
                                   "reports and `tuneforge redact` masks (docs/privacy.md).")

    def eval_batching(self) -> dict[str, int | None]:
        """batch_size / batch_tokens of evaluation and prediction batches."""
        return {"batch_size": self.training.eval_batch_size, "batch_tokens": self.inference.batch_tokens}

    @model_validator(mode="before")
    @classmethod
    def _options_of_task(cls, data: Any) -> Any:
        """Point ``task_options`` at the options model of ``task:`` (the union's hidden discriminator)."""
        if isinstance(data, dict):
            task = data.get("task", DEFAULT_TASK)
            options = data.get("task_options")
            if options is None or isinstance(options, dict):
                data = {**data, "task_options": {**(options or {}), "task": task}}
            elif isinstance(options, BaseModel):
                data = {**data, "task_options": {**options.model_dump(), "task": task}}
            spec = TASKS.get(task) if isinstance(task, str) else None
            if spec is not None:  # the task's defaults: its usual method and backbone
                if data.get("method") is None:
                    data = {**data, "method": spec.default_method or DEFAULT_METHOD}
                model = data.get("model")
                if model is None or isinstance(model, dict) and model.get("name") is None:
                    data = {**data, "model": {**(model or {}), "name": spec.default_model}}
        return data

    @model_validator(mode="after")
    def _fill_and_cross_check(self) -> RunConfig:
        if self.training.lr is None:
            self.training.lr = METHODS[self.method].default_lr
        allowed = TASKS[self.task].methods
        if allowed and self.method not in allowed:
            raise ValueError(f"method {self.method} cannot train task {self.task} (choose from {', '.join(allowed)})")
        self.task_options.check(self)
        if self.data.train is None and self.task_options.needs_train_data():
            raise ValueError("missing required key 'data.train'")
        return self
