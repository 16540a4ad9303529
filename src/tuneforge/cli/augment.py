"""tuneforge augment CONFIG --out DIR [--set K=V] [--suites FILE | --only a,b] [--rate R] [--seed N]"""

from __future__ import annotations

import argparse

HELP = ("Write a config's training data augmented with perturbed copies from the robustness suites (labels and "
        "tags kept), and its dev split beside it, as JSONL; train on them with --set data.train=… data.dev=….")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config whose training data to augment")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for train.jsonl (and dev.jsonl)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value (e.g. data.train_limit=2000)")
    parser.add_argument("--suites", metavar="FILE", help="YAML: which suites on which fields (docs/robustness.md)")
    parser.add_argument("--only", metavar="A,B", help="use only these suites (comma-separated)")
    parser.add_argument("--rate", type=float, default=0.5, help="share of training examples that get a perturbed "
                        "copy (default 0.5)")
    parser.add_argument("--seed", type=int, default=13)


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.robustness.augment import write_augmented

    if args.suites and args.only:
        raise ConfigError("give --suites FILE or --only, not both")
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    result = write_augmented(args.config, args.out, args.overrides, args.suites, only, args.rate, args.seed)
    copies = ", ".join(f"{k} {v}" for k, v in result["copies"].items())
    print(f"{result['train_examples']} training examples + {sum(result['copies'].values())} copies ({copies})")
    for name, path in result["files"].items():
        print(f"{name}: {path}")
    return 0
