"""How long a 5-step try of a generation example takes with ``tuneforge train --quick`` (issue #38.3).

    nice -n 5 python benchmarks/quick_generation.py [--example examples/generation-sgd.yaml] [--steps 5] [--full]
    nice -n 5 python benchmarks/quick_generation.py --evaluation-only [--examples 20]

Runs the CLI as a user would, with the progress bars forced on (training.progress: true), and times the whole
command: wall seconds, and the CPU seconds it used (user + system), which on a machine shared with other jobs
says more than the wall time (2 cores: an idle machine's wall time is at least cpu_s / 2); the bars' own final
lines give each phase's elapsed time. ``--full`` runs the same without --quick (the example's own evaluation
budget) for comparison.
``--evaluation-only`` times just what --quick cuts, in this process: one evaluation of the example's test split
at ``--examples`` (decoding and perplexity, as the zero-shot baseline and the final test each run it; a run
does two), with the untrained model, wall and CPU seconds. Writes benchmarks/results/quick_generation.json.
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


def evaluation_only(example: str, examples: int) -> dict:
    import torch

    from tuneforge.config import load_config
    from tuneforge.engine.progress import showing
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_class

    started, cpu0 = time.perf_counter(), time.process_time()
    cfg = load_config(REPO / example, [f"task_options.eval_examples={examples}"])
    Task = task_class(cfg.task)
    test = Task.read(cfg.data.test, cfg).examples
    tokenizer = load_tokenizer(cfg.model.name)
    task = Task(tokenizer, cfg)
    model = task.build_model(cfg.model.name, None).eval()
    setup_wall, setup_cpu = time.perf_counter() - started, time.process_time() - cpu0
    started, cpu0 = time.perf_counter(), time.process_time()
    with showing(True), torch.inference_mode():
        scores = task.evaluate(model, test, **cfg.eval_batching())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return {"evaluation_only": True, "examples": scores["examples"], "threads": torch.get_num_threads(),
            "one_evaluation_wall_s": round(wall, 1), "one_evaluation_cpu_s": round(cpu, 1),
            "setup_wall_s": round(setup_wall, 1), "setup_cpu_s": round(setup_cpu, 1),
            "load_average_1min_at_end": round(os.getloadavg()[0], 1),
            "scores": {k: v for k, v in scores.items() if isinstance(v, int | float)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="examples/generation-sgd.yaml")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also run without --quick")
    parser.add_argument("--evaluation-only", action="store_true", help="time one evaluation, in this process")
    parser.add_argument("--examples", type=int, default=20, help="--evaluation-only: examples decoded")
    args = parser.parse_args()
    if args.evaluation_only:
        results = [evaluation_only(args.example, args.examples)]
    else:
        results = [run(args.example, args.steps, True)]
        if args.full:
            results.append(run(args.example, args.steps, False))
    out = REPO / "benchmarks" / "results" / "quick_generation.json"
    out.write_text(json.dumps({"example": args.example, "cpus": os.cpu_count(), "runs": results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
