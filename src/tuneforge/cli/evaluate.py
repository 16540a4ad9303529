"""tuneforge evaluate RUN --data FILE"""

from __future__ import annotations

import argparse
import json

HELP = "Score a finished run on a labelled file (entity-level P/R/F1 for NER; accuracy/F1 per label otherwise)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory (or a zero-shot config file)")
    parser.add_argument("--data", required=True, help="labelled file in the run's data format")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a run: how to predict (inference.*); a zero-shot config: any key")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--predictions", metavar="FILE", help="generation: where to write (input, reference, "
                        "output) JSONL; default RUN/predictions.DATA-NAME.jsonl")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from tuneforge.api import evaluate
    from tuneforge.runs import load_run

    run = load_run(args.run, overrides=args.overrides)
    folder = Path(args.run).parent if Path(args.run).is_file() else Path(args.run)
    predictions = args.predictions or folder / f"predictions.{Path(args.data).stem}.jsonl"
    scores = evaluate(run, args.data, predictions)
    if Path(predictions).is_file():
        print(f"tuneforge: outputs written to {predictions}", file=sys.stderr)
    print(json.dumps(scores, indent=2) if args.json else run.task.markdown(scores, args.data))
    return 0
