"""Checkpoints are replaced in one rename, and resume falls back past a damaged one to the last whole one."""

from __future__ import annotations

import json
import os
import random

import pytest
import torch

from tuneforge.engine import checkpoint as ckpt
from tuneforge.engine.checkpoint import LoopState, checkpoint_dirs, load_checkpoint, rng_state, save_checkpoint
from tuneforge.errors import RunError


def trainer(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    return model, optimizer, scheduler


def step(model, optimizer, scheduler) -> None:
    loss = model(torch.randn(3, 4)).pow(2).sum()
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def save_steps(root, steps):
    """Train and checkpoint after each of ``steps``; returns the weights and RNG draw after each."""
    model, optimizer, scheduler = trainer()
    after = {}
    done = 0
    for n in steps:
        while done < n:
            step(model, optimizer, scheduler)
            done += 1
        save_checkpoint(root, model, optimizer, scheduler, LoopState(step=n), [rng_state()])
        after[n] = ({k: v.clone() for k, v in model.state_dict().items()}, torch.rand(1).item(), random.random())
    return after


def restore(root):
    model, optimizer, scheduler = trainer(seed=1)  # different starting weights: the load must replace them
    state = load_checkpoint(root, model, optimizer, scheduler)
    return state, model


def test_only_the_two_newest_are_kept_and_no_temp_folder_is_left(tmp_path):
    save_steps(tmp_path, [1, 2, 3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000002", "step-00000003"]
    assert [p.name for p in checkpoint_dirs(tmp_path)] == ["step-00000003", "step-00000002"]  # newest first


@pytest.mark.parametrize("damage", ["truncate model", "empty model", "truncate trainer", "truncate state",
                                    "delete state"])
def test_resume_falls_back_past_a_damaged_newest_checkpoint(tmp_path, damage):
    after = save_steps(tmp_path, [2, 4])
    newest = tmp_path / "step-00000004"
    target = {"model": "model.safetensors", "trainer": "trainer_state.pt", "state": "state.json"}[damage.split()[1]]
    path = newest / target
    if damage.startswith("truncate"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage.startswith("empty"):
        path.write_bytes(b"")
    else:
        path.unlink()
    state, model = restore(tmp_path)
    assert state.step == 2
    weights, torch_draw, python_draw = after[2]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())
    # the RNGs continue exactly as they did right after step 2's checkpoint
    assert torch.rand(1).item() == torch_draw and random.random() == python_draw
    assert not newest.exists()  # removed, so the run writes step 4 anew


def test_resume_takes_the_newest_whole_checkpoint(tmp_path):
    after = save_steps(tmp_path, [2, 4])
    state, model = restore(tmp_path)
    assert state.step == 4
    assert all(torch.equal(model.state_dict()[k], v) for k, v in after[4][0].items())


def test_no_whole_checkpoint_is_one_line_error(tmp_path):
    save_steps(tmp_path, [2])
    (tmp_path / "step-00000002" / "state.json").write_text("{", encoding="utf-8")
    with pytest.raises(RunError, match=r"no whole checkpoint to resume from: step-00000002 \(state.json") as err:
        restore(tmp_path)
    assert "\n" not in str(err.value)


def test_a_crash_before_the_rename_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    save_steps(tmp_path, [2])
    model, optimizer, scheduler = trainer()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.os, "rename", crash)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, model, optimizer, scheduler, LoopState(step=4), [rng_state()])
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["step-00000002"]  # no temp folder, no step 4
    assert restore(tmp_path)[0].step == 2


def test_each_process_resumes_its_own_rng_state(tmp_path):
    model, optimizer, scheduler = trainer()
    random.seed(0)
    rank0 = rng_state()
    random.seed(1)
    torch.manual_seed(1)
    rank1 = rng_state()
    expected = (torch.rand(1).item(), random.random())
    save_checkpoint(tmp_path, model, optimizer, scheduler, LoopState(step=1), [rank0, rank1])
    load_checkpoint(tmp_path, *trainer(), rank=1)
    assert (torch.rand(1).item(), random.random()) == expected
    saved = json.loads((tmp_path / "step-00000001" / "state.json").read_text())
    assert len(saved["rng"]) == 2


def test_checkpoint_files_are_synced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(ckpt.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    monkeypatch.setattr("tuneforge.util.atomic.os.fsync", lambda fd: (synced.append(fd), real(fd)))
    save_steps(tmp_path, [1])
    assert len(synced) >= 4  # three files and the folders
