"""Sentence-level tasks: tuneforge vs the Hugging Face Trainer baseline on the same config.

For each example config, runs ``tuneforge train`` and ``hf_trainer_classification.py`` (same model,
data split, epochs, lr, batch, seed), one after the other, and writes
``benchmarks/results/tf-<config>.json`` / ``hf-<config>.json``; ``--summarize`` only prints the table
from those files.

    .venv/bin/python benchmarks/sentence_tasks.py intent-banking77 intent-clinc150 \
        intent-clinc150-threshold relation-semeval2010
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common import REPO, run_timed

RESULTS = REPO / "benchmarks" / "results"
HEADLINE = {"sequence-classification": "accuracy", "relation-extraction": "official_f1"}
BULKY = ("per_label", "confusion")


def run_tuneforge(name: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-sentence-"))
    wall = run_timed([sys.executable, "-m", "tuneforge", "train", f"examples/{name}.yaml",
                      "--set", f"output_dir={work}", "--set", "name=tf"])
    save_tuneforge(name, work / "tf", wall)


def save_tuneforge(name: str, run_dir: Path, wall: float | None = None) -> None:
    """Keep the headline numbers of a finished run (the per-label tables stay in its report.json)."""
    report = json.loads((run_dir / "report.json").read_text())
    slim = {split: {k: v for k, v in report[split].items() if k not in BULKY} for split in ("dev", "test")
            if split in report}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"tf-{name}.json").write_text(json.dumps(
        {"config": f"examples/{name}.yaml", "task": report.get("task"), **slim,
         "training": report["training"], "wall_seconds": wall}, indent=2) + "\n")


def table(names: list[str]) -> str:
    lines = ["| config | metric | tuneforge test | HF Trainer test | tuneforge dev | HF dev | extra (tuneforge / HF) |",
             "|---|---|---:|---:|---:|---:|---|"]
    for name in names:
        tf = json.loads((RESULTS / f"tf-{name}.json").read_text())
        hf_path = RESULTS / f"hf-{name}.json"
        hf = json.loads(hf_path.read_text()) if hf_path.is_file() else None
        metric = "official_f1" if "official_f1" in tf["test"] else "accuracy"
        extra = ""
        if "oos_recall" in tf["test"]:
            def fmt(r):
                return f"in-scope acc {r['in_scope_accuracy']:.4f}, oos recall {r['oos_recall']:.4f}"
            extra = fmt(tf["test"]) + (f" / {fmt(hf['test'])}" if hf else "")
        hf_test = f"{hf['test'][metric]:.4f}" if hf else "–"
        hf_dev = f"{hf['dev'][metric]:.4f}" if hf and "dev" in hf else "–"
        lines.append(f"| {name} | {metric} | {tf['test'][metric]:.4f} | {hf_test} | {tf['dev'][metric]:.4f} | "
                     f"{hf_dev} | {extra} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="+", help="example config names (examples/<name>.yaml)")
    p.add_argument("--summarize", action="store_true", help="only print the table from saved results")
    p.add_argument("--from-run", help="with one config: take tuneforge's numbers from this finished run")
    args = p.parse_args()
    if not args.summarize:
        for name in args.configs:
            if args.from_run:
                save_tuneforge(name, Path(args.from_run))
            else:
                run_tuneforge(name)
                run_timed([sys.executable, "benchmarks/hf_trainer_classification.py", "--config",
                           f"examples/{name}.yaml", "--group-by-length", "--output", str(RESULTS / f"hf-{name}.json")])
    print(table(args.configs))


if __name__ == "__main__":
    main()
