"""``distill``: a finished teacher run in, an ordinary student run out (predict, evaluate, export and serve take
it as any other run: every weight trained, its model folder a plain transformers model of the student's depth).

Everything is checked before anything is written: the teacher finished, the task distils, the student's depth,
the tokenizers agree where tokens must align, the unlabelled file reads. The teacher then labels the unlabelled
text, scores the transfer set once (its soft outputs), and the student trains in the ordinary loop on the
mixed loss (loss.py); dev picks the best checkpoint and re-tunes thresholds, as in any run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.api import TrainResult, _calibrate_and_score, report_markdown
from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError, RunError
from tuneforge.runs.directory import check_writable, finish_run, load_run, run_info, start_run
from tuneforge.tasks import TASKS, task_spec
from tuneforge.util.console import peak_rss_mb, say


@dataclass
class DistillOptions:
    """How the student is made and taught (the CLI's flags)."""

    layers: int | None = None  # keep this many of the teacher's layers, evenly spaced
    keep: list[int] | None = None  # … or exactly these (0-based)
    student: str | None = None  # … or this named model (a new head), with its own tokenizer
    ffn_share: float = 1.0  # with layers/keep: the share of each layer's feed-forward neurons kept
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the soft-target term; 1 - alpha: the gold labels'
    hidden_weight: float = 0.0  # weight of the hidden-state term (0: off)
    unlabelled: str | None = None  # texts the teacher labels, added to the transfer set
    name: str | None = None
    output_dir: str | None = None
    overrides: list[str] = field(default_factory=list)  # --set on the student's config (training.*, …)


def distill(teacher: str | Path, options: DistillOptions) -> TrainResult:
    """Train a student of the finished run ``teacher``; returns its run directory and report."""
    teacher = Path(teacher)
    o = options
    info = run_info(teacher)
    if info.get("status") != "complete":
        raise RunError(f"{teacher}: the teacher run did not finish (status: {info.get('status')}); finish it "
                       f"first (tuneforge train --resume {teacher})")
    cfg = load_config(teacher / "config.yaml")
    spec = task_spec(cfg.task)
    if not spec.distills:
        raise ConfigError(f"{teacher}: {cfg.task} runs cannot be distilled (distill takes "
                          f"{', '.join(n for n, s in TASKS.items() if s.distills)})")
    if sum(x is not None for x in (o.layers, o.keep, o.student)) != 1:
        raise ConfigError("distill: give one of --layers N, --keep I,J,… (the teacher with layers dropped) or "
                          "--student MODEL")
    if not 0 <= o.alpha <= 1 or o.temperature <= 0 or o.hidden_weight < 0 or not 0 < o.ffn_share <= 1:
        raise ConfigError("distill: --alpha is 0 to 1, --temperature above 0, --hidden-weight 0 or more, "
                          "--ffn-share above 0 and at most 1")
    if o.student is not None and o.ffn_share != 1:
        raise ConfigError("distill: --ffn-share narrows the teacher's own layers; a --student MODEL has its own")
    if o.unlabelled is not None and not Path(o.unlabelled).is_file():
        raise ConfigError(f"--unlabelled {o.unlabelled}: file not found")
    student_cfg = _student_config(cfg, teacher, o)
    check_writable(student_cfg.output_dir)

    import torch
    from accelerate.utils import set_seed

    from tuneforge.distill.loss import DistillLoss
    from tuneforge.distill.soft_targets import PER_TOKEN, SCORED_EACH_BATCH, Taught, taught_collate, teacher_outputs
    from tuneforge.distill.student import chosen_layers, hidden_mapping, layer_dropped, same_tokenizer
    from tuneforge.engine.train import train_loop
    from tuneforge.methods import apply_method, trainable_parameters
    from tuneforge.models import load_tokenizer

    run = load_run(teacher, overrides=["inference.engine=torch", "inference.precision=fp32"])
    teacher_model, teacher_task, kind = run.model, run.task, spec.inference
    keep = None
    if o.student is None:
        keep = chosen_layers(teacher_model, o.layers, o.keep, str(teacher), o.ffn_share)
        tokenizer = run.tokenizer
    else:
        tokenizer = load_tokenizer(o.student)
        if PER_TOKEN[kind] and not same_tokenizer(run.tokenizer, tokenizer):
            raise ConfigError(f"--student {o.student}: its tokenizer differs from the teacher's, and {cfg.task} "
                              "learns from the teacher token by token (aligned tokens); choose a student with the "
                              "teacher's tokenizer, or --layers N")
    task = type(teacher_task).load(tokenizer, student_cfg, teacher / "model")  # the teacher's labels, in order
    splits = type(task).load_splits(student_cfg, strict=True)
    examples = list(splits["train"].examples)
    batching = student_cfg.eval_batching()
    if o.unlabelled is not None:
        unlabelled = type(task).read(o.unlabelled, student_cfg, strict=True, labelled=False).examples
        try:
            examples += teacher_task.with_answers(unlabelled, teacher_task.predict_examples(
                teacher_model, unlabelled, **batching))
        except NotImplementedError:
            raise ConfigError(f"--unlabelled: {cfg.task} runs take no unlabelled text (the teacher labels texts of "
                              "classification, tagging and extractive QA)") from None
        say(f"the teacher labelled {len(unlabelled)} unlabelled example(s) of {o.unlabelled}")
    set_seed(student_cfg.training.seed)
    features = task.encode(examples)
    if keep is not None:
        student = layer_dropped(teacher_model, keep, o.ffn_share)
        mapping = keep
    else:
        student = task.build_model(o.student, student_cfg.model.dropout)
        mapping = hidden_mapping(teacher_model, student, str(teacher)) if o.hidden_weight else []
    if o.hidden_weight and not same_tokenizer(run.tokenizer, tokenizer):
        raise ConfigError(f"--student {o.student}: --hidden-weight matches hidden states token by token, and its "
                          "tokenizer differs from the teacher's; drop --hidden-weight")
    if same_tokenizer(run.tokenizer, tokenizer):
        teacher_features = features
    else:
        teacher_features = teacher_task.encode(examples)
        if len(teacher_features) != len(features):
            raise ConfigError(f"--student {o.student}: the two tokenizers cut long texts into different numbers of "
                              "windows; set task_options.long_texts: truncate or raise model.max_length (--set)")
    student = apply_method(student, student_cfg, spec.peft_task_type)

    run_dir = start_run(student_cfg)  # only now is anything written
    say(f"run directory {run_dir}")
    started = time.perf_counter()
    if kind not in SCORED_EACH_BATCH:
        say(f"teacher scoring {len(teacher_features)} training feature(s)")
    soft = teacher_outputs(teacher_model, teacher_features, teacher_task.collate, kind,
                           student_cfg.training.eval_batch_size)
    taught = [Taught(f, s) for f, s in zip(features, soft, strict=True)]
    dev = splits.get("dev")
    evaluate = (lambda m: task.evaluate(m, dev.examples, tune=True, **batching)) if dev else None
    beside = o.hidden_weight or kind in SCORED_EACH_BATCH  # the teacher runs on each training batch
    if beside:
        teacher_model.eval()
    loss = DistillLoss(task, student, kind, o.temperature, o.alpha, o.hidden_weight,
                       teacher_model if beside else None, mapping)
    try:
        state = train_loop(student, taught, taught_collate(task.collate, kind), evaluate, student_cfg.training,
                           run_dir, compute_loss=loss, count_items=task.count_items)
    finally:
        loss.close()
    wall = time.perf_counter() - started

    report: dict[str, Any] = {"task": task.name, **task.summary()}
    student.eval()
    with torch.inference_mode():
        report.update(_calibrate_and_score(task, student, splits, batching))
    trainable, total = trainable_parameters(student)
    teacher_total = sum(p.numel() for p in teacher_model.parameters())
    report["training"] = {
        "method": student_cfg.method, "trainable_parameters": trainable, "total_parameters": total,
        "steps": state.step, "best_step": state.best_step, "best_dev_metric": state.best_metric,
        "stopped_early": state.stopped_early, "train_tokens": state.train_tokens,
        "train_seconds": round(state.train_seconds, 2),
        "tokens_per_s": round(state.train_tokens / max(state.train_seconds, 1e-9), 1),
        "wall_seconds_this_process": round(wall, 2), "peak_rss_mb": round(peak_rss_mb(), 1), **state.extra,
    }
    report["distillation"] = _provenance(teacher, o, keep, teacher_total, total, len(examples), cfg,
                                            student)
    finish_run(run_dir, student_cfg, student, tokenizer, task, report,
               report_markdown(student_cfg, task, report) + _markdown(report, cfg, type(task)),
               {"steps": state.step, "distilled_from": str(teacher.resolve())})
    return TrainResult(run_dir, report)


def _student_config(cfg, teacher: Path, o: DistillOptions):
    """The teacher's config, as the student's: every weight trains (method full), a new name and the student's
    model; ``--set`` overrides last (training.epochs, training.lr, …)."""
    from tuneforge.methods import WHOLE_MODEL

    data = cfg.model_dump()
    data["name"] = o.name or f"{cfg.name}-student"
    data["output_dir"] = str(Path(o.output_dir) if o.output_dir else teacher.resolve().parent)
    if cfg.method != WHOLE_MODEL:
        data["training"]["lr"] = None  # the teacher method's learning rate is not full fine-tuning's
    data["method"] = WHOLE_MODEL
    if o.student is not None:
        data["model"]["name"] = o.student
    return load_config(data, o.overrides)


def _provenance(teacher: Path, o: DistillOptions, keep: list[int] | None, teacher_params: int,
                student_params: int, examples: int, cfg, student_model: Any) -> dict[str, Any]:
    import json

    try:
        before = json.loads((teacher / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    return {
        "teacher": str(teacher.resolve()), "teacher_model": cfg.model.name, "student_model": o.student,
        "kept_layers": keep, "ffn_share": o.ffn_share,
        "intermediate_size": getattr(getattr(student_model, "config", None), "intermediate_size", None),
        "temperature": o.temperature, "alpha": o.alpha, "hidden_weight": o.hidden_weight,
        "unlabelled": o.unlabelled, "transfer_examples": examples,
        "teacher_parameters": teacher_params, "student_parameters": student_params,
        "teacher_scores": {s: {k: v for k, v in before.get(s, {}).items() if isinstance(v, float | int)}
                           for s in ("dev", "test") if isinstance(before.get(s), dict)},
    }


def _markdown(report: dict[str, Any], cfg, Task) -> str:
    d = report["distillation"]
    metric = Task.main_metric(cfg)
    lines = ["", "## Distillation", "",
             f"Teacher `{d['teacher']}` ({d['teacher_parameters']:,} parameters); student "
             f"{d['student_parameters']:,} parameters"
             + (f", teacher layers {d['kept_layers']} kept" if d["kept_layers"] else f", `{d['student_model']}`")
             + f"; temperature {d['temperature']}, alpha {d['alpha']}, hidden weight {d['hidden_weight']}.", "",
             f"| split | teacher {metric} | student {metric} | change |", "|---|---:|---:|---:|"]
    for split, scores in d["teacher_scores"].items():
        t, s = scores.get(metric), report.get(split, {}).get(metric)
        if isinstance(t, float | int) and isinstance(s, float | int):
            lines.append(f"| {split} | {t:.4f} | {s:.4f} | {s - t:+.4f} |")
    return "\n".join(lines) + "\n"
