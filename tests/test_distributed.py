"""Data parallelism and gradient accumulation give the gradient of one big batch.

Two processes (gloo, CPU) with batch_size B end with the same weights as one process with 2*B;
one process with grad_accum 2 likewise. Dropout is off: it draws different masks per process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import SENTENCES, make_config, write_conll
from safetensors.torch import load_file

import tuneforge


@pytest.fixture
def setup(tmp_path, tiny_model):
    data = {"train": write_conll(tmp_path / "train.conll", SENTENCES * 6),
            "dev": write_conll(tmp_path / "dev.conll", SENTENCES[:2])}
    return make_config(tmp_path, tiny_model, data, epochs=3, batch_size=4, threads=1)


def weights(run_dir):
    return load_file(run_dir / "model" / "model.safetensors")


def max_difference(a, b) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_grad_accumulation_equals_big_batch(setup):
    big = tuneforge.train(setup, ["name=big", "training.batch_size=8", "model.dropout=0"])
    accumulated = tuneforge.train(setup, ["name=acc", "training.grad_accum=2", "model.dropout=0"])
    assert max_difference(weights(big), weights(accumulated)) < 1e-4


@pytest.mark.skipif(shutil.which("accelerate", path=os.path.dirname(sys.executable)) is None,
                    reason="accelerate's launcher is not installed beside this Python")
def test_two_gloo_processes_equal_one_process(setup):
    one = tuneforge.train(setup, ["name=one", "training.batch_size=8", "model.dropout=0"])
    launcher = os.path.join(os.path.dirname(sys.executable), "accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [launcher, "launch", "--multi_gpu", "--num_processes", "2", "-m", "tuneforge", "train", str(setup),
         "--set", "name=two", "--set", "model.dropout=0"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = setup.parent / "runs" / "two"
    assert sorted(p.name for p in (setup.parent / "runs").iterdir()) == ["one", "two"]  # one run dir, not two
    first_dev = [line for line in (two / "metrics.jsonl").read_text().splitlines() if '"dev"' in line][0]
    assert '"step": 3,' in first_dev  # 24 sentences / (4 per process x 2 processes) = 3 steps per epoch
    assert max_difference(weights(one), weights(two)) < 1e-4
