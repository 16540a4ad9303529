"""The shared base of tasks with a label set: token classification, sequence classification, relations.

The label set is learnt from train (dev/test labels it lacks fail before training), saved as
``model/labels.json`` beside ``model/task.json`` (what calibration tuned on dev), and given to the
head's config as id2label/label2id, so a saved model reads by itself in plain transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tuneforge.data.examples import ReadResult
from tuneforge.errors import RunError
from tuneforge.tasks.base import IGNORE, TaskBase
from tuneforge.tasks.common.dropout import set_dropout
from tuneforge.tasks.common.model_files import LABELS_FILE, STATE_FILE, read_model_json
from tuneforge.util.atomic import write_json

if TYPE_CHECKING:  # predicting from an ONNX graph runs without it
    import torch



class ClassificationTask(TaskBase):
    name: ClassVar[str]
    auto_model: ClassVar[str]  # the transformers Auto class of the task model
    labels: list[str]
    cfg: Any

    # label set: each subclass says how it is found and checked --------------------------------
    @staticmethod
    def label_set(examples: list[Any], cfg: Any) -> list[str]:
        raise NotImplementedError

    @staticmethod
    def check_labels(split: str, result: ReadResult, labels: list[str], cfg: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def prepare_tokenizer(tokenizer) -> None:
        """Add what the task needs in the vocabulary (relation markers); nothing by default."""

    @staticmethod
    def validate(cfg: Any, splits: dict[str, ReadResult], labels: list[str]) -> None:
        """Checks of the options against the data (e.g. an out-of-scope label that never occurs)."""

    @classmethod
    def from_config(cls, tokenizer, labels: list[str], cfg: Any, state: dict[str, Any] | None = None,
                    train_examples: list[Any] | None = None):
        raise NotImplementedError

    # the Task protocol ------------------------------------------------------------------------
    @classmethod
    def for_training(cls, tokenizer, cfg: Any, splits: dict[str, ReadResult]):
        labels = cls.label_set(splits["train"].examples, cfg)
        for name in ("dev", "test"):
            if name in splits:
                cls.check_labels(name, splits[name], labels, cfg)
        cls.validate(cfg, splits, labels)
        return cls.from_config(tokenizer, labels, cfg, train_examples=splits["train"].examples)

    @classmethod
    def load(cls, tokenizer, cfg: Any, folder: Path):
        labels = read_model_json(Path(folder) / LABELS_FILE, required=True)
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise RunError(f"{Path(folder) / LABELS_FILE}: expected a JSON list of label names")
        state = read_model_json(Path(folder) / STATE_FILE, required=False) or {}
        return cls.from_config(tokenizer, labels, cfg, state=state)

    def save(self, folder: Path) -> None:
        write_json(Path(folder) / LABELS_FILE, self.labels)
        write_json(Path(folder) / STATE_FILE, self.state())

    def check_loaded(self, model, folder: Path) -> None:
        outputs = head_outputs(model)
        if outputs is not None and outputs != len(self.labels):
            raise RunError(f"{Path(folder) / LABELS_FILE}: {len(self.labels)} labels, but the model's head has "
                           f"{outputs} outputs; the run's model folder is damaged")

    def recalibrated(self, cfg: Any):
        return type(self).from_config(self.tokenizer, self.labels, cfg)

    def check(self, split: str, result: ReadResult) -> None:
        self.check_labels(split, result, self.labels, self.cfg)

    def summary(self) -> dict[str, Any]:
        return {"labels": self.labels}

    def state(self) -> dict[str, Any]:
        """What decoding needs besides the weights and labels; saved as model/task.json."""
        return {}

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        """Labelled tokens, labelled examples, or example x label (multi-label)."""
        return int((batch["labels"] != IGNORE).sum())

    # the model --------------------------------------------------------------------------------
    def labelled_config(self, name: str, dropout: float | None, **extra: Any):
        """The backbone's config with this label set (id2label/label2id) and the dropout override."""
        from transformers import AutoConfig

        from tuneforge.models import load_pretrained

        config = load_pretrained(name, AutoConfig, num_labels=len(self.labels), id2label=dict(enumerate(self.labels)),
                                 label2id={label: i for i, label in enumerate(self.labels)}, **extra)
        return set_dropout(config, dropout)

    def build_model(self, name: str, dropout: float | None):
        import transformers

        from tuneforge.models import load_pretrained

        return load_pretrained(name, getattr(transformers, self.auto_model), config=self.labelled_config(name, dropout))

    def load_model(self, folder: Path):
        import transformers

        return getattr(transformers, self.auto_model).from_pretrained(folder)


def head_outputs(model) -> int | None:
    """How many labels the model's head scores (transformers models and tuneforge's own both say num_labels)."""
    n = getattr(model, "num_labels", None)
    if n is None:
        n = getattr(getattr(model, "config", None), "num_labels", None)
    return n if isinstance(n, int) else None
