"""tuneforge robustness RUN [--suites FILE | --only a,b] [--data FILE] [--limit N] [--seed N] [--json] [--out FILE]"""

from __future__ import annotations

import argparse
import json
import sys

HELP = ("Check a run's robustness and bias: CheckList-style invariance suites (names across gender and origin, "
        "places, typos, casing, punctuation, contractions, an irrelevant clause) on its test split; flip rate and "
        "accuracy change per suite, written to RUN/robustness.json.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a finished sequence-classification or token-classification run directory")
    parser.add_argument("--suites", metavar="FILE", help="YAML: which suites on which data fields (see "
                        "docs/robustness.md); default: every suite on the run's text")
    parser.add_argument("--only", metavar="A,B", help="run only these suites (comma-separated)")
    parser.add_argument("--data", metavar="FILE", help="labelled file to check; default: the run's test split "
                        "(dev without one)")
    parser.add_argument("--limit", type=int, metavar="N", help="check a seeded sample of N examples")
    parser.add_argument("--seed", type=int, default=13, help="seed of the perturbations and the sample")
    parser.add_argument("--out", metavar="FILE", help="where to write the result (default RUN/robustness.json)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.robustness.run_check import RESULT_FILE, check_run
    from tuneforge.robustness.table import markdown
    from tuneforge.util.quiet import third_party_quiet

    if args.suites and args.only:
        raise ConfigError("give --suites FILE or --only, not both")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit: {args.limit}; give at least 1")
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    with third_party_quiet():
        record = check_run(args.run, args.suites, only, args.data, args.limit, args.seed, args.out)
    print(json.dumps(record, indent=2) if args.json else markdown(record))
    print(f"tuneforge: written to {args.out or f'{args.run}/{RESULT_FILE}'}", file=sys.stderr)
    return 0
