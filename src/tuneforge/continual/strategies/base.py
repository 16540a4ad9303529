"""The interface every single-model strategy implements; the defaults are plain sequential fine-tuning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tuneforge.continual.stage_data import Sourced, Stage


class Strategy:
    def __init__(self, options: Any, seed: int) -> None:
        self.options, self.seed = options, seed
        self.head: Any = None

    def bind(self, head: Any, total_examples: int) -> None:
        """The class-incremental head (how examples are labelled) and how many training examples the plan has."""
        self.head, self.total_examples = head, total_examples

    def training_examples(self, stage: Stage, earlier: list[Stage]) -> list[Sourced]:
        """What the stage trains on: its own data by default."""
        return [Sourced(e, stage.index) for e in stage.train]

    def before_stage(self, model: torch.nn.Module, old_outputs: int, task: Any = None) -> None:
        """Called once the head has grown, before training (``old_outputs``: the head's rows before; ``task``:
        the stage's task, with every output's label)."""

    def penalty(self, model: torch.nn.Module, batch: dict[str, torch.Tensor], logits: torch.Tensor,
                items: torch.Tensor) -> torch.Tensor | None:
        """A term added to the summed loss of a micro-batch (``items``: the mask of its scored items)."""
        return None

    def after_stage(self, model: torch.nn.Module, stage: Stage, features: list[Any], collate, forward) -> None:
        """What to keep once the stage has trained (a Fisher estimate, a buffer)."""

    def save(self, folder: Path, head: Any) -> None:
        """Write what the strategy keeps with the model (the replay buffer)."""

    def load(self, folder: Path, head: Any) -> bool:
        """Read back what ``save`` wrote (``tuneforge update`` of a continual run). True only when this restored
        everything ``after_stage`` would have kept, so the caller may skip it; a strategy that saves nothing
        (ewc's Fisher is computed afresh) answers False, whatever files another strategy left in the folder."""
        return False
