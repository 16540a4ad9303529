"""tuneforge calibrate RUN --set task_options.KEY=VALUE ..."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("Re-tune a finished run's thresholds on its dev split (out-of-scope threshold, multi-label "
        "thresholds), e.g. with another task_options.oos_calibration; no retraining.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="task_options.KEY=VALUE")


def run(args: argparse.Namespace) -> int:
    from tuneforge.util.quiet import third_party_quiet

    with third_party_quiet():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from tuneforge.api import calibrate
    from tuneforge.util.console import say

    calibrate(args.run, args.overrides)
    print((Path(args.run) / "report.md").read_text(encoding="utf-8"))
    say(f"recalibrated {args.run}")
    return 0
