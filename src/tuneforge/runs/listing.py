"""``tuneforge runs``: one line per run directory under a folder, read defensively.

Each run's files are read as plain JSON/YAML, never through the config model, so a run written by older
or newer code, one still running, and one whose files are torn or missing are all listed — with the
status that says so — instead of stopping the listing with a traceback.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tuneforge.errors import RunError
from tuneforge.runs.owner import owner_gone

RUN_FILES = ("run.json", "config.yaml", "report.json", "metrics.jsonl")  # any of them: a run directory


@dataclass
class RunSummary:
    path: str
    name: str
    status: str  # complete / running / what run.json says / damaged (...) / no run.json
    task: str | None = None
    method: str | None = None
    metric: str | None = None  # the headline metric's name (the one the run selected on)
    split: str | None = None  # where the headline value comes from: test, else dev
    value: float | None = None
    trainable_parameters: int | None = None
    total_parameters: int | None = None
    train_seconds: float | None = None
    started: float | None = None  # seconds since the epoch (run.json)
    problems: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict, repr=False)  # report.json, when readable

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("report")
        return data


def read_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """A JSON object from ``path``; None (and a note in ``problems``) if it is missing or damaged."""
    return _read_mapping(path, problems, json.loads, json.JSONDecodeError)


def read_yaml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """A YAML mapping from ``path``; None (and a note in ``problems``) if it is missing or damaged."""
    return _read_mapping(path, problems, yaml.safe_load, yaml.YAMLError)


def _read_mapping(path: Path, problems: list[str], parse, error: type[Exception]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, error):
        data = None
    if not isinstance(data, dict):
        problems.append(f"{path.name} is damaged")
        return None
    return data


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…``, or None where a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def summarize(run_dir: str | Path) -> RunSummary:
    """What one run directory says about itself; never raises for damaged contents."""
    run_dir = Path(run_dir)
    problems: list[str] = []
    info = read_json(run_dir / "run.json", problems)
    config = read_yaml(run_dir / "config.yaml", problems)
    report = read_json(run_dir / "report.json", problems)
    status = text(dig(info, "status"))
    if info is None and not (run_dir / "run.json").exists():
        problems.append("no run.json")
    if status == "complete" and not (run_dir / "report.json").exists():
        problems.append("report.json is missing")
    if problems:
        status = f"damaged ({'; '.join(problems)})"
    elif status == "running" and isinstance(info, dict) and owner_gone(info):
        status = KILLED  # its process died without writing its end: SIGKILL, out of memory
    summary = RunSummary(str(run_dir), run_dir.name, status or "unknown", problems=problems, report=report or {})
    summary.task = text(dig(config, "task")) or text(dig(report, "task"))
    summary.method = text(dig(config, "method")) or text(dig(report, "training", "method"))
    summary.metric = text(dig(config, "training", "early_stopping", "metric"))
    for split in ("test", "dev"):
        value = number(dig(report, split, summary.metric)) if summary.metric else None
        if value is not None:
            summary.split, summary.value = split, value
            break
    summary.trainable_parameters = number(dig(report, "training", "trainable_parameters"))
    summary.total_parameters = number(dig(report, "training", "total_parameters"))
    summary.train_seconds = number(dig(report, "training", "train_seconds"))
    summary.started = number(dig(info, "started"))
    return summary


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in RUN_FILES)


def list_runs(folder: str | Path) -> list[RunSummary]:
    """The runs directly under ``folder`` (or ``folder`` itself, if it is one), oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such folder (runs are listed from a folder such as runs/)")
    if is_run_dir(folder):
        return [summarize(folder)]
    try:
        children = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and is_run_dir(p))
    except OSError as exc:
        raise RunError(f"{folder}: cannot be read ({exc.strerror or exc})") from None
    runs = [summarize(p) for p in children]
    return sorted(runs, key=lambda r: (r.started is None, r.started or 0, r.name))


# -- formatting ---------------------------------------------------------------------------------------------------


def headline_text(run: RunSummary) -> str:
    return f"{run.split} {run.metric} {run.value:.4f}" if run.value is not None else "–"


def params_text(run: RunSummary) -> str:
    if run.trainable_parameters is None:
        return "–"
    share = f" ({100 * run.trainable_parameters / run.total_parameters:.2f}%)" if run.total_parameters else ""
    return f"{int(run.trainable_parameters):,}{share}"


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def date_text(started: float | None) -> str:
    if started is None:
        return "–"
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
    except (OverflowError, OSError, ValueError):
        return "–"


KILLED = "killed (train --resume continues it)"
COLUMNS = ("name", "status", "task", "method", "headline metric", "trainable params", "train time", "date")


def rows(runs: list[RunSummary]) -> list[tuple[str, ...]]:
    return [(r.name, r.status, r.task or "–", r.method or "–", headline_text(r), params_text(r),
             seconds_text(r.train_seconds), date_text(r.started)) for r in runs]


def table(runs: list[RunSummary]) -> str:
    """An aligned plain-text table, one line per run."""
    lines = [COLUMNS, *rows(runs)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines) + "\n"
