"""Re-decode finished NER runs: argmax-then-repair vs constrained Viterbi, same weights, test-set entity F1.

    .venv/bin/python benchmarks/ner_decoding.py runs/ner-wnut17 runs/ner-wnut17-2 ...
"""

from __future__ import annotations

import argparse

import tuneforge


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="finished token-classification run directories")
    args = p.parse_args()
    print("| run | seed | argmax + repair F1 | Viterbi F1 |")
    print("|---|---:|---:|---:|")
    for path in args.runs:
        run = tuneforge.load_run(path)
        test = run.task.read(run.config.data.test, run.config).examples
        scores = {}
        for mode in ("argmax", "viterbi"):
            run.task.decode = mode
            scores[mode] = run.task.evaluate(run.model, test)["f1"]
        print(f"| {path} | {run.config.training.seed} | {scores['argmax']:.4f} | {scores['viterbi']:.4f} |")


if __name__ == "__main__":
    main()
