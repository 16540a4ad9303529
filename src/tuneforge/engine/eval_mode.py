"""``evaluating(model)``: eval mode for one inference, without ever flipping a module that is already in eval.

Flipping train/eval is a write to shared state: a module shared between runs (one backbone under several
adapters) may be mid-prediction on another thread, and turning its dropout back on there changes that
thread's answer. A model that is in eval already (every served or shared model) is left untouched; only a
model caught training (an evaluation inside the training loop) is switched to eval and back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def evaluating(model: Any) -> Iterator[Any]:
    """``model`` in eval mode for the block; its mode restored after only if this call changed it."""
    if not getattr(model, "training", False):
        yield model
        return
    model.eval()
    try:
        yield model
    finally:
        model.train()
