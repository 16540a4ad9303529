"""The few lines a finished run prints (``tuneforge train`` and ``tuneforge.train()`` alike): headline dev/test
scores beside the zero-shot baseline, the time taken, and where the full report is."""

from __future__ import annotations

import json
from pathlib import Path

from tuneforge.runs.listing import seconds_text


def summary(run_dir: Path) -> str:
    """A few lines for the terminal: headline dev/test scores, the time taken, and where the full report is."""
    from tuneforge.config.loading import load_config
    from tuneforge.tasks import task_class

    cfg = load_config(run_dir / "config.yaml")
    Task = task_class(cfg.task)
    main = Task.main_metric(cfg)
    names = [main, *(n for n in Task.metric_names(cfg) if n != main)][:3]
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    lines = []
    for split in ("dev", "test"):
        scores = report.get(split)
        if not isinstance(scores, dict):
            continue
        line = f"{split}: " + ", ".join(f"{n} {scores[n]:.4f}" for n in names if isinstance(scores.get(n), float | int))
        before = report.get("zero_shot", {}).get(split, {}).get(main)
        lines.append(line + (f" (zero-shot {main} {before:.4f})" if isinstance(before, float | int) else ""))
    t = report.get("training", {})
    if "wall_seconds_this_process" in t:
        steps = f"{t['steps']} steps, " if t.get("steps") else ""
        # train time is the figure `tuneforge runs` lists (the optimizer steps, over every resume); the total adds
        # this process's dev scoring, checkpoints and the final scoring
        trained = f"train time {seconds_text(t['train_seconds'])}, " if t.get("train_seconds") is not None else ""
        lines.append(f"time: {steps}{trained}{seconds_text(t['wall_seconds_this_process'])} in all")
    lines.append(f"full report: {run_dir / 'report.md'} (scores as JSON: {run_dir / 'report.json'})")
    return "\n".join(lines)

