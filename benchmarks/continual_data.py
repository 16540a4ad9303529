"""Stage files and plans for the continual-learning benchmarks (docs/benchmarks.md, "Continual learning").

    python benchmarks/continual_data.py OUT [--epochs N] [--wnut-lr LR] [--wnut-seeds 42,43,44]

writes, from ../shared/datasets (never copied into the repository):
- OUT/clinc150/: CLINC150's 10 domains as 5 class-incremental stages of 2 domains (30 new intents each):
  train (100 per intent), dev and test (30 per intent) JSONL per stage; plan.yaml runs all six strategies.
- OUT/wnut17/: WNUT-17's 6 entity types over 3 stages of 2 types. The training sentences are split into 3
  disjoint parts (seeded); part k keeps only stage k's types (the others become O, as a newly annotated
  corpus would have them). Each stage's test set is the whole test file with only its types kept.
  With --wnut-seeds, also plan-seedN.yaml per training seed N: naive, lwf and joint only (the seed study).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from tuneforge.continual.prepare_stages import clinc_stages, wnut_stages

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
STRATEGIES = ["naive", "replay", "ewc", "lwf", "adapter-per-stage", "joint"]


def clinc(out: Path, epochs: int) -> Path:
    stages = clinc_stages(DATASETS, out)  # the stage files of examples/continual-clinc150.yaml
    plan = {"name": "clinc150-domains",
            "config": {"task": "sequence-classification", "model": {"name": "minilm", "max_length": 64},
                       "training": {"epochs": epochs, "lr": 1.0e-4, "batch_size": 32, "seed": 42,
                                    "progress": False}},
            "strategies": STRATEGIES, "replay": {"buffer_fraction": 0.02},
            "output_dir": "runs", "stages": stages}
    (out / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return out / "plan.yaml"


def wnut(out: Path, epochs: int, lr: float, seeds: list[int]) -> Path:
    stages = wnut_stages(DATASETS, out)  # the stage files of examples/continual-wnut17.yaml
    plan = {"name": "wnut17-types",
            "config": {"task": "token-classification", "model": {"name": "minilm", "max_length": 128},
                       "training": {"epochs": epochs, "lr": lr, "batch_size": 16, "warmup_ratio": 0.1,
                                    "weight_decay": 0.01, "seed": 42, "progress": False}},
            "strategies": STRATEGIES, "replay": {"buffer_fraction": 0.02},
            # lwf weight 0.25, O words only (the default distil_on): the best of the sweep in docs/benchmarks.md
            "lwf": {"weight": 0.25}, "output_dir": "runs", "stages": stages}
    (out / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    for seed in seeds:
        seeded = {**plan, "name": f"wnut17-types-seed{seed}", "strategies": ["naive", "lwf", "joint"],
                  "config": {**plan["config"], "training": {**plan["config"]["training"], "seed": seed}}}
        (out / f"plan-seed{seed}.yaml").write_text(yaml.safe_dump(seeded, sort_keys=False), encoding="utf-8")
    return out / "plan.yaml"


def seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--wnut-lr", type=float, default=1.0e-4, help="WNUT-17 plan's peak learning rate")
    parser.add_argument("--wnut-seeds", type=seed_list, default=[],
                        help="comma-separated training seeds: a WNUT-17 plan for each")
    args = parser.parse_args()
    print(clinc(args.out / "clinc150", args.epochs))
    print(wnut(args.out / "wnut17", args.epochs, args.wnut_lr, args.wnut_seeds))


if __name__ == "__main__":
    main()
