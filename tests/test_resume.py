"""SIGKILL in the middle of training, then --resume: the result equals an uninterrupted run."""

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
    state_file = tmp_path / "runs" / "killed" / "checkpoints" / "last" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if state_file.is_file() and json.loads(state_file.read_text())["loop"]["step"] >= 50:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    killed_dir = tmp_path / "runs" / "killed"
    assert json.loads((killed_dir / "run.json").read_text())["status"] == "running"
    assert not (killed_dir / "model").exists()

    resumed = subprocess.run([sys.executable, "-m", "tuneforge", "train", "--resume", str(killed_dir)],
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

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
