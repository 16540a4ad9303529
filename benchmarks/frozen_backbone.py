"""Frozen-backbone speed-ups: full fine-tuning vs freezing the bottom layers vs freezing + caching them.

Same data, epochs, batch and seed; the wall time of ``tuneforge.train`` includes building the cache.

    .venv/bin/python benchmarks/frozen_backbone.py --epochs 3 --limit 1500 --trainable-layers 2

Writes benchmarks/results/frozen_backbone.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WNUT = REPO.parent / "shared" / "datasets" / "wnut17"


def subset(path: Path, limit: int, out: Path) -> Path:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.strip():
            current.append(line)
        elif current:
            sentences.append(current)
            current = []
    out.write_text("\n\n".join("\n".join(s) for s in sentences[:limit]) + "\n", encoding="utf-8")
    return out


def main() -> None:
    import tuneforge

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--limit", type=int, default=1500, help="train sentences used")
    p.add_argument("--trainable-layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-frozen-"))
    train = subset(WNUT / "wnut17train.conll", args.limit, work / "train.conll")
    common = [f"data.train={train}", "data.test=null", f"training.epochs={args.epochs}", f"training.lr={args.lr}",
              f"training.seed={args.seed}", "training.batch_size=16", f"output_dir={work}"]
    freeze = ["method=freeze", f"freeze.trainable_layers={args.trainable_layers}"]
    variants = {
        "full fine-tuning": ["name=full"],
        f"freeze (top {args.trainable_layers} of 6 layers train)": ["name=freeze", *freeze],
        f"freeze + cache_frozen (top {args.trainable_layers})": ["name=cached", *freeze, "freeze.cache_frozen=true"],
    }
    rows = {}
    for label, extra in variants.items():
        start = time.perf_counter()
        run = tuneforge.train(REPO / "examples" / "ner-wnut17.yaml", [*common, *extra])
        seconds = time.perf_counter() - start
        report = json.loads((run / "report.json").read_text())
        rows[label] = {"train_call_seconds": round(seconds, 1), "loop_seconds": report["training"]["train_seconds"],
                       "trainable_parameters": report["training"]["trainable_parameters"],
                       "dev_f1": round(report["dev"]["f1"], 4)}
    out = REPO / "benchmarks" / "results" / "frozen_backbone.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2) + "\n")
    base = rows["full fine-tuning"]["train_call_seconds"]
    print("| variant | trainable params | train() wall s | speed-up | dev F1 |")
    print("|---|---:|---:|---:|---:|")
    for label, r in rows.items():
        print(f"| {label} | {r['trainable_parameters']:,} | {r['train_call_seconds']} | "
              f"{base / r['train_call_seconds']:.2f}x | {r['dev_f1']:.4f} |")


if __name__ == "__main__":
    main()
