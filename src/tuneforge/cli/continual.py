"""tuneforge continual PLAN [--strategy NAME ...]"""

from __future__ import annotations

import argparse

HELP = ("Train one task over a plan of stages (new data, new labels) with continual strategies; report the "
        "accuracy matrix, forgetting and transfer per strategy.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", help="YAML plan: config, strategies, stages (see docs/continual.md)")
    parser.add_argument("--strategy", action="append", metavar="NAME", help="run only this strategy (repeatable); "
                        "default: the plan's strategies")


def run(args: argparse.Namespace) -> int:
    from tuneforge.continual.runner import run_continual
    from tuneforge.util.quiet import third_party_quiet

    with third_party_quiet():
        out = run_continual(args.plan, args.strategy)
    print(f"report: {out / 'report.md'}")
    return 0
