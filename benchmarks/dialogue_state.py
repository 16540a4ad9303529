"""Dialogue state tracking on SGD dev: learning curve, ablations and predict speed (run by hand; results go to
benchmarks/results/dialogue_state-*.json and docs/benchmarks.md).

    python benchmarks/dialogue_state.py curve RUN
        joint goal accuracy of the dev evaluations during training (metrics.jsonl) against the training
        dialogues seen by then (steps x batch / inputs per dialogue)
    python benchmarks/dialogue_state.py ablate RUN --dialogues 300
        the run on an evenly spread dev sample: as trained, without carry-over (the tracker never copies a
        value from another service), and reading the user turn alone (both inference switches on one model)
    python benchmarks/dialogue_state.py pair WORKDIR --train-dialogues 600 --dialogues 300
        two runs at one budget, with and without the system turn in the input, scored on the same dev sample
    python benchmarks/dialogue_state.py per-message INTENT_RUN SLOTS_RUN --dialogues 300
        the assistant's per-message models (examples/customer-service: an intent classifier over the user's last
        messages and a slot tagger of one message) turned into a state by accumulation, on the same dev sample
    python benchmarks/dialogue_state.py speed RUN --per-service 20
        predict throughput (dialogues/s, batched as predict does) for each dev service's single-service
        dialogues, against the service's schema elements (intents + slots + categorical values)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SGD = ROOT.parent / "shared" / "datasets" / "sgd"
SCHEMAS = [str(SGD / "train_schema.json"), str(SGD / "dev_schema.json")]
RESULTS = ROOT / "benchmarks" / "results"
SHOWN = ("joint_goal_accuracy", "joint_goal_accuracy_seen", "joint_goal_accuracy_unseen", "average_goal_accuracy",
         "active_intent_accuracy", "requested_slots_f1")


def dev_sample(count: int) -> list[str]:
    """``count`` dev dialogues spread evenly over the file (its services are grouped by file)."""
    lines = (SGD / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [lines[i] for i in np.linspace(0, len(lines) - 1, count).round().astype(int)]


def score(run, lines: list[str], overrides: list[str] | None = None) -> dict[str, float]:
    import tuneforge

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "dev-sample.jsonl"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        loaded = tuneforge.load_run(run, overrides=overrides)
        scores = tuneforge.evaluate(loaded, data)
    return {k: round(v, 4) for k, v in scores.items() if k in SHOWN}


def curve(args: argparse.Namespace) -> dict:
    run = Path(args.run)
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    batch = config["training"]["batch_size"]
    dialogues = config["task_options"]["train_dialogues"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = max(r["step"] for r in records)
    points = [{"step": r["step"], "train_dialogues_seen": round(dialogues * r["step"] / steps),
               "inputs_seen": r["step"] * batch,
               **{k: round(r[k], 4) for k in SHOWN if k in r}} for r in records if r.get("split") == "dev"]
    return {"run": str(run), "batch_size": batch, "train_dialogues": dialogues, "points": points}


def ablate(args: argparse.Namespace) -> dict:
    lines = dev_sample(args.dialogues)
    return {"run": args.run, "dev_dialogues": len(lines),
            "as trained": score(args.run, lines),
            "without carry-over": score(args.run, lines, ["task_options.carry_over=false"]),
            "input without the system turn (same model)": score(args.run, lines,
                                                                ["task_options.system_turn=false"])}


def pair(args: argparse.Namespace) -> dict:
    import tuneforge

    work = Path(args.workdir)
    lines = dev_sample(args.dialogues)
    out = {"train_dialogues": args.train_dialogues, "dev_dialogues": len(lines)}
    for name, system_turn in (("with the system turn", True), ("without the system turn", False)):
        started = time.perf_counter()
        run = tuneforge.train({
            "name": f"dst-system-{str(system_turn).lower()}", "task": "dialogue-state", "output_dir": str(work),
            "model": {"name": "minilm", "max_length": 384},
            "data": {"train": str(SGD / "train.jsonl")},
            "task_options": {"schema_files": SCHEMAS, "train_dialogues": args.train_dialogues,
                             "system_turn": system_turn},
            "training": {"epochs": 1, "batch_size": 16, "lr": 1e-4, "warmup_ratio": 0.05}})
        out[name] = {"train_seconds": round(time.perf_counter() - started, 1), **score(run, lines)}
        print(name, out[name], file=sys.stderr, flush=True)
    return out


def per_message(args: argparse.Namespace) -> dict:
    """Each user frame's state from the per-message models: the service's active intent is the classifier's
    answer when it is one of the service's intents, else the intent it had; a tagged span whose type is one of
    the service's slots sets that slot (a categorical one only to one of its possible values, matched without
    case); nothing is ever requested. Scored by the official metrics, as the tracker is."""
    import copy

    import tuneforge
    from tuneforge.assistant.formats import intent_text
    from tuneforge.tasks.dialogue_state import metrics as sgd
    from tuneforge.tasks.dialogue_state.schema import read_schemas

    schemas = read_schemas(*SCHEMAS)
    seen = {service["service_name"] for service in json.loads(Path(SCHEMAS[0]).read_text(encoding="utf-8"))}
    gold = [json.loads(line) for line in dev_sample(args.dialogues)]
    intent_inputs, slot_inputs = [], []
    for record in gold:
        users: list[str] = []
        for turn in record["turns"]:
            if turn["speaker"] == "user":
                users.append(turn["text"])
                intent_inputs.append(intent_text(users))
                slot_inputs.append(turn["text"])
    started = time.perf_counter()
    intents = [p["label"] for p in tuneforge.predict(args.intent_run, intent_inputs)]
    tagged = tuneforge.predict(args.slots_run, slot_inputs)
    seconds = time.perf_counter() - started
    predicted, k = [], 0
    for record in gold:
        out = copy.deepcopy(record)
        state: dict[str, dict[str, list[str]]] = {}
        active: dict[str, str] = {}
        for turn in out["turns"]:
            if turn["speaker"] != "user":
                continue
            intent, entities = intents[k], tagged[k]["entities"]
            k += 1
            for frame in turn["frames"]:
                service = schemas[frame["service"]]
                if intent in {i.name for i in service.intents}:
                    active[service.name] = intent
                values = state.setdefault(service.name, {})
                for entity in entities:
                    slot = service.slot_by_name.get(entity["type"])
                    if slot is None:
                        continue
                    value = entity["text"]
                    if slot.is_categorical:
                        value = next((v for v in slot.possible_values if v.casefold() == value.casefold()), None)
                    if value is not None:
                        values[slot.name] = [value]
                frame.update(intent=active.get(service.name, "NONE"), requested_slots=[],
                             slot_values=copy.deepcopy(values))
        predicted.append(out)
    scores = sgd.score_dialogues(gold, predicted, schemas, seen)
    suffixes = {sgd.ALL_SERVICES: "", sgd.SEEN_SERVICES: "_seen", sgd.UNSEEN_SERVICES: "_unseen"}
    flat = {metric + suffix: round(value, 4) for collection, suffix in suffixes.items()
            for metric, value in scores.get(collection, {}).items()}
    return {"intent_run": args.intent_run, "slots_run": args.slots_run, "dev_dialogues": len(gold),
            "predict_seconds": round(seconds, 1), **{k: v for k, v in flat.items() if k in SHOWN}}


def speed(args: argparse.Namespace) -> dict:
    import tuneforge
    from tuneforge.tasks.dialogue_state.schema import read_schemas

    schemas = read_schemas(*SCHEMAS)
    by_service: dict[str, list[dict]] = {}
    for line in (SGD / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if len(record["services"]) == 1:
            by_service.setdefault(record["services"][0], []).append(record)
    run = tuneforge.load_run(args.run)
    rows = []
    for name, records in sorted(by_service.items()):
        s = schemas[name]
        picked = records[: args.per_service]
        run.predict(picked[:2])  # warm-up
        started = time.perf_counter()
        run.predict(picked)
        seconds = time.perf_counter() - started
        rows.append({"service": name, "intents": len(s.intents), "slots": len(s.slots),
                     "categorical_values": sum(len(x.possible_values) for x in s.slots if x.is_categorical),
                     "schema_elements": 1 + len(s.intents) + len(s.slots)
                     + sum(len(x.possible_values) for x in s.slots if x.is_categorical),
                     "dialogues": len(picked), "user_turns": sum(t["speaker"] == "user" for r in picked
                                                                 for t in r["turns"]),
                     "dialogues_per_s": round(len(picked) / seconds, 2)})
        print(rows[-1], file=sys.stderr, flush=True)
    return {"run": args.run, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, extra in (("curve", ()), ("ablate", ("--dialogues",)), ("speed", ("--per-service",))):
        p = sub.add_parser(name)
        p.add_argument("run")
        for option in extra:
            p.add_argument(option, type=int, default=300 if option == "--dialogues" else 20)
    p = sub.add_parser("pair")
    p.add_argument("workdir")
    p.add_argument("--train-dialogues", type=int, default=600)
    p.add_argument("--dialogues", type=int, default=300)
    p = sub.add_parser("per-message")
    p.add_argument("intent_run")
    p.add_argument("slots_run")
    p.add_argument("--dialogues", type=int, default=300)
    args = parser.parse_args()
    result = {"curve": curve, "ablate": ablate, "pair": pair, "speed": speed,
              "per-message": per_message}[args.command](args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"dialogue_state-{args.command}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
