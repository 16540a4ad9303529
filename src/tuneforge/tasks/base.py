"""The task protocol: what every task (``tasks/<name>/task.py``) offers to training, evaluation and use.

The training loop, ``api``, ``runs``, ``continual`` and ``serve`` talk to a task only through these members,
so a new task is one new folder and one registry entry (``tasks/__init__.py``). ``TaskBase`` gives the
optional members a default, so a task writes only what it needs; the required ones are listed in ``Task``.
Tasks with a label set share ``classification/base.py``; a task without one writes no labels.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:  # the protocol costs no torch import: a checked ONNX graph predicts without it
    import torch

    from tuneforge.data.examples import ReadResult

IGNORE = -100  # the label id a loss skips (sub-word continuations, padding, labels the model lacks)


class Task(Protocol):
    """What every task implements."""

    name: ClassVar[str]

    # data in, checked before anything is written ---------------------------------------------------
    @classmethod
    def read(cls, path: str, cfg: Any, strict: bool = True, labelled: bool = True) -> ReadResult:
        """One file's examples; in strict mode the first problem raises a one-line DataError."""

    @classmethod
    def load_splits(cls, cfg: Any, strict: bool = True) -> dict[str, ReadResult]:
        """train / dev / test, carving missing ones from train when the config asks."""

    @classmethod
    def main_metric(cls, cfg: Any) -> str:
        """The dev metric that selects the best checkpoint by default."""

    @classmethod
    def metric_names(cls, cfg: Any) -> tuple[str, ...]:
        """The scalar metrics ``evaluate`` returns (what early stopping may select on)."""

    @classmethod
    def for_training(cls, tokenizer: Any, cfg: Any, splits: dict[str, ReadResult]) -> Task:
        """The task for a new run: checks the splits against each other (e.g. labels unseen in train)."""

    @classmethod
    def load(cls, tokenizer: Any, cfg: Any, folder: Path) -> Task:
        """The task of a finished run, from what ``save`` wrote into its model folder."""

    def save(self, folder: Path) -> None:
        """Write what decoding needs besides the weights (labels.json, task.json)."""

    def recalibrated(self, cfg: Any) -> Task:
        """The same task with new ``task_options`` and nothing tuned yet (``tuneforge calibrate``)."""

    # model and training -------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None) -> torch.nn.Module:
        """The pretrained backbone with this task's new head."""

    def load_model(self, folder: Path) -> torch.nn.Module:
        """A saved model of this task (full and freeze runs)."""

    def encode(self, examples: Sequence[Any], with_labels: bool = True) -> list[Any]:
        """Features with ``len()`` (their token count), as ``collate`` takes them."""

    def collate(self, features: list[Any]) -> dict[str, torch.Tensor]:
        """One padded batch; ``attention_mask`` marks the real tokens."""

    def compute_loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """(summed loss, items it sums over) for one micro-batch."""

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        """The items ``compute_loss`` will sum over, counted before the forward pass."""

    # scores and use -----------------------------------------------------------------------------
    def evaluate(self, model: torch.nn.Module, examples: list[Any], tune: bool = False,
                 **batching: Any) -> dict[str, Any]:
        """Scores on labelled examples (``tune``: calibrate on them first, for dev)."""

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        """The scores as report tables."""

    def predict_texts(self, model: torch.nn.Module, inputs: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """One JSON-ready answer per raw input."""

    def prediction_input(self, example: Any) -> Any:
        """The raw input ``predict_texts`` takes for a read example (for speed checks on real data)."""


class TaskBase:
    """The optional members of the protocol, with what a task that has nothing to do there needs."""

    def check_loaded(self, model: torch.nn.Module, folder: Path) -> None:
        """Refuse a loaded model that does not fit what ``load`` read (a labels.json shorter than the head);
        a task without a label set has nothing to check."""

    def check(self, split: str, result: ReadResult) -> None:
        """Refuse evaluation data the model cannot score (e.g. labels it never learnt); by default any can be."""

    def summary(self) -> dict[str, Any]:
        """What report.json records about the task itself (its labels, say)."""
        return {}

    def after_training(self, model: torch.nn.Module) -> None:
        """Compute what follows from the trained weights (an embedding head); also for a model that did not
        train. Most tasks compute nothing."""

    def calibrate(self, model: torch.nn.Module, examples: list[Any], **batching: Any) -> None:
        """Tune on dev what decoding needs (thresholds); most tasks have nothing to tune."""

    def with_answers(self, examples: list[Any], predicted: list[Any]) -> list[Any]:
        """The examples with ``predicted`` (as ``predict_examples`` gives them) as their gold answers: unlabelled
        text a teacher labelled, for ``tuneforge distill``'s transfer set."""
        raise NotImplementedError(f"{type(self).__name__} does not label read examples")

    # what class-incremental learning (``tuneforge continual``) asks of a task with a label set -----------------
    def predict_examples(self, model: torch.nn.Module, examples: list[Any], **batching: Any) -> list[Any]:
        """Each read example's prediction with its confidence, in the form ``score_examples`` takes."""
        raise NotImplementedError(f"{type(self).__name__} does not predict read examples")

    @classmethod
    def score_examples(cls, examples: list[Any], predicted: list[Any]) -> dict[str, float]:
        """The task's metrics of ``predicted`` (answers alone, as ``predict_examples`` gives them without their
        confidence) against the examples' gold answers."""
        raise NotImplementedError(f"{cls.__name__} does not score predictions of read examples")
