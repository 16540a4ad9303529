"""WNUT-17 NER: tuneforge vs the Hugging Face Trainer run_ner recipe, same model/data/epochs/lr/batch/seed.

Each side runs as its own process, one after the other, on the same machine; the wall time is the
whole process (model load, training, evaluation), so start-up costs count on both sides. tuneforge
runs with its own defaults otherwise (10% warm-up, weight decay 0.01 except bias/LayerNorm, dev
evaluation each epoch with the best checkpoint restored); the peer with run_ner's defaults.
``--parity`` sets tuneforge's warm-up and weight decay to run_ner's (0 and 0) instead.

    .venv/bin/python benchmarks/ner_wnut17.py --seeds 42,43,44 --epochs 3 --lr 1e-4 --batch-size 16

Writes benchmarks/results/ner_wnut17-<seed>.json per seed and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common import REPO, WNUT, run_timed


def one_seed(args: argparse.Namespace, seed: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-ner-"))
    same = [f"training.epochs={args.epochs}", f"training.lr={args.lr}", f"training.batch_size={args.batch_size}",
            f"training.seed={seed}", f"output_dir={work}", "name=tf", *args.overrides]
    if args.parity:
        same += ["training.warmup_ratio=0", "training.weight_decay=0"]
    command = [sys.executable, "-m", "tuneforge", "train", "examples/ner-wnut17.yaml"]
    for item in same:
        command += ["--set", item]
    tf_wall = run_timed(command)
    tf = json.loads((work / "tf" / "report.json").read_text())
    result = {
        "args": {**vars(args), "seed": seed},
        "tuneforge": {"wall_seconds": round(tf_wall, 1), "test_f1": tf["test"]["f1"], "dev_f1": tf["dev"]["f1"],
                      "training": tf["training"]},
    }
    if args.baseline_from:
        previous = json.loads(Path(args.baseline_from.format(seed=seed)).read_text())
        result["hf_trainer"] = previous["hf_trainer"]
        result["hf_trainer"]["from"] = args.baseline_from.format(seed=seed)
    elif not args.skip_baseline:
        hf_json = work / "hf.json"
        hf_wall = run_timed([sys.executable, "benchmarks/hf_trainer_ner.py", "--train", str(WNUT / "wnut17train.conll"),
                         "--dev", str(WNUT / "emerging.dev.conll"), "--test", str(WNUT / "emerging.test.annotated"),
                         "--epochs", str(args.epochs), "--lr", str(args.lr), "--batch-size", str(args.batch_size),
                         "--seed", str(seed), "--output", str(hf_json)])
        hf = json.loads(hf_json.read_text())
        result["hf_trainer"] = {"wall_seconds": round(hf_wall, 1), "test_f1_strict": hf["test"]["strict_iob2_f1"],
                                "test_f1_default_mode": hf["test"]["f1"], "dev_f1_strict": hf["dev"]["strict_iob2_f1"],
                                "train_tokens_per_second": hf["train_tokens_per_second"]}
    out = REPO / "benchmarks" / "results" / f"ner_wnut17-{seed}{'-parity' if args.parity else ''}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seeds", default="42", help="comma-separated seeds")
    p.add_argument("--parity", action="store_true", help="tuneforge with run_ner's warm-up 0 and weight decay 0")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--baseline-from", help="take the peer's numbers from an earlier results file "
                   "of the same seed ({seed} is replaced) instead of running it again")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="extra tuneforge overrides")
    args = p.parse_args()
    results = [one_seed(args, int(seed)) for seed in args.seeds.split(",")]
    print("| seed | tuneforge test F1 | HF Trainer test F1 | tuneforge dev F1 | HF dev F1 | "
          "tuneforge wall s | HF wall s | HF/tuneforge time |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        t, h = r["tuneforge"], r.get("hf_trainer")
        hf_cells = (f"{h['test_f1_strict']:.4f} | ", f"{h['dev_f1_strict']:.4f} | ", f"{h['wall_seconds']} | ",
                    f"{h['wall_seconds'] / t['wall_seconds']:.2f}x |") if h else ("- | ",) * 3 + ("- |",)
        print(f"| {r['args']['seed']} | {t['test_f1']:.4f} | {hf_cells[0]}{t['dev_f1']:.4f} | {hf_cells[1]}"
              f"{t['wall_seconds']} | {hf_cells[2]}{hf_cells[3]}")
    if len(results) > 1:
        import statistics

        for key, pick in (("tuneforge", lambda r: r["tuneforge"]["test_f1"]),
                          ("HF Trainer", lambda r: r["hf_trainer"]["test_f1_strict"])):
            values = [pick(r) for r in results if key == "tuneforge" or "hf_trainer" in r]
            if len(values) > 1:
                print(f"{key}: mean test F1 {statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}")


if __name__ == "__main__":
    main()
