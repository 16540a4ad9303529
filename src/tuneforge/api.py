"""The Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.config.loading import load_config, parse_overrides
from tuneforge.config.schema import RunConfig
from tuneforge.engine.progress import showing
from tuneforge.errors import ConfigError, DataError, RunError
from tuneforge.runs.directory import (
    Run,
    check_writable,
    claim_run,
    config_of,
    finish_run,
    load_run,
    run_info,
    start_run,
    write_run_config,
)
from tuneforge.util.console import peak_rss_mb, say  # noqa: F401  (say: the API's voice; both re-exported)


def train(
    config: str | Path | dict[str, Any] | RunConfig | None = None,
    overrides: list[str] | None = None,
    resume: str | Path | None = None,
) -> Path:
    """Train from a config (or continue the killed run ``resume``); returns the run directory.

    The same as ``train_and_score(...).run_dir``, and, as ``tuneforge train`` does, prints the headline summary
    (scores, time, where the report is) on stdout; see ``train_and_score``.
    """
    from tuneforge.runs.summary import summary

    result = train_and_score(config, overrides, resume)
    if result.report:  # the main process of a distributed run: one summary
        print(summary(result.run_dir), flush=True)
    return result.run_dir


@dataclass
class TrainResult:
    """What ``train_and_score`` returns: the run directory and its report (report.json's content: dev and test
    scores, training facts); the report is empty on the non-main processes of a distributed run."""

    run_dir: Path
    report: dict[str, Any] = field(default_factory=dict)


class RunPruned(Exception):
    """Raised by an ``on_dev_metrics`` hook to end a run after a dev evaluation (a hyperparameter search
    pruning a hopeless trial). ``train_and_score`` marks the run pruned (run.json status "pruned", checkpoints
    removed) and raises it again with ``run_dir`` and ``evaluation`` filled in."""

    def __init__(self, reason: str = "pruned") -> None:
        super().__init__(reason)
        self.run_dir: Path | None = None
        self.evaluation: int | None = None


def train_and_score(
    config: str | Path | dict[str, Any] | RunConfig | None = None,
    overrides: list[str] | None = None,
    resume: str | Path | None = None,
    on_dev_metrics: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train from a config (or continue the killed run ``resume``); returns the run directory and its scores.

    ``on_dev_metrics(evaluation, metrics)`` is called after each dev evaluation during training (``evaluation``
    counts them from 0 in this process, ``metrics`` as ``metrics.jsonl`` gets them); raising ``RunPruned`` there
    ends the run (see RunPruned).

    Config and data are fully checked before anything is written, so bad input leaves no run behind. In a
    config dict, ``data.train`` / ``dev`` / ``test`` may hold the data itself: a list of records in the task's
    JSONL shape (dicts), a pandas DataFrame or a datasets.Dataset. They are written as JSONL files under
    ``output_dir/.data/`` (named by their content) and the config names those files, so the run can be
    evaluated and resumed like any other.
    """
    if isinstance(config, dict):
        _check_without_data(config, overrides)  # a bad config fails before any data file is written
        config, written, new = _materialize(config)
        try:
            return _train_from(config, overrides, resume, on_dev_metrics)
        except (ConfigError, DataError) as exc:  # checked before the run starts: no run names the new files
            for path in new:  # its files, then the folders it made (output_dir, .data), deepest first
                if path.is_dir():
                    with contextlib.suppress(OSError):
                        path.rmdir()
                else:
                    path.unlink(missing_ok=True)
            raise type(exc)(_named_by_index(str(exc), written)) from None
    return _train_from(config, overrides, resume, on_dev_metrics)


