"""TensorBoard event files under ``runs/<name>/tensorboard/`` (training.report_to: tensorboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneforge.engine.tracking.scalars import scalars


class TensorBoardTracker:
    def __init__(self, folder: Path, resumed_at: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # On resume, purge_step hides the events logged after the checkpoint: those steps run again.
        self.writer = SummaryWriter(str(folder), purge_step=None if resumed_at is None else resumed_at + 1)

    def write(self, record: dict[str, Any]) -> None:
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, global_step=record["step"])

    def close(self, failed: bool) -> None:
        self.writer.close()
