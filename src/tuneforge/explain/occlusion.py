"""Occlusion: how much the explained probability falls when one word is replaced by the baseline token."""

from __future__ import annotations

from typing import Any

from tuneforge.explain.target import Target

BATCH = 64


def occlusion(model: Any, target: Target) -> list[float]:
    """One score per word: f(input) - f(input with that word's tokens replaced by ``target.baseline_id``); one
    forward pass per word, batched."""
    import torch

    rows = [list(target.input_ids)]
    for word in range(len(target.words)):
        row = list(target.input_ids)
        for position in target.token_positions(word):
            row[position] = target.baseline_id
        rows.append(row)
    scores = []
    with torch.inference_mode():
        for start in range(0, len(rows), BATCH):
            ids = torch.tensor(rows[start:start + BATCH])
            scores += target.score(model, ids, torch.ones_like(ids)).float().tolist()
    return [scores[0] - s for s in scores[1:]]
