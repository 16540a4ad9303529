"""tuneforge compare CONFIG --methods full,bitfit,adapter,lora,ia3,prompt-tuning [--output DIR]"""

from __future__ import annotations

import argparse

HELP = ("Train several adaptation methods on the same config, data and seed; write one table "
        "(test metric, trainable parameters, size on disk, time, memory, inference speed) and a plot.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config file")
    parser.add_argument("--methods", default="full,bitfit,adapter,lora,ia3,prompt-tuning",
                        help="comma-separated methods (default: %(default)s)")
    parser.add_argument("--output", default="compare", metavar="DIR", help="folder for runs and results")
    parser.add_argument("--lr", default="", metavar="METHOD=LR,...", help="learning rates per method, e.g. lora=1e-3")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.studies.compare import compare, markdown

    lrs = {}
    for item in filter(None, args.lr.split(",")):
        method, _, value = item.partition("=")
        try:
            lrs[method.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--lr {item!r}: expected METHOD=NUMBER, e.g. lora=1e-3") from None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(markdown(compare(args.config, methods, args.output, args.overrides, lrs)))
    return 0
