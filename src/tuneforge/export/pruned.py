"""Pruning without training (``tuneforge export RUN --drop-layers N --output DIR``): the run's model with N
transformer layers dropped, written as an ordinary run (method full) whose report says what the dev metric lost.

The layers kept are spread evenly and end with the last (``methods.layers.evenly_spaced``), the same choice
``tuneforge distill --layers`` starts its student from, so the pruned run is the baseline a distilled student
of the same size must beat. Dev re-tunes the thresholds (as any run's dev does) and scores the pruned model;
test is scored when the run has it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tuneforge.errors import ConfigError, RunError
from tuneforge.methods import WHOLE_MODEL
from tuneforge.methods.feed_forward import narrow_feed_forward
from tuneforge.methods.layers import evenly_spaced, keep_layers, layer_stack
from tuneforge.runs.directory import load_run, versions, write_run_config
from tuneforge.util.atomic import atomic_dir, write_json, write_text


def prune_run(run_dir: str | Path, output: str | Path, drop: int,
              ffn_share: float = 1.0) -> tuple[Path, dict[str, Any]]:
    """Write the pruned run to ``output`` (``drop`` layers fewer, each keeping ``ffn_share`` of its feed-forward
    neurons); returns it and its report's ``pruning`` record."""
    import torch

    from tuneforge.methods.saving import save_adapted

    output = Path(output)
    if output.exists():
        raise RunError(f"{output}: already exists; choose a new folder")
    run = load_run(run_dir, merge=True, overrides=["inference.engine=torch", "inference.precision=fp32"])
    model, cfg, task = run.model, run.config, run.task
    if not hasattr(model, "save_pretrained") or hasattr(model, "peft_config"):
        raise RunError(f"{run_dir}: its model is not one plain transformers model (an adapter or virtual tokens "
                       "stay apart from its weights), so layers cannot be dropped from it")
    depth = len(layer_stack(model))
    if not (1 if ffn_share == 1 else 0) <= drop < depth:  # 0 only narrows: still a smaller model
        raise ConfigError(f"--drop-layers {drop}: the model has {depth} layers, so drop 1 to {depth - 1} of them "
                          "(or 0 with --ffn-share below 1)")
    Task = type(task)
    splits = Task.load_splits(cfg, strict=True)
    if "dev" not in splits:
        raise RunError(f"{run_dir}: the run has no dev split to measure what pruning costs")
    keep = keep_layers(model, evenly_spaced(depth, depth - drop) if drop else list(range(depth)))
    if ffn_share != 1:
        narrow_feed_forward(model, ffn_share)
    metric = cfg.training.early_stopping.metric or Task.main_metric(cfg)
    batching = cfg.eval_batching()
    model.eval()
    with torch.inference_mode():
        task.calibrate(model, splits["dev"].examples, **batching)
        scores = {name: task.evaluate(model, splits[name].examples, **batching)
                  for name in ("dev", "test") if name in splits}
    for split in scores.values():
        split.pop("predictions", None)
    before = _report(Path(run_dir))
    record = {"from": str(Path(run_dir).resolve()), "layers": depth, "kept_layers": keep, "metric": metric,
              "ffn_share": ffn_share, "intermediate_size": getattr(model.config, "intermediate_size", None),
              "parameters": sum(p.numel() for p in model.parameters())}
    for name, split in scores.items():
        was = before.get(name, {}).get(metric)
        now = split.get(metric)
        record[name] = {"before": was, "after": now,
                        "change": now - was if isinstance(was, int | float) and isinstance(now, int | float) else None}
    pruned_cfg = cfg.model_copy(update={"method": WHOLE_MODEL, "name": output.name,
                                        "output_dir": str(output.resolve().parent)})
    report = {"task": task.name, **task.summary(), **scores, "pruning": record}
    with atomic_dir(output) as tmp:
        (tmp / "model").mkdir()
        save_adapted(model, tmp / "model", pruned_cfg)
        run.tokenizer.save_pretrained(tmp / "model")
        task.save(tmp / "model")
        write_run_config(tmp, pruned_cfg, Path(run_dir) / "config.yaml")
        write_json(tmp / "report.json", report)
        write_text(tmp / "report.md", _markdown(task, scores, record))
        write_json(tmp / "run.json", {"status": "complete", "started": time.time(), "finished": time.time(),
                                      "versions": versions(), "pruned_from": record["from"]})
    return output, record


def _report(run_dir: Path) -> dict[str, Any]:
    try:
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def _markdown(task, scores: dict[str, Any], record: dict[str, Any]) -> str:
    lines = [f"# Pruned run: {record['from']}", "",
             f"{record['layers'] - len(record['kept_layers'])} of {record['layers']} layers dropped without "
             f"training (kept {record['kept_layers']}); {record['parameters']:,} parameters.", "",
             f"| split | {record['metric']} before | after | change |", "|---|---:|---:|---:|"]
    for name in scores:
        r = record[name]
        if r["change"] is not None:
            lines.append(f"| {name} | {r['before']:.4f} | {r['after']:.4f} | {r['change']:+.4f} |")
    lines += ["", *(task.markdown(scores[name], f"{name} set") for name in scores)]
    return "\n".join(lines) + "\n"
