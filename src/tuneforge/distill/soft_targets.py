"""The teacher's soft outputs on the transfer set, computed once and carried beside each training feature.

The kind of output comes from the task's registry entry (``TaskSpec.inference``): one row of logits per text
(class-probabilities), one per token (token-probabilities), or a start and an end logit per token
(span-logits). Per-token outputs are kept at the feature's own length and padded again with each batch. A
generation teacher's next-token distributions over the vocabulary (generate) are too large to keep for the
whole transfer set: the teacher scores each batch's reply positions as the student trains (loss.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")  # what both models read from a task's batch
TEACHER_KEY = "teacher_soft"  # the batch key that carries the teacher's outputs into the loss
PER_TOKEN = {"class-probabilities": False, "token-probabilities": True, "span-logits": True, "generate": True}
SCORED_EACH_BATCH = {"generate"}  # kinds whose teacher runs beside the student, batch by batch


def soft_outputs(output: Any, kind: str) -> torch.Tensor:
    """The logits a student learns from: [batch, labels], [batch, tokens, labels] or [batch, tokens, 2]."""
    if kind == "span-logits":
        return torch.stack([output.start_logits, output.end_logits], dim=-1)
    return output.logits


@dataclass
class Taught:
    """One training feature and what the teacher output on it (None: the teacher scores it with its batch)."""

    feature: Any
    soft: torch.Tensor | None

    def __len__(self) -> int:
        return len(self.feature)


@torch.no_grad()  # not inference_mode: the loss saves these for its backward pass
def teacher_outputs(teacher: torch.nn.Module, features: Sequence[Any], collate: Callable, kind: str,
                    batch_size: int) -> list[torch.Tensor | None]:
    """The teacher's soft outputs per feature (longest first in batches, so little padding), in input order;
    None each for a kind the teacher scores batch by batch as the student trains."""
    if kind in SCORED_EACH_BATCH:
        return [None] * len(features)
    order = sorted(range(len(features)), key=lambda i: -len(features[i]))
    out: list[torch.Tensor | None] = [None] * len(features)
    for start in range(0, len(order), batch_size):
        ids = order[start:start + batch_size]
        batch = collate([features[i] for i in ids])
        soft = soft_outputs(teacher(**{k: v for k, v in batch.items() if k in INPUT_KEYS}), kind).float()
        for row, i in enumerate(ids):
            out[i] = soft[row, : len(features[i])].clone() if PER_TOKEN[kind] else soft[row].clone()
    return out  # type: ignore[return-value]


def taught_collate(collate: Callable, kind: str) -> Callable[[list[Taught]], dict[str, torch.Tensor]]:
    """The task's collate, with the teacher's outputs padded to the batch (zeros where the batch pads)."""

    def collate_taught(items: list[Taught]) -> dict[str, torch.Tensor]:
        batch = collate([t.feature for t in items])
        if kind in SCORED_EACH_BATCH:
            return batch
        if PER_TOKEN[kind]:
            width = batch["input_ids"].shape[1]
            soft = torch.zeros((len(items), width, *items[0].soft.shape[1:]))
            for row, t in enumerate(items):
                soft[row, : t.soft.shape[0]] = t.soft
        else:
            soft = torch.stack([t.soft for t in items])
        batch[TEACHER_KEY] = soft
        return batch

    return collate_taught
