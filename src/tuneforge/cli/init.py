"""tuneforge init --task TASK [--method METHOD] [--output FILE]"""

from __future__ import annotations

import argparse

from tuneforge.methods import METHODS
from tuneforge.tasks import TASKS

HELP = ("Write a commented starter config for a task and method: every key with its default and what it does; "
        "name your data files and train it.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, choices=list(TASKS), metavar="TASK",
                        help=f"one of: {', '.join(TASKS)}")
    parser.add_argument("--method", choices=list(METHODS), metavar="METHOD",
                        help=f"one of: {', '.join(METHODS)} (default: the task's)")
    parser.add_argument("--output", metavar="FILE",
                        help="write the config here (never over an existing file); default: print it")


def run(args: argparse.Namespace) -> int:
    from tuneforge.config.starters import starter_config, write_starter

    if args.output is None:
        print(starter_config(args.task, args.method), end="")
        return 0
    path = write_starter(args.output, args.task, args.method)
    print(f"tuneforge: wrote {path}; name your data files where it says '<- your file', then: "
          f"tuneforge train {path}")
    return 0
