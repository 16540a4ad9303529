"""What training on a redacted copy of Banking77 costs in accuracy: the same config and budget, original vs
redacted data (``tuneforge redact`` with the pattern kinds and a WNUT-17 NER run for names, places and
organisations).

    nice -n 5 python benchmarks/pii_redacted_training.py --ner-run /work/pii-runs/wnut17-ner \\
        --recipe frozen-logistic --train-limit 3000

Recipes: ``finetune`` trains examples/intent-banking77.yaml (full fine-tuning of MiniLM, --epochs);
``frozen-logistic`` a seeded sample of --train-limit Banking77 train rows (a file of its own, so redaction
reads only those) as embedding-classification with a logistic head on frozen MiniLM sentence embeddings (no
backpropagation: what a shared CPU affords). Both arms use the same recipe, train_limit and
seed, one after the other; each is scored on its own test split (the redacted arm on the redacted test
set, as it would serve redacted traffic) and on the original test set (``tuneforge evaluate RUN --data``).
Writes benchmarks/results/pii_redacted_training.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, run_timed, write_results  # noqa: E402

CONFIG = REPO / "examples" / "intent-banking77.yaml"
TEST = REPO.parent / "shared" / "datasets" / "banking77" / "test.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ner-run", help="a WNUT-17 token-classification run (PERSON, LOCATION, ORGANIZATION)")
    parser.add_argument("--recipe", choices=["finetune", "frozen-logistic"], default="frozen-logistic")
    parser.add_argument("--train-limit", type=int, default=3000)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work", default=None, help="folder for the runs and the redacted copy (default: a temp)")
    parser.add_argument("--arms", default="original,redacted",
                        help="which arms to run now; an arm run earlier (same --work) is read from the results file")
    args = parser.parse_args()
    arms = args.arms.split(",")
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-pii-"))
    work.mkdir(parents=True, exist_ok=True)
    same = [f"training.seed={args.seed}", f"output_dir={work / 'runs'}", "training.progress=false"]
    if args.recipe == "finetune":
        same += [f"data.train_limit={args.train_limit}", f"training.epochs={args.epochs}"]
    privacy = [f"privacy.ner_run={args.ner_run}"] if args.ner_run else []
    redacted = work / "redacted"
    py = [sys.executable, "-m", "tuneforge"]
    config = CONFIG
    if args.recipe == "frozen-logistic":
        # a seeded sample of train as the train file: redaction and encoding cost what the budget allows
        with open(TEST.parent / "train.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        sample = random.Random(args.seed).sample(rows[1:], min(args.train_limit, len(rows) - 1))
        with open(work / "train.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([rows[0], *sample])
        config = work / "banking77-frozen-logistic.yaml"
        config.write_text(FROZEN.format(train=work / "train.csv", test=TEST), encoding="utf-8")
    out = REPO / "benchmarks" / "results" / "pii_redacted_training.json"
    results = json.loads(out.read_text()) if out.exists() and len(arms) < 2 else {"arms": {}}
    results["args"] = vars(args)
    if "redacted" in arms:
        redact_seconds = run_timed([*py, "redact", str(config), "--out", str(redacted), *_sets(privacy)])
        summary = json.loads((redacted / "redaction.json").read_text())
        results["redaction"] = {"seconds": round(redact_seconds, 1), **summary}
    for arm, arm_config in (("original", config), ("redacted", redacted / "config.yaml")):
        if arm not in arms:
            continue
        seconds = run_timed([*py, "train", str(arm_config), *_sets([*same, f"name={arm}"])])
        run = work / "runs" / arm
        report = json.loads((run / "report.json").read_text())
        scored = subprocess.run([*py, "evaluate", str(run), "--data", str(TEST), "--json"], cwd=REPO,
                                capture_output=True, text=True, check=True)
        original = json.loads(scored.stdout)
        results["arms"][arm] = {"wall_seconds": round(seconds, 1), "test_accuracy_own": report["test"]["accuracy"],
                                "test_accuracy_original": _accuracy(original),
                                "dev_accuracy": report["dev"]["accuracy"]}
        print(f"{arm}: test accuracy {results['arms'][arm]}")
    if {"original", "redacted"} <= set(results["arms"]):
        a, b = results["arms"]["original"], results["arms"]["redacted"]
        results["cost_points"] = {"own_test": round(100 * (a["test_accuracy_own"] - b["test_accuracy_own"]), 2),
                                  "original_test": round(100 * (a["test_accuracy_original"]
                                                                - b["test_accuracy_original"]), 2)}
        print(f"cost in accuracy points: {results['cost_points']}")
    write_results(out, results)


FROZEN = """# Banking77 as examples/intent-banking77.yaml, with a logistic head on frozen MiniLM sentence embeddings
name: banking77-frozen-logistic
task: embedding-classification
data:
  train: {train}
  test: {test}
  text_field: text
  label_field: category
  split: {{dev: 0.1, seed: 13, stratify: true}}
task_options:
  contrastive: none
  head: logistic
"""


def _sets(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


def _accuracy(scores: dict) -> float:
    return scores.get("accuracy", scores.get("test", {}).get("accuracy"))


if __name__ == "__main__":
    main()
