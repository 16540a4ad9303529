"""Padding rows of token ids into batch tensors: what every task's ``collate`` starts from."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_rows(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """[rows, longest] long tensor, each row left-aligned and filled with ``value``."""
    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out


def padded_inputs(ids: Sequence[Sequence[int]], pad_id: int,
                  token_type_ids: Sequence[Sequence[int]] | None = None) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask (1 on real tokens) and, when given, token_type_ids."""
    batch = {"input_ids": pad_rows(ids, pad_id), "attention_mask": pad_rows([[1] * len(r) for r in ids], 0)}
    if token_type_ids is not None:
        batch["token_type_ids"] = pad_rows(token_type_ids, 0)
    return batch
