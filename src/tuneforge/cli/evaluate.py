"""tuneforge evaluate RUN [--data FILE]"""

from __future__ import annotations

import argparse
import json

from tuneforge.cli.predict import add_schema_option, schema_overrides

HELP = "Score a finished run on a labelled file (entity-level P/R/F1 for NER; accuracy/F1 per label otherwise)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory (or a zero-shot config file)")
    parser.add_argument("--data", help="labelled file in the run's data format; default: the run's own test split "
                        "(its dev split, with a note, when it has none)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a run: how to predict (inference.*); a zero-shot config: any key")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    add_schema_option(parser)
    parser.add_argument("--predictions", metavar="FILE", help="generation: where to write (input, reference, "
                        "output) JSONL; default RUN/predictions.DATA-NAME.jsonl")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from tuneforge.api import evaluate, own_split_or_fail
    from tuneforge.runs.directory import config_of, load_run
    from tuneforge.util.quiet import third_party_quiet

    args.overrides += schema_overrides(args.schema)
    # Without --data: the run's own test (or dev) split; a run with neither fails before its model loads.
    split = None if args.data else own_split_or_fail(config_of(args.run), args.run)
    label = args.data or f"the run's {split} split"
    with third_party_quiet():
        run = load_run(args.run, overrides=args.overrides)
        folder = Path(args.run).parent if Path(args.run).is_file() else Path(args.run)
        stem = Path(args.data).stem if args.data else split
        predictions = args.predictions or folder / f"predictions.{stem}.jsonl"
        scores = evaluate(run, args.data, predictions)
    if Path(predictions).is_file():
        print(f"tuneforge: outputs written to {predictions}", file=sys.stderr)
    print(json.dumps(scores, indent=2) if args.json else run.task.markdown(scores, label))
    return 0
