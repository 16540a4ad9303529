"""tuneforge push RUN --repo ID [--private] [--token TOKEN]"""

from __future__ import annotations

import argparse

HELP = ("Upload a finished run to the Hugging Face hub: model folder (weights, tokenizer, model card), report.json "
        "and config.yaml.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a finished run directory")
    parser.add_argument("--repo", required=True, metavar="ID", help="the hub repository, e.g. your-name/my-ner-model "
                        "(created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--token", help="a Hugging Face write token (default: HF_TOKEN or the saved login)")


def run(args: argparse.Namespace) -> int:
    from tuneforge.export.push import push_run
    from tuneforge.util.console import say

    url = push_run(args.run, args.repo, private=args.private, token=args.token)
    say(f"pushed {args.run} to {args.repo}: {url}")
    return 0
