"""``tuneforge runs compare A B …``: finished (or running) runs side by side, with their training curves.

Writes ``compare.md`` (one column per run: headline metric, every dev/test scalar, trainable parameters,
time), ``compare.json`` (the same numbers), ``dev_metric.svg`` and ``loss.svg`` (the runs' curves from
metrics.jsonl, overlaid). Everything is read as the run wrote it (runs/listing.py), so a damaged or still
running run is a column that says so, not a traceback.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tuneforge.errors import RunError
from tuneforge.report.plots import category_curves
from tuneforge.runs.listing import (
    RunSummary,
    date_text,
    dig,
    headline_text,
    is_run_dir,
    number,
    params_text,
    seconds_text,
    summarize,
)
from tuneforge.util.atomic import write_json, write_text

MAX_POINTS = 100  # a curve longer than this is averaged over as many equal step ranges
MAX_TICKS = 8
SPLITS = ("dev", "test")


def read_curve_records(path: Path) -> list[dict[str, Any]]:
    """metrics.jsonl's records; a torn or damaged line is skipped (a running or killed run writes the last one)."""
    if not path.is_file():
        return []
    records = []
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError:
        return []
    for line in lines:
        try:
            record = json.loads(line.decode("utf-8")) if line.strip() else None
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            continue
        if isinstance(record, dict) and number(record.get("step")) is not None:
            records.append(record)
    return records


def curves(run: RunSummary) -> dict[str, list[tuple[float, float]]]:
    """(step, value) of the training loss and of the headline metric at each dev evaluation."""
    records = read_curve_records(Path(run.path) / "metrics.jsonl")
    loss = [(r["step"], r["loss"]) for r in records if "split" not in r and number(r.get("loss")) is not None]
    dev = [(r["step"], r[run.metric]) for r in records
           if r.get("split") == "dev" and run.metric and number(r.get(run.metric)) is not None]
    return {"loss": loss, "dev": dev}


def aligned(series: list[tuple[str, list[tuple[float, float]]]]) -> tuple[list[str], list[Any]] | None:
    """Series on shared step categories (category_curves' x axis): every step, or MAX_POINTS equal step ranges
    averaged; a few tick labels. None when no series has a point."""
    steps = sorted({s for _, points in series for s, _ in points})
    if not steps:
        return None
    if len(steps) > MAX_POINTS:
        lo, width = steps[0], (steps[-1] - steps[0]) / MAX_POINTS
        starts = [lo + i * width for i in range(MAX_POINTS)]

        def slot(step: float) -> int:
            return min(int((step - lo) / width), MAX_POINTS - 1)
    else:
        starts = steps
        slot = {s: i for i, s in enumerate(steps)}.__getitem__
    out = []
    for name, points in series:
        buckets: list[list[float]] = [[] for _ in starts]
        for step, value in points:
            buckets[slot(step)].append(value)
        out.append((name, [(sum(b) / len(b), None) if b else (None, None) for b in buckets]))
    every = math.ceil(len(starts) / MAX_TICKS)
    ticks = [f"{round(s):g}" if i % every == 0 or i == len(starts) - 1 else "" for i, s in enumerate(starts)]
    return ticks, out


def split_metrics(run: RunSummary) -> dict[str, float]:
    """``{"dev f1": 0.81, "test f1": …}``: every scalar score of the run's report."""
    scores = {}
    for split in SPLITS:
        values = dig(run.report, split)
        if isinstance(values, dict):
            scores.update({f"{split} {k}": v for k, v in values.items() if number(v) is not None})
    return scores


def score_text(value: float | None) -> str:
    """A score to 4 decimals; a count (an int in the report: entities, sentences) as it is."""
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


def labels_of(runs: list[RunSummary]) -> list[str]:
    """Column names: the run directories' names, their paths where two share a name."""
    names = [r.name for r in runs]
    return [r.name if names.count(r.name) == 1 else r.path for r in runs]


def markdown(runs: list[RunSummary], labels: list[str], plots: list[tuple[str, str]]) -> str:
    def row(title: str, cells: list[str]) -> str:
        return f"| {title} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = ["# Runs compared", "", row("", labels), "|---|" + "---:|" * len(runs)]
    lines += [row("status", [r.status for r in runs]), row("task", [r.task or "–" for r in runs]),
              row("method", [r.method or "–" for r in runs]), row("headline", [headline_text(r) for r in runs]),
              row("trainable params", [params_text(r) for r in runs]),
              row("train time", [seconds_text(r.train_seconds) for r in runs]),
              row("steps", [f"{int(s)}" if (s := number(dig(r.report, "training", "steps"))) is not None else "–"
                            for r in runs]),
              row("date", [date_text(r.started) for r in runs])]
    scores = [split_metrics(r) for r in runs]
    keys = list(dict.fromkeys(k for s in scores for k in s))
    lines += [row(key, [score_text(s.get(key)) for s in scores]) for key in keys]
    lines.append("")
    lines += [f"![{title}]({file})" for file, title in plots]
    return "\n".join(lines) + "\n"


def compare_runs(paths: list[str | Path], output: str | Path) -> str:
    """Write the comparison of the runs at ``paths`` into ``output``; returns its markdown."""
    if len(paths) < 2:
        raise RunError("runs compare: give at least two run directories")
    missing = [str(p) for p in paths if not is_run_dir(Path(p))]
    if missing:
        raise RunError(f"{missing[0]}: not a run directory (no run.json, config.yaml, report.json or metrics.jsonl)")
    runs = [summarize(p) for p in paths]
    labels = labels_of(runs)
    output = Path(output)
    run_curves = [curves(r) for r in runs]
    metrics = {r.metric for r in runs if r.metric}
    dev_label = f"dev {metrics.pop()}" if len(metrics) == 1 else "dev headline metric (each run's own)"
    plots = []
    for key, file, y_label, title in (("dev", "dev_metric.svg", dev_label, "dev metric by step"),
                                      ("loss", "loss.svg", "training loss", "training loss by step")):
        data = aligned([(label, c[key]) for label, c in zip(labels, run_curves, strict=True)])
        if data is not None:
            ticks, series = data
            write_text(output / file, category_curves(series, ticks, "step", y_label, title))
            plots.append((file, title))
    text = markdown(runs, labels, plots)
    write_text(output / "compare.md", text)
    write_json(output / "compare.json", {"runs": [{**r.as_dict(), "label": label, "metrics": split_metrics(r)}
                                                  for r, label in zip(runs, labels, strict=True)]})
    return text
