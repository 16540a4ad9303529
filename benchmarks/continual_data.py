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
import json
import random
from pathlib import Path

import yaml

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
CLINC_STAGES = [("banking", "credit_cards"), ("kitchen_and_dining", "home"), ("auto_and_commute", "travel"),
                ("utility", "work"), ("small_talk", "meta")]
WNUT_STAGES = [("person", "location"), ("corporation", "product"), ("creative-work", "group")]
STRATEGIES = ["naive", "replay", "ewc", "lwf", "adapter-per-stage", "joint"]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def clinc(out: Path, epochs: int) -> Path:
    data = json.loads((DATASETS / "clinc150" / "data_full.json").read_text())
    domains = json.loads((DATASETS / "clinc150" / "domains.json").read_text())
    stages = []
    for pair in CLINC_STAGES:
        intents = {i for d in pair for i in domains[d]}
        name = "+".join(pair)
        for split, key in (("train", "train"), ("dev", "val"), ("test", "test")):
            write_jsonl(out / name / f"{split}.jsonl", [{"text": t, "label": y} for t, y in data[key] if y in intents])
        stages.append({"name": name, "train": f"{name}/train.jsonl", "dev": f"{name}/dev.jsonl",
                       "test": f"{name}/test.jsonl", "new_labels": sorted(intents)})
    plan = {"name": "clinc150-domains",
            "config": {"task": "sequence-classification", "model": {"name": "minilm", "max_length": 64},
                       "training": {"epochs": epochs, "lr": 1.0e-4, "batch_size": 32, "seed": 42,
                                    "progress": False}},
            "strategies": STRATEGIES, "replay": {"buffer_fraction": 0.02},
            "output_dir": "runs", "stages": stages}
    (out / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return out / "plan.yaml"


def read_conll(path: Path) -> list[list[tuple[str, str]]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        word, tag = line.split("\t")[0], line.split("\t")[-1]
        current.append((word, tag))
    if current:
        sentences.append(current)
    return sentences


def keep_types(sentence: list[tuple[str, str]], kinds: set[str]) -> list[tuple[str, str]]:
    return [(w, t if t != "O" and t.split("-", 1)[1] in kinds else "O") for w, t in sentence]


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n", encoding="utf-8")


def wnut(out: Path, epochs: int, lr: float, seeds: list[int]) -> Path:
    folder = DATASETS / "wnut17"
    train = read_conll(folder / "wnut17train.conll")
    dev, test = read_conll(folder / "emerging.dev.conll"), read_conll(folder / "emerging.test.annotated")
    order = list(range(len(train)))
    random.Random(13).shuffle(order)
    parts = [order[k::len(WNUT_STAGES)] for k in range(len(WNUT_STAGES))]
    stages = []
    for k, kinds in enumerate(WNUT_STAGES):
        name = "+".join(kinds)
        write_conll(out / name / "train.conll", [keep_types(train[i], set(kinds)) for i in sorted(parts[k])])
        write_conll(out / name / "dev.conll", [keep_types(s, set(kinds)) for s in dev])
        write_conll(out / name / "test.conll", [keep_types(s, set(kinds)) for s in test])
        stages.append({"name": name, "train": f"{name}/train.conll", "dev": f"{name}/dev.conll",
                       "test": f"{name}/test.conll", "new_labels": list(kinds)})
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
