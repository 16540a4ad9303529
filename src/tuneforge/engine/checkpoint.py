"""Resumable checkpoints, written atomically: a killed run resumes exactly where it was.

``checkpoints/last/`` holds the model weights (safetensors), optimizer and scheduler state, every
RNG state and the loop's own counters; it is replaced in one rename, so a crash mid-write leaves
the previous checkpoint intact. ``checkpoints/best.safetensors`` holds the best weights so far.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from tuneforge.atomic import atomic_dir
from tuneforge.errors import RunError


@dataclass
class LoopState:
    step: int = 0  # optimizer steps done
    epoch: int = 0
    step_in_epoch: int = 0  # optimizer steps of ``epoch`` already done
    best_metric: float | None = None
    best_step: int | None = None
    evals_without_improvement: int = 0
    stopped_early: bool = False
    train_tokens: int = 0
    train_slots: int = 0  # token slots of the training batches, padding included
    train_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def save_checkpoint(folder: Path, model, optimizer, scheduler, state: LoopState) -> None:
    with atomic_dir(folder) as tmp:
        save_model(model, str(tmp / "model.safetensors"))
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
            },
            tmp / "trainer_state.pt",
        )
        (tmp / "state.json").write_text(
            json.dumps({"loop": asdict(state), "rng": _rng_state()}), encoding="utf-8"
        )


def save_weights(model, path: Path) -> None:
    """Model weights as safetensors, through a temp file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(tmp))
    tmp.replace(path)


def load_checkpoint(folder: Path, model, optimizer, scheduler) -> LoopState:
    if not (folder / "state.json").is_file():
        raise RunError(f"{folder}: no checkpoint to resume from (the run stopped before its first one)")
    load_model(model, str(folder / "model.safetensors"))
    # weights_only: this file holds tensors and plain containers, nothing executable.
    trainer = torch.load(folder / "trainer_state.pt", weights_only=True)
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    torch.set_rng_state(trainer["torch_rng"])
    saved = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    _set_rng_state(saved["rng"])
    return LoopState(**saved["loop"])
