"""tuneforge train CONFIG [--set key=value ...] [--quick] | --resume RUN"""

from __future__ import annotations

import argparse

HELP = "Train a model from a YAML config (or continue a killed run with --resume)."
QUICK_EXAMPLES = 20  # --quick: what each evaluation (zero-shot baseline, dev, test) decodes at most


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set training.lr=3e-5 (repeatable)")
    parser.add_argument("--resume", metavar="RUN", help="continue the run in this directory from its last checkpoint")
    parser.add_argument("--quick", action="store_true",
                        help=f"a quick try: each evaluation decodes at most {QUICK_EXAMPLES} examples "
                        f"(task_options.eval_examples={QUICK_EXAMPLES}, for tasks with an evaluation budget)")


def run(args: argparse.Namespace) -> int:
    from tuneforge.api import train
    from tuneforge.errors import ConfigError
    from tuneforge.util.console import say
    from tuneforge.util.quiet import third_party_quiet

    if bool(args.config) == bool(args.resume):
        raise ConfigError("give either a CONFIG file or --resume RUN")
    if args.resume and (args.overrides or args.quick):
        raise ConfigError(f"{'--set' if args.overrides else '--quick'} cannot change a run being resumed: its config "
                          "is fixed")
    overrides = list(args.overrides) + (quick_overrides(args.config, args.overrides) if args.quick else [])
    with third_party_quiet():
        run_dir = train(args.config, overrides, resume=args.resume)  # prints the headline summary
    say(f"done: {run_dir}")
    return 0


def quick_overrides(config: str, overrides: list[str]) -> list[str]:
    """--quick's settings for this config: a small evaluation budget where the task has one (generation)."""
    from tuneforge.config.loading import load_config
    from tuneforge.util.console import say

    cfg = load_config(config, overrides)
    if "eval_examples" not in type(cfg.task_options).model_fields:
        say(f"--quick: {cfg.task} has no evaluation budget to cut; every dev/test example is scored")
        return []
    budget = cfg.task_options.eval_examples
    if budget is not None and budget <= QUICK_EXAMPLES:
        return []
    say(f"--quick: each evaluation decodes {QUICK_EXAMPLES} examples (task_options.eval_examples, was "
        f"{'all' if budget is None else budget})")
    return [f"task_options.eval_examples={QUICK_EXAMPLES}"]
