"""Padding rows of token ids into batch arrays: what every task's ``collate`` starts from.

The numpy forms feed a model that takes numpy (a checked ONNX graph, ``engine/onnx/session.py``) without
importing torch; the tensor forms are the same arrays, shared, for training and PyTorch inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def pad_array(rows: Sequence[Sequence[int]], value: int) -> np.ndarray:
    """[rows, longest] int64 array, each row left-aligned and filled with ``value``."""
    out = np.full((len(rows), max(len(r) for r in rows)), value, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def padded_arrays(ids: Sequence[Sequence[int]], pad_id: int,
                  token_type_ids: Sequence[Sequence[int]] | None = None) -> dict[str, np.ndarray]:
    """input_ids, attention_mask (1 on real tokens) and, when given, token_type_ids."""
    batch = {"input_ids": pad_array(ids, pad_id), "attention_mask": pad_array([[1] * len(r) for r in ids], 0)}
    if token_type_ids is not None:
        batch["token_type_ids"] = pad_array(token_type_ids, 0)
    return batch


def pad_rows(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """``pad_array`` as a long tensor."""
    import torch

    return torch.from_numpy(pad_array(rows, value))


def padded_inputs(ids: Sequence[Sequence[int]], pad_id: int,
                  token_type_ids: Sequence[Sequence[int]] | None = None) -> dict[str, torch.Tensor]:
    """``padded_arrays`` as long tensors."""
    import torch

    return {k: torch.from_numpy(v) for k, v in padded_arrays(ids, pad_id, token_type_ids).items()}
