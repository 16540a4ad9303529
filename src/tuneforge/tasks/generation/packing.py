"""Pack examples into rows: several per row, each keeping its own positions, so rows are nearly all real tokens.

Rows are filled first-fit, longest example first: as few rows as the window allows, each as narrow as
that permits (examples of 400, 300, 200 and 100 tokens under a 640 window make rows 400+100 and
300+200, 500 wide, not 640 wide with a fifth of the slots padding). Each example's position ids
restart at 0; given position ids and no attention mask, transformers builds a block-diagonal causal
mask from them (a new sequence starts wherever the positions do not rise by one), so an example
attends only to itself. The tail padding of a row is one more such sequence whose targets are never
scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def first_fit(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices per row: longest first, each into the first row with room."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(capacity - lengths[i])
    return rows


def narrowest_rows(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """First-fit rows, no more of them than at full ``capacity``, each as narrow as that allows."""
    capacity = max(capacity, max(lengths))
    fewest = first_fit(lengths, capacity)
    width = max(max(lengths), -(-sum(lengths) // len(fewest)))
    while width < capacity:
        rows = first_fit(lengths, width)
        if len(rows) <= len(fewest):
            return rows
        width += max(1, width // 50)  # 2% steps: a handful of tries per micro-batch
    return fewest


def pack_rows(ids: Sequence[list[int]], targets: Sequence[list[int]], capacity: int, pad_id: int,
              ignore_index: int = -100) -> dict[str, torch.Tensor]:
    """input_ids, targets, position_ids and attention_mask (1 on real tokens; for counting, not for the model)."""
    rows = narrowest_rows([len(x) for x in ids], capacity)
    width = max(sum(len(ids[i]) for i in row) for row in rows)
    batch = {
        "input_ids": torch.full((len(rows), width), pad_id, dtype=torch.long),
        "targets": torch.full((len(rows), width), ignore_index, dtype=torch.long),
        "position_ids": torch.zeros((len(rows), width), dtype=torch.long),
        "attention_mask": torch.zeros((len(rows), width), dtype=torch.long),
    }
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            n = len(ids[i])
            batch["input_ids"][r, at:at + n] = torch.as_tensor(ids[i])
            batch["targets"][r, at:at + n] = torch.as_tensor(targets[i])
            batch["position_ids"][r, at:at + n] = torch.arange(n)
            batch["attention_mask"][r, at:at + n] = 1
            at += n
        batch["position_ids"][r, at:] = torch.arange(width - at)
    return batch
