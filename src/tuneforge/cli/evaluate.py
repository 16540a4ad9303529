"""tuneforge evaluate RUN --data FILE"""

from __future__ import annotations

import argparse
import json

HELP = "Score a finished run on a labelled file (entity-level P/R/F1 for NER; accuracy/F1 per label otherwise)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--data", required=True, help="labelled file in the run's data format")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")


def run(args: argparse.Namespace) -> int:
    from tuneforge.api import evaluate
    from tuneforge.runs import load_run

    run = load_run(args.run)
    scores = evaluate(run, args.data)
    print(json.dumps(scores, indent=2) if args.json else run.task.markdown(scores, args.data))
    return 0
