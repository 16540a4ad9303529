"""Columns of a batch's KV cache that no row needs any more, dropped (greedy and speculative decoding share it)."""

from __future__ import annotations

from typing import Any

import torch


def drop_unused_columns(cache: Any, mask: torch.Tensor) -> torch.Tensor:
    """Drop the cache columns no row attends to any more (rows gone, padding, rejected drafts); the new mask."""
    used = mask.any(0)
    if used.all():
        return mask
    for layer in cache.layers:
        layer.keys, layer.values = layer.keys[:, :, used], layer.values[:, :, used]
    return mask[:, used]
