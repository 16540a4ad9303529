"""tuneforge memorisation RUN"""

from __future__ import annotations

import argparse
import json

HELP = ("How much personal data a generation run has memorised: the share of the personal-data strings in its "
        "training replies that it completes when prompted with the text before them.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a finished generation run directory")
    parser.add_argument("--limit", type=int, default=200, metavar="N",
                        help="at most N strings (a seeded sample when the training replies hold more; default 200)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.privacy.memorisation import memorisation
    from tuneforge.runs.directory import load_run
    from tuneforge.util.quiet import third_party_quiet

    if args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    with third_party_quiet():
        result = memorisation(load_run(args.run), limit=args.limit)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"memorised: {result['memorised']} of {result['strings']} personal-data strings "
          f"({100 * result['share']:.1f}%) from the training replies")
    for kind, counts in result["by_kind"].items():
        print(f"  {kind}: {counts['memorised']} of {counts['strings']}")
    for example in result["examples"]:
        print(f"  e.g. {example['kind']} {example['value']!r}")
    return 0
