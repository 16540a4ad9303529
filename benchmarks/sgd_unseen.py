"""Intent accuracy on the SGD dev services absent from train: zero-shot, schema-guided, majority baseline.

    python benchmarks/sgd_unseen.py [--train-limit 8000] [--output benchmarks/results/sgd_unseen.json]

Every user turn of the unseen services' frames is one example, chosen among its service's intents and
NONE (``data.format: sgd-intents``). (a) zero-shot: the bundled MiniLM matches the turn to the dev
schema's intent descriptions; (b) schema-guided: the same, with the encoder first trained on the train
services' turns and descriptions (examples/sgd-intents-schema-guided.yaml); (c) majority: each service's
most frequent label *in the evaluation data itself* (an upper bound on any one-answer-per-service baseline).
Per service and overall (micro: over turns).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from tuneforge.api import train
from tuneforge.runs.directory import untrained_run

ROOT = Path(__file__).resolve().parent.parent
UNSEEN = ("Alarm_1", "Banks_2", "Flights_3", "Hotels_4", "Media_2", "Movies_2", "Restaurants_2", "Services_4")


def unseen_scores(model_name: str) -> dict:
    run = untrained_run(ROOT / "examples" / "sgd-intents-zero-shot.yaml", [f"model.name={model_name}"])
    examples = [e for e in run.task.read(run.config.data.test, run.config).examples if e.group in UNSEEN]
    started = time.perf_counter()
    scores = run.task.evaluate(run.model, examples, **run.config.eval_batching())
    return {"accuracy": scores["accuracy"], "per_service": scores["per_group"], "examples": len(examples),
            "seconds": round(time.perf_counter() - started, 1)}


def majority(model_name: str) -> dict:
    run = untrained_run(ROOT / "examples" / "sgd-intents-zero-shot.yaml", [f"model.name={model_name}"])
    examples = [e for e in run.task.read(run.config.data.test, run.config).examples if e.group in UNSEEN]
    per = {}
    right = 0
    for service in UNSEEN:
        labels = Counter(e.label for e in examples if e.group == service)
        top = labels.most_common(1)[0][1]
        per[service] = {"accuracy": top / sum(labels.values()), "examples": sum(labels.values()),
                        "answer": labels.most_common(1)[0][0]}
        right += top
    return {"accuracy": right / len(examples), "per_service": per, "examples": len(examples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-limit", type=int, default=8000)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "sgd_unseen.json"))
    parser.add_argument("--runs", default="/tmp/tuneforge-sgd-runs")
    args = parser.parse_args()
    result = {"unseen_services": UNSEEN, "majority": majority("minilm"), "zero_shot": unseen_scores("minilm")}
    print("zero-shot", result["zero_shot"]["accuracy"], flush=True)
    started = time.perf_counter()
    run_dir = train(str(ROOT / "examples" / "sgd-intents-schema-guided.yaml"),
                    [f"data.train_limit={args.train_limit}", f"output_dir={args.runs}", "training.progress=false"])
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    result["schema_guided"] = {**unseen_scores(str(run_dir / "model")), "train_examples": args.train_limit,
                               "train_seconds": report["training"]["train_seconds"],
                               "wall_seconds_with_eval": round(time.perf_counter() - started, 1)}
    print("schema-guided", result["schema_guided"]["accuracy"], flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = ["| service | turns | majority | zero-shot | schema-guided |", "|---|---:|---:|---:|---:|"]
    for s in UNSEEN:
        lines.append(f"| {s} | {result['majority']['per_service'][s]['examples']} | "
                     f"{result['majority']['per_service'][s]['accuracy']:.3f} | "
                     f"{result['zero_shot']['per_service'][s]['accuracy']:.3f} | "
                     f"{result['schema_guided']['per_service'][s]['accuracy']:.3f} |")
    lines.append(f"| **all unseen** | {result['zero_shot']['examples']} | {result['majority']['accuracy']:.3f} | "
                 f"{result['zero_shot']['accuracy']:.3f} | {result['schema_guided']['accuracy']:.3f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
