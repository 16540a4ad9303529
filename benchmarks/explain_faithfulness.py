"""Faithfulness of ``tuneforge explain`` on a text-classification run: ERASER comprehensiveness and sufficiency of
integrated gradients and occlusion against random deletion, and each method's time per text.

    python benchmarks/explain_faithfulness.py RUN [--texts 200] [--steps 16 8] [--parts 2] [--out FILE]

Texts: a seeded sample of the run's test split; the label explained is the one the run predicts. Each text is
explained by every method in turn (interleaved), so the timings share the machine's load. ``--parts N`` splits
the texts among N processes (one torch thread each) and merges their means, weighted by their texts.
"""

from __future__ import annotations

import argparse
import multiprocessing
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
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "explain-faithfulness.json"))
    args = parser.parse_args()

    from tuneforge.robustness.run_check import own_split, sample_examples
    from tuneforge.runs.directory import config_of

    examples, split = own_split(config_of(args.run), args.run)
    texts = [e.text for e in sample_examples(examples, args.texts, args.seed)]
    parts = [texts[i::args.parts] for i in range(args.parts)]
    results = {"run": str(args.run), "split": split, "texts": len(texts), "seed": args.seed, "parts": args.parts,
               "torch_threads_per_part": 1, "by_steps": {},
               "versions": package_versions("torch", "captum", "transformers")}
    for steps in args.steps:
        started = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(args.parts) as pool:
            measured = pool.starmap(_part, [(args.run, part, steps, args.seed, f"{args.out}.part{i}")
                                            for i, part in enumerate(parts)])
        merged: dict = {}
        for n, _, m in measured:
            for method, values in m.items():
                for key, v in values.items():
                    merged.setdefault(method, {}).setdefault(key, 0.0)
                    merged[method][key] += v * n / len(texts)
        merged = {m: {k: round(v, 4) for k, v in values.items()} for m, values in merged.items()}
        merged["words_per_text"] = round(sum(w for _, w, _ in measured) / len(texts), 2)
        merged["wall_seconds"] = round(time.perf_counter() - started, 1)
        results["by_steps"][str(steps)] = merged
        print(steps, merged, flush=True)
    write_results(args.out, results)
    print(f"written to {args.out}")


def _part(run_dir: str, texts: list[str], steps: int, seed: int, partial: str):
    """One process's share: (texts, words in them, the measured means); the means so far are rewritten to
    ``partial`` after every text, so a run cut short still says what it measured (and on how many texts)."""
    import torch

    torch.set_num_threads(1)
    from tuneforge.explain.explanation import load_for_explaining
    from tuneforge.explain.faithfulness import measure
    from tuneforge.explain.label_target import label_target

    run = load_for_explaining(run_dir)
    targets = [label_target(run, t) for t in texts]
    measure(run.model, targets[:2], steps)  # warm-up: imports, allocator, first-call costs
    words = sum(len(t.words) for t in targets)

    def progress(done: int, means: dict) -> None:
        write_results(partial, {"texts_done": done, "of": len(targets), "words": sum(len(t.words) for t in
                                                                                   targets[:done]), **means})

    return len(targets), words, measure(run.model, targets, steps, seed, progress)


if __name__ == "__main__":
    main()
