"""How long a 5-step try of a generation example takes with ``tuneforge train --quick`` (issue #38.3).

    nice -n 5 python benchmarks/quick_generation.py [--example examples/generation-sgd.yaml] [--steps 5] [--full]

Runs the CLI as a user would, with the progress bars forced on (training.progress: true), and times the whole
command: wall seconds, and the CPU seconds it used (user + system), which on a machine shared with other jobs
says more than the wall time (2 cores: an idle machine's wall time is at least cpu_s / 2); the bars' own final
lines give each phase's elapsed time. ``--full`` runs the same without --quick (the example's own evaluation
budget) for comparison.
Writes benchmarks/results/quick_generation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(example: str, steps: int, quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "tuneforge", "train", example, "--set", f"training.max_steps={steps}",
                   "--set", "training.progress=true", "--set", f"output_dir={out}"] + (["--quick"] if quick else [])
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
        wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        report = json.loads(next(Path(out).glob("*/report.json")).read_text())
    bars = re.findall(r"(decoding|perplexity|train):\s+100%\|[^|]*\|\s*(\d+)/(\d+) \[([\d:]+)<", done.stderr)
    return {"quick": quick, "steps": steps, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "load_average_1min_at_end": round(os.getloadavg()[0], 1), "examples_scored": report["test"]["examples"],
            "train_seconds": report["training"]["train_seconds"],
            "finished_bars": [{"bar": b, "items": int(n), "elapsed": t} for b, n, _, t in bars],
            "progress_lines_with_eta": len(re.findall(r"decoding:.*<\d", done.stderr)),
            "stdout": done.stdout.strip().splitlines()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="examples/generation-sgd.yaml")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also run without --quick")
    args = parser.parse_args()
    results = [run(args.example, args.steps, True)]
    if args.full:
        results.append(run(args.example, args.steps, False))
    out = REPO / "benchmarks" / "results" / "quick_generation.json"
    out.write_text(json.dumps({"example": args.example, "cpus": os.cpu_count(), "runs": results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
