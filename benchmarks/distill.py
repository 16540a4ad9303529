"""Distillation: teacher, pruned (layers dropped, no training), distilled student, distilled + int8 ONNX.

One table per task: parameters, test score, batched throughput (tuneforge's predict path over the test texts,
batch 64) and batch-1 p50 latency, every model timed in the same process, interleaved round by round, so the
ratios to the teacher hold even while other jobs share the two cores.

    nice -n 5 python benchmarks/distill.py banking77   # teacher: MiniLM-L6, 1 epoch on 3000 texts; student: 3 layers
    nice -n 5 python benchmarks/distill.py wnut17

Runs go to runs/bench-distill/TASK/ (reused when already there); results to benchmarks/results/distill-TASK.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "datasets"
sys.path.insert(0, str(REPO / "benchmarks"))

# examples/qa-xquad.yaml: split by article, 855 / 161 / 174 questions
XQUAD = {"task": "question-answering", "model": {"name": "minilm", "max_length": 384, "stride": 128},
         "data": {"train": str(DATA / "xquad" / "xquad.en.json"), "split": {"dev": 0.15, "test": 0.15, "seed": 13}},
         "task_options": {"max_answer_length": 30, "n_best": 20},
         "training": {"epochs": 3, "batch_size": 16, "eval_batch_size": 64, "lr": 1e-4, "progress": False, "seed": 42}}
# the same teacher trained 6 epochs: test F1 0.45 against 3 epochs' 0.24, which leave it far from converged
XQUAD_6_EPOCHS = {**XQUAD, "training": {**XQUAD["training"], "epochs": 6}}

TASKS = {
    "banking77": {
        "config": {"task": "sequence-classification", "model": {"name": "minilm", "max_length": 64},
                   "data": {"train": str(DATA / "banking77" / "train.csv"),
                            "test": str(DATA / "banking77" / "test.csv"),
                            "label_field": "category", "split": {"dev": 0.1}, "train_limit": 1200},
                   "training": {"epochs": 1, "batch_size": 16, "lr": 3e-4, "progress": False, "seed": 1}},
        "student_epochs": 2, "metric": "accuracy", "test_sample": 500,
    },
    "wnut17": {
        "config": {"task": "token-classification", "model": {"name": "minilm", "max_length": 128},
                   "data": {"train": str(DATA / "wnut17" / "wnut17train.conll"),
                            "dev": str(DATA / "wnut17" / "emerging.dev.conll"),
                            "test": str(DATA / "wnut17" / "emerging.test.annotated")},
                   "training": {"epochs": 3, "batch_size": 16, "lr": 1e-4, "progress": False, "seed": 1}},
        "student_epochs": 6, "metric": "f1",
    },
    "banking77-full": {  # examples/intent-banking77.yaml: a converged teacher (all 10,003 train texts, 5 epochs)
        "config": {"task": "sequence-classification", "model": {"name": "minilm", "max_length": 128},
                   "data": {"train": str(DATA / "banking77" / "train.csv"),
                            "test": str(DATA / "banking77" / "test.csv"), "label_field": "category",
                            "split": {"dev": 0.1, "seed": 13, "stratify": True}},
                   "training": {"epochs": 5, "batch_size": 32, "lr": 1e-4, "progress": False, "seed": 42}},
        "student_epochs": 5, "metric": "accuracy",
    },
    "xquad": {"config": XQUAD, "student_epochs": 6, "metric": "f1"},
    "xquad-6ep": {"config": XQUAD_6_EPOCHS, "student_epochs": 5, "metric": "f1"},
    "sgd-replies": {  # examples/generation-sgd.yaml (a LoRA teacher, 60 steps); generation has no ONNX graph
        "config": {"task": "generation", "model": {"name": "smollm2-135m", "max_length": 384},
                   "data": {"format": "sgd", "train": str(DATA / "sgd" / "train.jsonl"),
                            "test": str(DATA / "sgd" / "dev.jsonl"), "train_limit": 2000,
                            "split": {"dev": 0.05, "seed": 13}},  # export --drop-layers reports dev
                   "task_options": {"system": "You are a customer-service assistant for restaurants, travel, "
                                    "banking, events and other services. Reply to the user's last message in one "
                                    "or two short sentences.",
                                    "assistant_turns": "last", "too_long": "truncate-left",
                                    "metrics": ["bleu", "chrf", "slot_recall"], "eval_examples": 100},
                   "training": {"max_steps": 60, "batch_tokens": 2048, "lr": 1e-3, "warmup_ratio": 0.05,
                                "progress": False, "seed": 42},
                   "inference": {"decoding": {"max_new_tokens": 48}}},
        "student_steps": 60, "metric": "bleu", "int8": False,
    },
}


def build(task: str, folder: Path, layers: int, student_epochs: int | None, student: str = "distilled",
          hidden_weight: float = 0.0, unlabelled: str | None = None, ffn_share: float = 1.0,
          overrides: list[str] | None = None) -> dict[str, Path]:
    """The teacher, pruned and distilled runs and the int8 graph (each made only when missing)."""
    import tuneforge
    from tuneforge.distill.recipe import DistillOptions, distill
    from tuneforge.export.onnx import export_onnx
    from tuneforge.export.pruned import prune_run

    spec = TASKS[task]
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(spec["config"]))
    if spec.get("test_sample"):  # a seeded sample of the test file: the two shared cores score it in minutes
        config["data"]["test"] = str(sample_file(Path(config["data"]["test"]), folder, spec["test_sample"]))
    pruned = "pruned" if layers == 3 else f"pruned-{layers}l"
    if ffn_share != 1:
        pruned += f"-ffn{ffn_share:g}"
    paths = {"teacher": folder / "teacher", "pruned": folder / pruned, "distilled": folder / student}
    if spec.get("int8", True):
        paths["int8"] = folder / f"{student}-int8"
    timings = {}
    if not (paths["teacher"] / "report.json").is_file():
        started = time.perf_counter()
        tuneforge.train({**config, "name": "teacher", "output_dir": str(folder)})
        timings["teacher_train_s"] = time.perf_counter() - started
    depth = teacher_depth(paths["teacher"])
    if not paths["pruned"].exists():
        prune_run(paths["teacher"], paths["pruned"], depth - layers, ffn_share)
    if not (paths["distilled"] / "report.json").is_file():
        started = time.perf_counter()
        budget = ([f"training.max_steps={spec['student_steps']}"] if "student_steps" in spec
                  else [f"training.epochs={student_epochs or spec['student_epochs']}"])
        every = layers == depth  # every layer kept, each narrowed (--ffn-share): --keep names them all
        distill(paths["teacher"], DistillOptions(layers=None if every else layers,
                                                 keep=list(range(depth)) if every else None,
                                                 name=student, output_dir=str(folder),
                                                 hidden_weight=hidden_weight, unlabelled=unlabelled,
                                                 ffn_share=ffn_share,
                                                 overrides=budget + (overrides or [])))
        timings["student_train_s"] = time.perf_counter() - started
    if "int8" in paths and not paths["int8"].exists():
        export_onnx(paths["distilled"], paths["int8"], quantize="int8")
    if timings:  # kept beside an earlier student's
        known = folder / "timings.json"
        earlier = json.loads(known.read_text()) if known.is_file() else {}
        known.write_text(json.dumps(earlier | {(f"{student}_{k}" if k.startswith("student") and student != "distilled"
                                                else k): v for k, v in timings.items()}))
    return paths


def teacher_depth(run: Path) -> int:
    """The teacher's layer count: its model folder's config, or (an adapter run) its base model's."""
    if (run / "model" / "config.json").is_file():
        return json.loads((run / "model" / "config.json").read_text())["num_hidden_layers"]
    from transformers import AutoConfig

    from tuneforge.config.loading import load_config
    from tuneforge.models import resolve

    return AutoConfig.from_pretrained(resolve(load_config(run / "config.yaml").model.name)).num_hidden_layers


