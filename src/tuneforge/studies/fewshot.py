"""``tuneforge fewshot``: the learning curve of every label-scarce approach, over shots per label and seeds.

For each seed, k examples per label are drawn anew from the config's training data (``all``: every
example); each approach then trains (or not) on exactly those examples and is scored on the same test
set. Approaches are registry entries (``APPROACHES``): what they need (shots or none) and the config
they run as, so adding one is one entry. Results go to ``fewshot.json`` after every cell (a rerun with
the same output folder skips the cells already measured), with ``fewshot.md`` (mean ± std per approach
and shot count) and ``fewshot.svg`` (the curves).
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.config.loading import load_config
from tuneforge.config.schema import RunConfig
from tuneforge.errors import ConfigError
from tuneforge.util.atomic import write_json, write_text

ALL = "all"


@dataclass(frozen=True)
class Approach:
    name: str
    description: str
    needs_shots: bool | None  # True: only k > 0; False: only k = 0 (nothing to learn from); None: every k
    config: Callable[[RunConfig, Any, dict[str, Any]], dict[str, Any]] | None = None  # (base, k, common) -> config
    score: Callable[..., dict[str, Any]] | None = None  # instead of a training run: (base, train, test, k, seed, opts)
    options: dict[str, Any] = field(default_factory=dict)


def _labels_options(base: RunConfig) -> dict[str, Any]:
    o = base.task_options
    return {"labels": [s.model_dump() for s in o.labels], "labels_file": o.labels_file, "label_text": o.label_text}


def _embedding(contrastive: str, head: str) -> Callable[[RunConfig, Any, dict[str, Any]], dict[str, Any]]:
    def config(base: RunConfig, k: Any, common: dict[str, Any]) -> dict[str, Any]:
        options = {**_labels_options(base), "contrastive": contrastive, "head": head,
                   "pairs_per_example": base.task_options.pairs_per_example,
                   "max_pairs": base.task_options.max_pairs}
        training = {"epochs": 1, "lr": 2e-5, "batch_size": 32} if contrastive != "none" else {}
        common = {k: v for k, v in common.items() if k != "train_examples"}
        return {**common, "task": "embedding-classification", "method": "full", "task_options": options,
                "training": {**common["training"], **training}}
    return config


PASSES = 10_000  # training examples seen by a fine-tuning run: ~16 epochs of 8 shots x 77 labels


ConfigMaker = Callable[[RunConfig, Any, dict[str, Any]], dict[str, Any]]


def _sequence(method: str, lr: float | None, min_epochs: float) -> ConfigMaker:
    def config(base: RunConfig, k: Any, common: dict[str, Any]) -> dict[str, Any]:
        # Few examples need many passes to move a new head: a fixed budget of examples seen, at least min_epochs.
        epochs = min(20.0, max(min_epochs, PASSES / common["train_examples"]))
        training = {**common["training"], "epochs": round(epochs, 2), "batch_size": 16}
        if lr is not None:
            training["lr"] = lr
        return {**{k: v for k, v in common.items() if k != "train_examples"}, "task": "sequence-classification",
                "method": method, "training": training}
    return config


def _lm_prompt(base: RunConfig, train: list[Any], test: list[Any], k: Any, seed: int,
               opts: dict[str, Any]) -> dict[str, Any]:
    """A causal LM prompted with an instruction and demonstrations drawn from the k shots (at most
    ``lm_context`` of them, one label at a time in turn), scored on a seeded sample of the test set."""
    import numpy as np

    from tuneforge.models import load_pretrained, load_tokenizer
    from tuneforge.prompting.verbalizer import PromptClassifier

    name = opts.get("lm_model", "smollm2-135m")
    from transformers import AutoModelForCausalLM

    model = load_pretrained(name, AutoModelForCausalLM).eval()
    tokenizer = load_tokenizer(name)
    labels = sorted({e.label for e in test} | {e.label for e in train})
    rng = random.Random(seed)
    by_label: dict[str, list[Any]] = defaultdict(list)
    for e in train if k != 0 else []:
        by_label[e.label].append(e)
    order = [rng.sample(v, len(v)) for v in by_label.values()]
    rng.shuffle(order)
    demos = [e for rnd in range(max(map(len, order), default=0)) for group in order if rnd < len(group)
             for e in [group[rnd]]][: opts.get("lm_context", 16)]
    sample = sorted(random.Random(seed).sample(range(len(test)), min(opts.get("lm_test_limit", 300), len(test))))
    chosen = [test[i] for i in sample]
    classifier = PromptClassifier(model, tokenizer, labels, opts.get("lm_instruction") or
                                  "Classify the customer's message into one of the intents.",
                                  examples=[(e.text, e.label) for e in demos],
                                  calibrate=opts.get("lm_calibrate", True))
    started = time.perf_counter()
    predicted = classifier.predict([e.text for e in chosen])
    accuracy = float(np.mean([p == e.label for p, e in zip(predicted, chosen, strict=True)]))
    return {"accuracy": accuracy, "examples": len(chosen), "demonstrations": len(demos),
            "calibrated": bool(classifier.content_free), "seconds": round(time.perf_counter() - started, 1)}


APPROACHES: dict[str, Approach] = {a.name: a for a in (
    Approach("zero-shot", "label descriptions, nearest by cosine similarity (no training)", False,
             _embedding("none", "similarity")),
    Approach("frozen-logistic", "frozen sentence embeddings + logistic regression", True,
             _embedding("none", "logistic")),
    Approach("contrastive", "contrastive few-shot fine-tuning (SetFit-style) + logistic regression", True,
             _embedding("pairs", "logistic")),
    # Fine-tuning gets 3 epochs of the full data (1 left it at 0.62 on Banking77); prompt tuning, 3x slower, gets 1.
    Approach("fine-tune", "plain fine-tuning of the encoder with a new head (lr 1e-4, at least 3 epochs)", True,
             _sequence("full", 1e-4, 3.0)),
    Approach("prompt-tuning", "soft prompt (prompt tuning) with a new head, frozen encoder (at least 1 epoch)",
             True, _sequence("prompt-tuning", None, 1.0)),
    Approach("lm-prompt", "causal LM, instruction + demonstrations, labels scored by likelihood", None,
             score=_lm_prompt),
)}


def parse_shots(text: str) -> list[Any]:
    shots: list[Any] = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        if item == ALL:
            shots.append(ALL)
        elif item.isdigit():
            shots.append(int(item))
        else:
            raise ConfigError(f"--shots {text!r}: expected numbers of examples per label and/or 'all', e.g. 0,8,16,all")
    if not shots:
        raise ConfigError("--shots: give at least one, e.g. 0,8,16,all")
    return shots


def draw_shots(examples: list[Any], k: Any, seed: int) -> list[Any]:
    """k examples of every label (all of a label's when it has fewer), drawn with ``seed``; in file order."""
    if k == ALL:
        return list(examples)
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        by_label[e.label].append(i)
    chosen = [i for label in sorted(by_label) for i in rng.sample(by_label[label], min(k, len(by_label[label])))]
    return [examples[i] for i in sorted(chosen)]


def _check_shots(shots: list[Any], pool: list[Any]) -> None:
    """Every shot count must be drawable for every label: a cell would otherwise train on fewer examples than
    the curve says, and two points of the curve could be the same data under different names."""
    counts: dict[str, int] = defaultdict(int)
    for e in pool:
        counts[e.label] += 1
    if not counts:
        return
    label, fewest = min(counts.items(), key=lambda item: (item[1], item[0]))
    too_many = [k for k in shots if k != ALL and k > fewest]
    if too_many:
        raise ConfigError(f"--shots {too_many[0]}: label '{label}' has only {fewest} training example(s); give at most "
                          f"{fewest} shots, or 'all'")


def _write_jsonl(path: Path, examples: list[Any]) -> None:
    write_text(path, "".join(json.dumps({"text": e.text, "label": e.label}, ensure_ascii=False) + "\n"
                             for e in examples))


def fewshot(config: str | Path, shots: list[Any], seeds: int, approaches: list[str], output: str | Path,
            overrides: list[str] | None = None, keep_runs: bool = False, lm_options: dict[str, Any] | None = None,
            log: Callable[[str], None] = lambda m: print(f"tuneforge fewshot: {m}", file=sys.stderr, flush=True),
            ) -> dict[str, Any]:
    from tuneforge.api import train_and_score  # no headline summary per cell: fewshot prints its own table
    from tuneforge.tasks import task_class

    base = load_config(config, overrides)
    unknown = [a for a in approaches if a not in APPROACHES]
    if unknown:
        raise ConfigError(f"--approaches: unknown {', '.join(unknown)} (choose from {', '.join(APPROACHES)})")
    if hasattr(base.task_options, "labels_file"):  # a bad labels file fails now, not at the first zero-shot cell
        from tuneforge.prompting.label_specs import merged_labels

        merged_labels(base.task_options.labels, base.task_options.labels_file)
    if base.data.train is None or base.data.test is None:
        raise ConfigError(f"{config}: fewshot needs data.train (the pool shots are drawn from) and data.test")
    output = Path(output)
    splits = task_class(base.task).load_splits(base, strict=True)
    oos = getattr(base.task_options, "out_of_scope_label", None)
    pool = [e for e in splits["train"].examples if e.label != oos]
    test = [e for e in splits["test"].examples if e.label != oos]  # the in-scope test set
    _check_shots(shots, pool)
    test_path = output / "data" / "test.jsonl"
    _write_jsonl(test_path, test)
    results_path = output / "fewshot.json"
    result = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() else {}
    # A rerun into the same folder adds to what is there: the table covers every shot count and approach measured.
    measured = {str(k) for k in result.get("shots", [])} | {str(k) for k in shots}
    result.update(config=str(config), shots=sorted(measured, key=lambda k: (k == ALL, int(k) if k != ALL else 0)),
                  seeds=max(seeds, result.get("seeds", 0)), approaches=list(dict.fromkeys(
                      [*result.get("approaches", []), *approaches])), test_examples=len(test),
                  cells=result.get("cells", {}))
    settings = cell_settings(base, lm_options or {})
    for seed in range(seeds):
        for k in shots:
            train_examples = draw_shots(pool, k, seed) if k != 0 else []
            train_path = output / "data" / f"train-k{k}-seed{seed}.jsonl"
            if train_examples:
                _write_jsonl(train_path, train_examples)
            for name in approaches:
                approach = APPROACHES[name]
                if approach.needs_shots is not None and approach.needs_shots != (k != 0):
                    continue
                key = f"{name}/{k}/{seed}"
                measured_cell = result["cells"].get(key)
                # A cell is kept only when it was measured with the same config and prompting options.
                if measured_cell is not None and measured_cell.get("settings") == settings:
                    continue
                log(f"{name}, {k} shots, seed {seed}")
                started = time.perf_counter()
                if approach.score is not None:
                    cell = approach.score(base, train_examples, test, k, seed, lm_options or {})
                else:
                    common = {"name": f"{name}-k{k}-seed{seed}", "model": base.model.model_dump(),
                              "data": {"train": str(train_path) if train_examples else None, "test": str(test_path),
                                       "format": "jsonl"},
                              "training": {"seed": seed, "progress": False}, "output_dir": str(output / "runs"),
                              "train_examples": len(train_examples)}
                    run_dir = train_and_score(approach.config(base, k, common)).run_dir
                    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
                    cell = {"accuracy": report["test"]["accuracy"], "macro_f1": report["test"]["macro_f1"],
                            "train_seconds": report["training"]["train_seconds"], "run": str(run_dir)}
                    if not keep_runs:
                        shutil.rmtree(run_dir / "model", ignore_errors=True)
                cell["wall_seconds"] = round(time.perf_counter() - started, 1)
                cell["train_examples"] = len(train_examples)
                cell["settings"] = settings
                result["cells"][key] = cell
                _save(output, result)
    _save(output, result)
    return result


def cell_settings(base, lm_options: dict[str, Any]) -> str:
    """A digest of what a cell's score depends on besides its approach, shots and seed: the whole config (data,
    model, options) and the prompting options (lm_model, lm_context, lm_instruction, lm_test_limit,
    lm_calibrate). A cell measured under other settings is measured again, never reused."""
    import hashlib

    text = json.dumps({"config": base.model_dump(mode="json"), "lm": lm_options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def summary(result: dict[str, Any]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """{approach: {shots: (mean, std, seeds)}} of test accuracy."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for key, cell in result["cells"].items():
        name, k, _seed = key.split("/")
        values[name][k].append(cell["accuracy"])
    return {name: {k: (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v))
                   for k, v in by_k.items()} for name, by_k in values.items()}


def markdown(result: dict[str, Any]) -> str:
    table = summary(result)
    shots = result["shots"]
    lines = [f"Test accuracy (mean ± std over seeds; {result['test_examples']} test examples, lm-prompt on a seeded "
             "sample), by examples per label:", "",
             "| approach | " + " | ".join(f"{k} shots" if k != ALL else "all data" for k in shots) + " |",
             "|---|" + "---:|" * len(shots)]
    for name in result["approaches"]:
        if name not in table:
            continue
        cells = []
        for k in shots:
            m = table[name].get(k)
            cells.append(f"{m[0]:.4f} ± {m[1]:.4f}" + (f" ({m[2]})" if m[2] != result["seeds"] else "") if m else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", *(f"- **{n}**: {APPROACHES[n].description}" for n in result["approaches"] if n in APPROACHES)]
    return "\n".join(lines) + "\n"


def _save(output: Path, result: dict[str, Any]) -> None:
    from tuneforge.report.plots import category_curves

    write_json(output / "fewshot.json", result)
    write_text(output / "fewshot.md", markdown(result))
    table = summary(result)
    series = [(name, [table[name].get(k, (None, None, 0))[:2] for k in result["shots"]])
              for name in result["approaches"] if name in table]
    if series:
        write_text(output / "fewshot.svg", category_curves(series, [k if k == ALL else f"{k}" for k in result["shots"]],
                                                      "examples per label", "test accuracy", "Learning curves"))
