"""tuneforge redact CONFIG --out DIR"""

from __future__ import annotations

import argparse

HELP = "Write a redacted copy of a config's data (typed placeholders: <PHONE>, <PERSON_1>) and a config for it."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config file; its privacy: section says what to redact")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="a new folder: the redacted files, config.yaml (trains on them) and redaction.json")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")


def run(args: argparse.Namespace) -> int:
    from tuneforge.privacy.redact_data import redact_config
    from tuneforge.util.quiet import third_party_quiet

    with third_party_quiet():
        summary = redact_config(args.config, args.out, args.overrides)
    for split, info in summary["splits"].items():
        counts = ", ".join(f"{k} {v}" for k, v in info["redacted"].items()) or "nothing found"
        print(f"{split}: {info['records']} records -> {args.out}/{info['file']} ({counts})")
    print(f"train on the redacted copy: tuneforge train {args.out}/config.yaml")
    return 0