def _train_from(config: Any, overrides: list[str] | None, resume: str | Path | None,
                on_dev_metrics: Callable[[int, dict[str, Any]], None] | None) -> TrainResult:
    if resume is not None:
        run_dir = Path(resume)
        if run_info(run_dir).get("status") == "complete":
            raise RunError(f"{run_dir}: this run already completed; nothing to resume")
        cfg = load_config(run_dir / "config.yaml")
    elif config is None:
        raise RunError("train needs a config (or resume=RUN_DIR)")
    else:
        cfg = load_config(config, overrides)
        check_writable(cfg.output_dir)
    from tuneforge.engine.tracking import check_installed

    try:  # before anything is written: a tracker whose package is missing
        check_installed(cfg.training.report_to)
    except ValueError as exc:
        raise ConfigError(f"{config if resume is None else resume}: training.report_to: {exc}") from None
    with showing(cfg.training.progress):  # bars for decoding and scoring too, as for the training steps
        return _train_checked(cfg, config, resume, on_dev_metrics)


def _train_checked(cfg: RunConfig, config: Any, resume: str | Path | None,
                   on_dev_metrics: Callable[[int, dict[str, Any]], None] | None) -> TrainResult:
    # Heavy imports only after the config is known to be valid: a typo fails in a fraction of a second.
    import torch
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list, set_seed

    from tuneforge.engine.checkpoint import LoopState
    from tuneforge.engine.speed.frozen_cache import build_cache
    from tuneforge.engine.train import train_loop
    from tuneforge.methods import apply_method, trainable_parameters
    from tuneforge.methods.freeze import cached_frozen_layers
    from tuneforge.models import check_window, load_tokenizer
    from tuneforge.tasks import task_class, task_spec

    Task = task_class(cfg.task)
    es = cfg.training.early_stopping
    es.metric = es.metric or Task.main_metric(cfg)  # saved resolved, so the run says what it selected on
    if es.metric not in Task.metric_names(cfg):
        raise ConfigError(f"training.early_stopping.metric: '{es.metric}' is not a metric of {cfg.task} "
                          f"(choose from {', '.join(Task.metric_names(cfg))})")
    cfg.data.require_prepared()
    splits = Task.load_splits(cfg, strict=True)
    tokenizer = load_tokenizer(cfg.model.name)
    check_window(cfg.model.name, cfg.model.max_length)
    task = Task.for_training(tokenizer, cfg, splits)  # checks the splits against each other, learns labels
    trains = cfg.task_options.trains_model()
    features = task.encode(splits["train"].examples) if trains else []
    set_seed(cfg.training.seed)  # the new head's initialization is part of what the seed fixes
    spec = task_spec(cfg.task)
    model = apply_method(task.build_model(cfg.model.name, cfg.model.dropout), cfg, spec.peft_task_type)

    # Under a distributed launcher every process runs this function; only the main one writes files.
    dist = PartialState(cpu=not torch.accelerator.is_available())  # CPU-only: gloo across processes
    if resume is None:
        if dist.is_main_process:
            run_dir = start_run(cfg, config if isinstance(config, str | Path) else None)
        run_dir = Path(broadcast_object_list([str(run_dir) if dist.is_main_process else None])[0])
    else:
        run_dir = Path(resume)
        if dist.is_main_process:
            claim_run(run_dir)  # this process owns the run now: `tuneforge runs` shows it running again
    if dist.is_main_process:
        say(f"run directory {run_dir}")
    repairs = sum(r.bio_repairs for r in splits.values())
    if repairs and dist.is_main_process:
        say(f"repaired {repairs} tag(s) from I-X without a preceding B-X/I-X to B-X (data.invalid_bio)")
    t = cfg.training
    batching = cfg.eval_batching()
    zero_shot: dict[str, Any] = {}
    if spec.zero_shot_baseline and dist.is_main_process:
        zero_shot = _zero_shot(task, model, splits, batching, run_dir)
        set_seed(cfg.training.seed)  # sampled decoding must not shift what training draws
    dev = splits.get("dev")
    evaluate = (lambda m: task.evaluate(m, dev.examples, tune=True, **batching)) if dev else None
    if evaluate and on_dev_metrics:
        evaluate = _reporting(evaluate, on_dev_metrics)
    started = time.perf_counter()
    train_model, train_features, collate = model, features, task.collate
    n_frozen = cached_frozen_layers(model, cfg) if trains else 0
    if n_frozen:
        train_model, train_features, collate = build_cache(model, n_frozen, features, task.collate,
                                                           t.eval_batch_size)
    if trains:
        try:
            state = train_loop(train_model, train_features, collate, evaluate, t, run_dir,
                               resume=resume is not None, compute_loss=task.compute_loss,
                               count_items=task.count_items)
        except RunPruned as pruned:
            pruned.run_dir = run_dir
            if dist.is_main_process:
                _mark_pruned(run_dir, pruned)
            raise
    else:  # zero-shot, or a head on frozen embeddings: nothing for the loop to do
        state = LoopState()
    task.after_training(model)
    wall = time.perf_counter() - started
    if not dist.is_main_process:
        dist.wait_for_everyone()
        return TrainResult(run_dir)

    report: dict[str, Any] = {"task": task.name, **task.summary()}
    model.eval()
    with torch.inference_mode():
        report.update(_calibrate_and_score(task, model, splits, batching))
    predictions = _take_predictions(report, "fine-tuned")
    if zero_shot:
        report["zero_shot"] = {name: dict(scores) for name, scores in zero_shot.items()}
        predictions = _take_predictions(report["zero_shot"], "zero-shot") + predictions
    trainable, total = trainable_parameters(model)
    report["training"] = {
        "method": cfg.method,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "steps": state.step,
        "best_step": state.best_step,
        "best_dev_metric": state.best_metric,
        "stopped_early": state.stopped_early,
        "train_tokens": state.train_tokens,
        "train_seconds": round(state.train_seconds, 2),
        "tokens_per_s": round(state.train_tokens / max(state.train_seconds, 1e-9), 1),
        "wall_seconds_this_process": round(wall, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **state.extra,
    }
    if predictions:
        write_jsonl(run_dir / "predictions.jsonl", predictions)
    _explain_worst_errors(Run(run_dir, cfg, model, tokenizer, task), report)
    finish_run(run_dir, cfg, model, tokenizer, task, report, report_markdown(cfg, task, report),
               {"steps": state.step})
    dist.wait_for_everyone()
    return TrainResult(run_dir, report)


def _explain_worst_errors(run: Run, report: dict[str, Any]) -> None:
    """Attributions of the worst errors report.html lists (its lead split: test, else dev), kept in report.json;
    a model the explainer cannot take costs the run nothing but the explanations (one line says why)."""
    from tuneforge.tasks import task_spec

    kind = task_spec(run.config.task).explains
    lead = next((report[s] for s in ("test", "dev") if isinstance(report.get(s), dict)), None)
    if kind is None or lead is None or not isinstance(lead.get("worst_errors"), list) or not lead["worst_errors"]:
        return
    from tuneforge.explain.worst_errors import explain_errors

    try:
        explain_errors(run, kind, lead["worst_errors"])
    except Exception as exc:  # noqa: BLE001 — an explanation is a convenience; the trained run stands
        for error in lead["worst_errors"]:
            error.pop("explanation", None)
        say(f"worst errors not explained ({type(exc).__name__}: {str(exc).strip()[:200]})")


def _reporting(evaluate: Callable[[Any], dict[str, Any]],
               hook: Callable[[int, dict[str, Any]], None]) -> Callable[[Any], dict[str, Any]]:
    """``evaluate`` that hands each evaluation's metrics to ``hook`` (numbered from 0) before returning them."""
    counter = itertools.count()

    def evaluate_and_report(model: Any) -> dict[str, Any]:
        metrics = evaluate(model)
        evaluation = next(counter)
        try:
            hook(evaluation, metrics)
        except RunPruned as pruned:
            pruned.evaluation = evaluation
            raise
        return metrics

    return evaluate_and_report


def _mark_pruned(run_dir: Path, pruned: RunPruned) -> None:
    """run.json says the run was pruned (and after which evaluation); its checkpoints go: it will not resume."""
    from tuneforge.util.atomic import write_json

    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    info = run_info(run_dir)
    info.update(status="pruned", finished=time.time(), pruned_after_evaluation=pruned.evaluation,
                reason=str(pruned))
    write_json(run_dir / "run.json", info)


SPLIT_NAMES = ("train", "dev", "test")


def _check_without_data(config: dict[str, Any], overrides: list[str] | None) -> None:
    """Validate a config dict with its in-memory splits stood in for by a path (the records are checked when
    read): a config error must not leave their JSONL files behind."""
    from os import PathLike

    data = config.get("data")
    if not isinstance(data, dict):
        return
    stand_in = {n: f"in-memory-{n}.jsonl" for n in SPLIT_NAMES
                if data.get(n) is not None and not isinstance(data[n], (str, PathLike))}
    if stand_in:
        load_config({**config, "data": {**data, **stand_in}}, overrides)


def _named_by_index(message: str, written: dict[str, str]) -> str:
    """An error at line N of an in-memory split's JSONL file, as the caller knows it: data.SPLIT[N - 1], the
    record's index in the list given (one record per line)."""
    import re

    for path, name in written.items():
        message = re.sub(re.escape(path) + r":(\d+)", lambda m, n=name: f"data.{n}[{int(m.group(1)) - 1}]", message)
        message = message.replace(path, f"data.{name} (in memory)")
    return message


def materialize_data(config: dict[str, Any]) -> dict[str, Any]:
    """The config with in-memory splits (records, a DataFrame, a Dataset) replaced by JSONL files naming them."""
    return _materialize(config)[0]


def _materialize(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[Path]]:
    """``materialize_data``, and which file holds which split, and the files this call newly wrote."""
    from hashlib import sha256
    from os import PathLike

    from tuneforge.config.schema import RunConfig
    from tuneforge.util.atomic import write_text

    data = config.get("data")
    in_memory = [n for n in SPLIT_NAMES if isinstance(data, dict) and data.get(n) is not None
                 and not isinstance(data[n], (str, PathLike))]
    if not in_memory:
        return config, {}, []
    if data.get("format", "auto") not in ("auto", "jsonl"):
        raise ConfigError(f"data.format: in-memory data is written as JSONL, so it needs format auto or jsonl, "
                          f"not '{data['format']}'")
    folder = Path(config.get("output_dir") or RunConfig.model_fields["output_dir"].default).resolve() / ".data"
    data = dict(data)
    written: dict[str, str] = {}
    made = [d for d in (folder, *folder.parents) if not d.exists()]  # deepest first
    new: list[Path] = []
    for name in in_memory:
        records = _records(name, data[name])
        try:
            text = "".join(json.dumps(r, ensure_ascii=False, default=_plain) + "\n" for r in records)
        except TypeError as exc:
            raise ConfigError(f"data.{name}: a record cannot be written as JSON ({exc})") from None
        path = folder / f"{name}-{sha256(text.encode()).hexdigest()[:16]}.jsonl"
        try:
            if not path.is_file():
                write_text(path, text)
                new.append(path)
        except OSError as exc:
            raise RunError(f"output_dir {folder.parent}: cannot write the in-memory data.{name} there "
                           f"({exc.strerror or exc})") from None
        data[name] = str(path)
        written[str(path)] = name
    return {**config, "data": data}, written, new + made


def _records(name: str, value: Any) -> list[dict[str, Any]]:
    """Records of an in-memory split: a list of dicts, a pandas DataFrame, a datasets.Dataset (no imports)."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame
        records = value.to_dict("records")
    elif hasattr(value, "to_list") and hasattr(value, "column_names"):  # a datasets.Dataset
        records = value.to_list()
    elif isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, (dict, bytes))):
        records = list(value)
    else:
        raise ConfigError(f"data.{name}: expected a file path or a list of records (dicts), not "
                          f"{type(value).__name__}")
    if not records:
        raise ConfigError(f"data.{name}: no records")
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise ConfigError(f"data.{name}[{bad}]: a {type(records[bad]).__name__}, not a dict in the "
                          "task's JSONL shape (e.g. {\"text\": ..., \"label\": ...})")
    return records


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (as pandas and datasets hand them out) as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _zero_shot(task, model, splits, batching: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Scores of the model before any training, on the split the report leads with (test, else dev).

    Kept in ``zero_shot.json`` so a resumed run does not decode them again.
    """
    import torch

    from tuneforge.methods import unadapted
    from tuneforge.util.atomic import write_json

    saved = run_dir / "zero_shot.json"
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    name = "test" if "test" in splits else "dev" if "dev" in splits else None
    if name is None:
        return {}
    say(f"scoring the untrained model on {name} (zero-shot baseline)")
    model.eval()
    with torch.inference_mode(), unadapted(model):
        scores = {name: task.evaluate(model, splits[name].examples, **batching)}
    model.train()
    write_json(saved, scores)
    return scores


def _take_predictions(scores_by_split: dict[str, Any], model_name: str) -> list[dict[str, Any]]:
    """Remove the (input, reference, output) records from the scores, labelled with split and model."""
    records = []
    for split in ("dev", "test"):
        scores = scores_by_split.get(split)
        if isinstance(scores, dict) and "predictions" in scores:
            records += [{"split": split, "model": model_name, **r} for r in scores.pop("predictions")]
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    from tuneforge.util.atomic import write_text

    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _calibrate_and_score(task, model, splits, batching: dict[str, Any]) -> dict[str, Any]:
    """Tune thresholds on dev with the final weights (then fixed), and score dev and test."""
    if "dev" in splits:
        task.calibrate(model, splits["dev"].examples, **batching)
    return {name: task.evaluate(model, splits[name].examples, **batching) for name in ("dev", "test") if name in splits}


def report_markdown(cfg: RunConfig, task, report: dict[str, Any]) -> str:
    lines = [f"# Run report: {cfg.name}", "", f"Model `{cfg.model.name}`, method `{cfg.method}`.", ""]
    lines += [task.markdown(report[name], f"{name} set") for name in ("dev", "test") if name in report]
    for name, before in report.get("zero_shot", {}).items():
        lines += [side_by_side(before, report.get(name, {}), f"{name} set: zero-shot beside fine-tuned")]
    return "\n".join(lines)


def side_by_side(before: dict[str, Any], after: dict[str, Any], title: str) -> str:
    """The same model and prompts before and after training, on the same examples."""
    keys = [k for k, v in after.items() if isinstance(v, float) and isinstance(before.get(k), float)]
    lines = [f"### {title}", "", f"{after.get('examples', 0)} examples, the same prompts and decoding.", "",
             "| metric | zero-shot | fine-tuned | change |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {before[k]:.4f} | {after[k]:.4f} | {after[k] - before[k]:+.4f} |" for k in keys]
    return "\n".join(lines) + "\n"


CALIBRATED = ("task_options.oos_threshold: auto, multi-label thresholds (task_options.multi_label), "
              "task_options.status_bias: auto and the "
              "SQuAD 2.0 task_options.null_threshold: auto")


def calibration_targets(cfg: RunConfig, run_dir: Path) -> list[str]:
    """What ``calibrate`` would re-tune on dev, judged from the options alone (no model is loaded).

    Read generically from the options' own attributes, whatever the task: ``multi_label`` (per-label
    thresholds), ``oos_threshold: auto`` and ``null_threshold: auto`` (only for SQuAD 2.0 data: the version the
    run found, in model/task.json, or the one its options fix).
    """
    options = cfg.task_options
    targets = []
    if getattr(options, "multi_label", False) is True:
        targets.append("multi-label thresholds")
    if getattr(options, "oos_threshold", None) == "auto":
        targets.append("task_options.oos_threshold")
    if getattr(options, "status_bias", None) == "auto":
        targets.append("task_options.status_bias")
    if getattr(options, "null_threshold", None) == "auto":
        try:
            state = json.loads((run_dir / "model" / "task.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        version = state.get("squad_version") if isinstance(state, dict) else None
        if (version or getattr(options, "squad_version", None)) != "1.1":
            targets.append("task_options.null_threshold")
    return targets


def calibrate(run_dir: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Re-tune a finished run's dev thresholds (``task_options`` may change) without retraining.

    Rewrites ``model/task.json``, the report and the saved config; returns the new scores.
    """
    from tuneforge.util.atomic import write_json, write_text

    if any(not key.startswith("task_options.") for key, _ in parse_overrides(overrides)):
        raise ConfigError("calibrate: only task_options.* can change without retraining")
    path = Path(run_dir)
    run_info(path)  # a missing or damaged run directory fails here, before any model loads
    cfg = load_config(path / "config.yaml", overrides)
    if not calibration_targets(cfg, path):
        raise ConfigError(f"{path}: nothing to calibrate: this {cfg.task} run has no tuned threshold "
                          f"(calibrate re-tunes {CALIBRATED})")
    run = load_run(path)
    task = run.task.recalibrated(cfg)
    splits = type(task).load_splits(cfg, strict=True)
    if "dev" not in splits:
        raise ConfigError(f"{run.path}: the run has no dev split to calibrate on")
    report = json.loads((run.path / "report.json").read_text(encoding="utf-8"))
    report.update(_calibrate_and_score(task, run.model, splits, cfg.eval_batching()))
    task.save(run.path / "model")
    write_json(run.path / "report.json", report)
    write_text(run.path / "report.md", report_markdown(cfg, task, report))
    write_run_config(run.path, cfg)
    return report


def own_split(cfg: RunConfig) -> str | None:
    """The split ``evaluate`` scores when given no data: test (a file, or carved from train), else dev, else None."""
    for name in ("test", "dev"):
        if getattr(cfg.data, name) or getattr(cfg.data.split, name) > 0:
            return name
    return None


def evaluate(run: str | Path | Run, data: str | Path | None = None,
             predictions: str | Path | None = None) -> dict[str, Any]:
    """Scores of a finished run on a labelled file (read with the run's data settings).

    Without ``data``, the run's own test split (its ``data.test``, or the part carved from train), or, with a
    note on stderr, its dev split when it has no test split. Tasks that keep what they generated (generation)
    write it as JSONL to ``predictions`` when given.
    """
    from tuneforge.engine.inference import inference_precision

    if data is None:  # known before any model loads
        name = own_split_or_fail(*((run.config, run.path) if isinstance(run, Run) else (config_of(run), run)))
        if name == "dev":
            say("the run has no test split: scoring its dev split, which chose its best checkpoint and thresholds "
                "(optimistic scores)")
    run = run if isinstance(run, Run) else load_run(run)
    if data is None and not getattr(run.config.data, name):  # carved from train, as training carved it
        examples = type(run.task).load_splits(run.config, strict=True)[name].examples
    else:
        result = run.task.read(str(data or getattr(run.config.data, name)), run.config, strict=True)
        run.task.check("evaluation", result)
        examples = result.examples
    with inference_precision(run.config.inference.precision, run.model), showing(run.config.training.progress):
        scores = run.task.evaluate(run.model, examples, **run.config.eval_batching())
    records = scores.pop("predictions", None)
    if records is not None and predictions is not None:
        write_jsonl(Path(predictions), records)
    return scores


def own_split_or_fail(cfg: RunConfig, where: Any) -> str:
    """``own_split``, or a one-line error naming the run when it has neither test nor dev split."""
    name = own_split(cfg)
    if name is None:
        raise ConfigError(f"{where}: the run has no test or dev split to score (data.test / data.dev / "
                          "data.split); give the data to score (--data FILE)")
    return name


def predict(run: str | Path | Run, texts: Any) -> Any:
    """Predictions for raw inputs: entities for NER, label + probability + top-k for classification,
    answer + character span + score for question answering ({"question", "context"} items).

    One input (a string, or one dict item such as {"question", "context"}) gives one result dict; a list (or any
    other iterable of items) gives a list.
    """
    run = run if isinstance(run, Run) else load_run(run)
    if isinstance(texts, (str, dict)):
        return run.predict([texts])[0]
    return run.predict(list(texts))
