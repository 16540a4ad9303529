"""Faithfulness of ``tuneforge explain`` on a text-classification run: ERASER comprehensiveness and sufficiency of
integrated gradients and occlusion against random deletion, and each method's time per text.

    python benchmarks/explain_faithfulness.py RUN [--texts 200] [--steps 16 8] [--out FILE]

Texts: a seeded sample of the run's test split; the label explained is the one the run predicts. Each text is
explained by every method in turn (interleaved), so the timings share the machine's load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, package_versions, write_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--steps", type=int, nargs="+", default=[16])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "explain-faithfulness.json"))
    args = parser.parse_args()

    import torch

    from tuneforge.explain.explanation import load_for_explaining
    from tuneforge.explain.faithfulness import measure
    from tuneforge.explain.label_target import label_target
    from tuneforge.robustness.run_check import own_split, sample_examples

    run = load_for_explaining(args.run)
    examples, split = own_split(run.config, args.run)
    texts = [e.text for e in sample_examples(examples, args.texts, args.seed)]
    targets = [label_target(run, t) for t in texts]
    measure(run.model, targets[:2], args.steps[0])  # warm-up: imports, allocator, first-call costs
    results = {"run": str(args.run), "split": split, "texts": len(texts), "seed": args.seed,
               "torch_threads": torch.get_num_threads(), "words_per_text": sum(len(t.words) for t in targets) / len(
                   targets), "by_steps": {}, "versions": package_versions("torch", "captum", "transformers")}
    for steps in args.steps:
        started = time.perf_counter()
        results["by_steps"][str(steps)] = measure(run.model, targets, steps, args.seed)
        results["by_steps"][str(steps)]["wall_seconds"] = round(time.perf_counter() - started, 1)
        print(steps, results["by_steps"][str(steps)], flush=True)
    write_results(args.out, results)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
