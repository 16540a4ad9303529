"""SIGKILL in the middle of training, then --resume: the result equals an uninterrupted run, even when
the newest checkpoint was left damaged (resume falls back to the one before)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import make_config

import tuneforge


def test_killed_run_resumes_to_identical_result(tmp_path, tiny_model, small_data):
    settings = {"epochs": 75, "checkpoint_every": 50, "eval_every": 20, "threads": 1, "log_every": 5}
    config = make_config(tmp_path, tiny_model, small_data, **settings)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "tuneforge", "train", str(config), "--set", "name=killed"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoints = tmp_path / "runs" / "killed" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (checkpoints / "step-00000100" / "state.json").is_file():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    killed_dir = tmp_path / "runs" / "killed"
    assert json.loads((killed_dir / "run.json").read_text())["status"] == "running"
    assert not (killed_dir / "model").exists()
    # The newest checkpoint torn in half (a disk that filled up): resume must take step 50's instead.
    newest = checkpoints / "step-00000100" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])

    resumed = subprocess.run([sys.executable, "-m", "tuneforge", "train", "--resume", str(killed_dir)],
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "step-00000100 is damaged" in resumed.stderr

    straight = tuneforge.train(config, ["name=straight"])
    a = json.loads((killed_dir / "report.json").read_text())
    b = json.loads((straight / "report.json").read_text())
    assert a["training"]["steps"] == b["training"]["steps"] == 300
    for split in ("dev", "test"):
        assert a[split] == b[split]
    from safetensors.torch import load_file

    wa = load_file(killed_dir / "model" / "model.safetensors")
    wb = load_file(straight / "model" / "model.safetensors")
    assert all((wa[k] == wb[k]).all() for k in wb)
    # the log has no duplicated steps from the part that ran twice
    steps = [r["step"] for r in map(json.loads, (killed_dir / "metrics.jsonl").read_text().splitlines())
             if "loss" in r]
    assert steps == sorted(set(steps))
