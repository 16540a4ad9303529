"""A metrics.jsonl record as the scalars a tracker logs (shared by every tracker)."""

from __future__ import annotations

from typing import Any

NOT_SCALARS = ("step", "epoch", "split", "best")


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """A metrics.jsonl record's numbers as tracker scalars: ``train/loss``, ``train/lr``, … for a training
    record, ``dev/<metric>`` for an evaluation (step, epoch and the best flag are not scalars)."""
    prefix = record.get("split", "train")
    return {f"{prefix}/{key}": float(value) for key, value in record.items()
            if key not in NOT_SCALARS and isinstance(value, int | float) and not isinstance(value, bool)}
