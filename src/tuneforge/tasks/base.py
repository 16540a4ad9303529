"""The task protocol: what every task (``tasks/<name>.py``) offers to training, evaluation and use.

The training loop, ``api`` and ``runs`` talk to a task only through these members, so a new task
is one new module and one registry entry (``tasks/__init__.py``). Tasks with a label set share
``classification.py``; a task without one (question answering, generation) writes no labels.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from tuneforge.data.examples import ReadResult


class Task(Protocol):
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

    def check_loaded(self, model: torch.nn.Module, folder: Path) -> None:
        """Refuse a loaded model that does not fit what ``load`` read (a labels.json shorter than the head)."""

    def recalibrated(self, cfg: Any) -> Task:
        """The same task with new ``task_options`` and nothing tuned yet (``tuneforge calibrate``)."""

    def check(self, split: str, result: ReadResult) -> None:
        """Refuse evaluation data the model cannot score (e.g. labels it never learnt)."""

    def summary(self) -> dict[str, Any]:
        """What report.json records about the task itself (its labels, say)."""

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

    def after_training(self, model: torch.nn.Module) -> None:
        """Compute what follows from the trained weights (an embedding head); also for a model that did not train."""

    # scores and use -----------------------------------------------------------------------------
    def calibrate(self, model: torch.nn.Module, examples: list[Any], **batching: Any) -> None:
        """Tune on dev what decoding needs (thresholds); a no-op for tasks with nothing to tune."""

    def evaluate(self, model: torch.nn.Module, examples: list[Any], tune: bool = False,
                 **batching: Any) -> dict[str, Any]:
        """Scores on labelled examples (``tune``: calibrate on them first, for dev)."""

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        """The scores as report tables."""

    def predict_texts(self, model: torch.nn.Module, inputs: list[Any], **batching: Any) -> list[dict[str, Any]]:
        """One JSON-ready answer per raw input."""

    def prediction_input(self, example: Any) -> Any:
        """The raw input ``predict_texts`` takes for a read example (for speed checks on real data)."""