def sample_file(path: Path, folder: Path, n: int) -> Path:
    """A seeded sample of ``n`` records of a CSV file (header kept), under the benchmark's run folder."""
    import random

    out = folder / f"{path.stem}-sample{n}{path.suffix}"
    if not out.is_file():
        import csv

        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        body = random.Random(13).sample(rows[1:], n)
        with out.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([rows[0], *body])
    return out


def load_models(paths: dict[str, Path]):
    """name → a loaded Run; the int8 one is the distilled run answered by the exported int8 graph."""
    from tuneforge.engine.onnx.model import OnnxEngine, OnnxModel
    from tuneforge.engine.onnx.session import OnnxSession
    from tuneforge.runs.directory import Run, load_run

    runs = {name: load_run(paths[name], overrides=["inference.engine=torch"])
            for name in ("teacher", "pruned", "distilled")}
    if "int8" not in paths:
        return runs, {}
    export = json.loads((paths["int8"] / "export.json").read_text())
    base = runs["distilled"]
    engine = OnnxEngine(base.model, base.path / "model", paths["int8"])
    engine.engine = OnnxModel(OnnxSession(paths["int8"] / "model.onnx", export["inputs"], export["outputs"]))
    runs["distilled + int8 ONNX"] = Run(base.path, base.config, engine, base.tokenizer, base.task)
    return runs, export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--layers", type=int, default=3, help="student layers (of the teacher's 6; all 6 "
                        "with --ffn-share below 1)")
    parser.add_argument("--student-epochs", type=int, default=None)
    parser.add_argument("--student", default="distilled", help="the student run's folder name (another name "
                        "keeps an earlier student beside it; default distilled, or distilled-Nl for --layers N ≠ 3)")
    parser.add_argument("--hidden-weight", type=float, default=0.0, help="distill --hidden-weight")
    parser.add_argument("--ffn-share", type=float, default=1.0,
                        help="distill/export --ffn-share: the share of each kept layer's feed-forward neurons")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="distill --set on the student's config (e.g. training.lr=2e-4)")
    parser.add_argument("--unlabelled", help="distill --unlabelled: texts the teacher labels for the transfer set")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved batched rounds")
    parser.add_argument("--calls", type=int, default=40, help="interleaved batch-1 calls per model")
    parser.add_argument("--texts", type=int, default=256, help="test texts per batched round")
    args = parser.parse_args()
    import torch

    folder = REPO / "runs" / "bench-distill" / args.task
    if args.layers != 3 and args.student == "distilled":
        args.student = f"distilled-{args.layers}l"
    paths = build(args.task, folder, args.layers, args.student_epochs, args.student, args.hidden_weight,
                  args.unlabelled, args.ffn_share, args.overrides)
    runs, export = load_models(paths)
    spec = TASKS[args.task]
    metric = spec["metric"]
    teacher = runs["teacher"]
    splits = type(teacher.task).load_splits(teacher.config, strict=True)
    test = splits["test"].examples
    inputs = [teacher.task.prediction_input(e) for e in test]

    scores, params = {}, {}
    for name, run in runs.items():  # the runs' own test scores (report.json); the int8 graph's measured here
        if name in paths:
            scores[name] = json.loads((paths[name] / "report.json").read_text())["test"][metric]
            params[name] = sum(p.numel() for p in run.model.parameters())
        else:
            with torch.inference_mode():
                scores[name] = run.task.evaluate(run.model, test, **run.config.eval_batching())[metric]
            params[name] = params["distilled"]

    batch = inputs[: args.texts]
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up
        run.predict(batch[:64])
    for _ in range(args.rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run.predict(batch)
            rates[name].append(len(batch) / (time.perf_counter() - started))
    latencies: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for i in range(args.calls):
        order = order[1:] + order[:1]
        for name in order:
            started = time.perf_counter()
            runs[name].predict([inputs[i % len(inputs)]])
            latencies[name].append((time.perf_counter() - started) * 1000)

    table = {}
    for name in runs:
        rate, p50 = statistics.median(rates[name]), statistics.median(latencies[name])
        table[name] = {"parameters": params[name], f"test_{metric}": round(scores[name], 4),
                       "texts_per_s": round(rate, 1), "p50_ms": round(p50, 2)}
    t = table["teacher"]
    for row in table.values():
        row["throughput_x_teacher"] = round(row["texts_per_s"] / t["texts_per_s"], 2)
        row["p50_x_teacher"] = round(row["p50_ms"] / t["p50_ms"], 2)
        row["score_change_points"] = round(100 * (row[f"test_{metric}"] - t[f"test_{metric}"]), 2)
    timings = json.loads((folder / "timings.json").read_text()) if (folder / "timings.json").is_file() else {}
    pruning = json.loads((paths["pruned"] / "report.json").read_text())["pruning"]
    distillation = json.loads((paths["distilled"] / "report.json").read_text())["distillation"]
    from common import write_results

    suffix = "" if args.student == "distilled" else f"-{args.student}"
    out = REPO / "benchmarks" / "results" / f"distill-{args.task}{suffix}.json"
    write_results(out, {"task": args.task, "metric": metric, "texts": len(batch), "rounds": args.rounds,
                        "calls": args.calls, "table": table, "pruning": pruning,
                        "distillation": {k: v for k, v in distillation.items() if k != "teacher"},
                        "int8_export": export.get("dev_metric"), "timings": timings,
                        "note": "2 shared cores; other agents' jobs ran at the same time"})
    print(f"| {args.task} | parameters | test {metric} | change (points) | texts/s (batch 64) | × teacher | "
          "batch-1 p50 ms | × teacher |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in table.items():
        print(f"| {name} | {row['parameters'] / 1e6:.1f} M | {row[f'test_{metric}']:.4f} | "
              f"{row['score_change_points']:+.2f} | {row['texts_per_s']:.0f} | {row['throughput_x_teacher']:.2f} | "
              f"{row['p50_ms']:.1f} | {row['p50_x_teacher']:.2f} |")


if __name__ == "__main__":
    main()
