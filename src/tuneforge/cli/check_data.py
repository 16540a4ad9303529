"""tuneforge check-data CONFIG"""

from __future__ import annotations

import argparse
import json

HELP = "Check a config's data before training: counts, labels, overlaps, lengths, malformed lines."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-model", action="store_true", help="skip sub-word length stats (no tokenizer load)")
    parser.add_argument("--no-pii", action="store_true", help="skip the personal-data scan (privacy: section)")


def run(args: argparse.Namespace) -> int:
    from tuneforge.util.quiet import third_party_quiet

    with third_party_quiet():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.check_data import check_data, format_report

    cfg = load_config(args.config, args.overrides)
    tokenizer = None if args.no_model else load_tokenizer(cfg.model.name)
    report = check_data(cfg, tokenizer)
    text = None if args.json else format_report(report)
    if not args.no_pii:
        from tuneforge.privacy.report import format_pii, scan_config

        report["pii"] = scan_config(cfg)
        text = None if args.json else f"{text}\n{format_pii(report['pii'])}"
    print(json.dumps(report, indent=2) if args.json else text)
    return 2 if report["problems"] else 0
