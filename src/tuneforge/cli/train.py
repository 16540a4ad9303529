"""tuneforge train CONFIG [--set key=value ...] | --resume RUN"""

from __future__ import annotations

import argparse

HELP = "Train a model from a YAML config (or continue a killed run with --resume)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.lr=3e-5 (repeatable)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this directory from its last checkpoint")


def run(args: argparse.Namespace) -> int:
    from tuneforge.api import say, train
    from tuneforge.errors import ConfigError

    if bool(args.config) == bool(args.resume):
        raise ConfigError("give either a CONFIG file or --resume RUN")
    if args.resume and args.overrides:
        raise ConfigError("--set cannot change a run being resumed: its config is fixed")
    run_dir = train(args.config, args.overrides, resume=args.resume)
    print((run_dir / "report.md").read_text(encoding="utf-8"))
    say(f"done: {run_dir}")
    return 0
