"""Memory of contrastive pair generation: CLINC150, 150 labels x 16 shots, 20 partners per example.

    python benchmarks/pair_memory.py [--shots 16] [--per-example 20]

Builds the training features of ``contrastive: pairs`` exactly as a run does (tokenize the k-shot
examples, draw the pairs, one feature per pair) and reports the peak resident memory of the process
before and after, and the bytes the pair arrays and features take (tracemalloc). SetFit's reference
sampler materializes every positive and negative combination as text pairs; here negatives are the
batch's other labels, never stored.
"""

from __future__ import annotations

import argparse
import json
import resource
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--per-example", type=int, default=20)
    args = parser.parse_args()
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.studies.fewshot import draw_shots
    from tuneforge.tasks import task_class

    cfg = load_config(ROOT / "examples" / "fewshot-clinc150.yaml",
                      ["task_options.contrastive=pairs", f"task_options.pairs_per_example={args.per_example}",
                       "task_options.max_pairs=100000000"])
    Task = task_class(cfg.task)
    splits = Task.load_splits(cfg)
    shots = draw_shots(splits["train"].examples, args.shots, 0)
    task = Task.for_training(load_tokenizer(cfg.model.name), cfg, {"train": splits["train"].__class__(shots)})
    before = rss_mib()
    tracemalloc.start()
    features = task.encode(shots)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {"labels": len(task.labels), "examples": len(shots), "pairs": len(features),
              "peak_rss_before_mib": round(before, 1), "peak_rss_after_mib": round(rss_mib(), 1),
              "traced_peak_mib": round(peak / 2**20, 2), "traced_kept_mib": round(current / 2**20, 2)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
