"""Resumable checkpoints: a killed run resumes exactly where it was, even from a damaged last write.

``checkpoints/step-<N>/`` holds the model weights (safetensors), optimizer and scheduler state, the
RNG states of every process and the loop's own counters. Each is written into a temp folder, synced
to disk, and given its name in one rename (a new name, so there is never a moment without a whole
checkpoint); the previous one is kept until the next is in place. Resume takes the newest checkpoint
that reads back whole and falls back to the one before when the newest is damaged (a truncated file,
a disk that filled up). ``checkpoints/best.safetensors`` holds the best weights so far.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_model

from tuneforge.errors import RunError
from tuneforge.util.atomic import fsync_dir, fsync_tree

KEEP = 2  # checkpoints kept: the newest and the one resume falls back to
PREFIX = "step-"


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


def rng_state() -> dict[str, Any]:
    """This process's RNG states (Python, NumPy, torch CPU and, when present, the accelerator's)."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "torch" in state:
        torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def checkpoint_dirs(root: Path) -> list[Path]:
    """Checkpoint folders under ``root``, newest first (``last/`` is the layout of older versions)."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit()]
    found.sort(key=lambda p: int(p.name[len(PREFIX):]), reverse=True)
    return found + [p for p in [root / "last"] if p.is_dir()]


def save_checkpoint(root: Path, model, optimizer, scheduler, state: LoopState, rng_states: list[dict[str, Any]],
                    ) -> Path:
    """Write ``root/step-<state.step>`` in one rename; keep the ``KEEP`` newest. ``rng_states``: one per process."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{state.step:08d}"
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        save_model(model, str(tmp / "model.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                   tmp / "trainer_state.pt")
        (tmp / "state.json").write_text(json.dumps({"loop": asdict(state), "rng": rng_states}), encoding="utf-8")
        fsync_tree(tmp)
        if final.exists():  # only a damaged leftover that resume skipped can hold this step's name
            shutil.rmtree(final)
        os.rename(tmp, final)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in checkpoint_dirs(root)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def save_weights(model, path: Path) -> None:
    """Model weights as safetensors, through a synced temp file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(tmp))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


@dataclass
class _Checkpoint:
    folder: Path
    weights: dict[str, torch.Tensor]
    trainer: dict[str, Any]
    saved: dict[str, Any]


def _read(folder: Path) -> _Checkpoint:
    """Everything of one checkpoint, read and checked before any of it is applied; OSError/ValueError if damaged."""
    from safetensors import SafetensorError

    try:
        weights = load_file(str(folder / "model.safetensors"))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"model.safetensors: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        # weights_only: this file holds tensors and plain containers, nothing executable.
        trainer = torch.load(folder / "trainer_state.pt", weights_only=True)
    except Exception as exc:  # a torn zip archive raises RuntimeError, EOFError or an unpickling error
        raise ValueError(f"trainer_state.pt: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
                         ) from None
    try:
        saved = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        LoopState(**saved["loop"])
        saved["rng"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"state.json: {exc}") from None
    if not isinstance(trainer, dict) or not {"optimizer", "scheduler"} <= trainer.keys():
        raise ValueError("trainer_state.pt: not a tuneforge trainer state")
    return _Checkpoint(folder, weights, trainer, saved)


def load_checkpoint(root: Path, model, optimizer, scheduler, rank: int = 0) -> LoopState:
    """Restore the newest whole checkpoint under ``root`` (falling back past damaged ones) into the model,
    optimizer, scheduler and this process's RNGs; damaged newer ones are removed so they are written anew."""
    candidates = checkpoint_dirs(root)
    if not candidates:
        raise RunError(f"{root.parent}: no checkpoint to resume from (the run stopped before its first one)")
    damaged: list[str] = []
    for folder in candidates:
        try:
            checkpoint = _read(folder)
            _load_weights(model, checkpoint.weights)
            optimizer.load_state_dict(checkpoint.trainer["optimizer"])
            scheduler.load_state_dict(checkpoint.trainer["scheduler"])
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            damaged.append(f"{folder.name} ({str(exc).splitlines()[0][:200]})")
            print(f"tuneforge: checkpoint {folder} is damaged ({str(exc).splitlines()[0][:200]}); "
                  "trying the one before", file=sys.stderr)
            continue
        break
    else:
        raise RunError(f"{root}: no whole checkpoint to resume from: {'; '.join(damaged)}")
    saved = checkpoint.saved
    rngs = saved["rng"] if isinstance(saved["rng"], list) else [saved["rng"]]  # older runs: one process's
    set_rng_state(rngs[rank] if rank < len(rngs) else rngs[0])
    if "torch_rng" in checkpoint.trainer:  # older runs kept torch's state beside the optimizer
        torch.set_rng_state(checkpoint.trainer["torch_rng"])
    if rank == 0:
        for newer in candidates[: candidates.index(checkpoint.folder)]:
            shutil.rmtree(newer, ignore_errors=True)
    return LoopState(**saved["loop"])


def _load_weights(model, weights: dict[str, torch.Tensor]) -> None:
    """Load every weight; a name left out is fine only where it shares memory with a loaded one (tied
    embeddings: safetensors saves each shared tensor once)."""
    result = model.load_state_dict(weights, strict=False)
    own = model.state_dict()
    loaded = {own[name].data_ptr() for name in weights if name in own}
    missing = [name for name in result.missing_keys if own[name].data_ptr() not in loaded]
    if missing or result.unexpected_keys:
        raise ValueError(f"model.safetensors does not fit the model (missing {missing[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]})")
