"""tuneforge export RUN --output DIR [--merge]"""

from __future__ import annotations

import argparse

HELP = ("Export a finished run: its adapter folder as saved, or with --merge one standalone model "
        "(LoRA/IA3 folded into the base) that plain transformers loads.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--output", required=True, metavar="DIR", help="new folder to write")
    parser.add_argument("--merge", action="store_true", help="fold the adapter into the base weights")


def run(args: argparse.Namespace) -> int:
    from tuneforge.api import say
    from tuneforge.export import export_run

    say(f"exported to {export_run(args.run, args.output, merge=args.merge)}")
    return 0
