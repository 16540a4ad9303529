"""tuneforge train CONFIG [--set key=value ...] | --resume RUN"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "Train a model from a YAML config (or continue a killed run with --resume)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.lr=3e-5 (repeatable)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this directory from its last checkpoint")


def run(args: argparse.Namespace) -> int:
    from tuneforge.api import train
    from tuneforge.errors import ConfigError
    from tuneforge.util.console import say
    from tuneforge.util.quiet import third_party_quiet

    if bool(args.config) == bool(args.resume):
        raise ConfigError("give either a CONFIG file or --resume RUN")
    if args.resume and args.overrides:
        raise ConfigError("--set cannot change a run being resumed: its config is fixed")
    with third_party_quiet():
        run_dir = train(args.config, args.overrides, resume=args.resume)
    print(summary(run_dir))
    say(f"done: {run_dir}")
    return 0


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
        lines.append(f"time: {steps}{_duration(t['wall_seconds_this_process'])}")
    lines.append(f"full report: {run_dir / 'report.md'} (scores as JSON: {run_dir / 'report.json'})")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {secs} s"
