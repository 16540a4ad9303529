"""tuneforge tune CONFIG --trials N [--set KEY=VALUE ...] [--study-name NAME] [--storage URL] [--output DIR]
[--timeout S] [--total-trials N]"""

from __future__ import annotations

import argparse

HELP = "Search hyperparameters (the config's search: block) with Optuna: one training run per trial."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML config file with a top-level search: block")
    parser.add_argument("--trials", type=int, required=True, metavar="N", help="trials this process runs")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value of the run config every trial starts from, e.g. --set "
                        "training.epochs=1 (repeatable); the searched keys are set by each trial")
    parser.add_argument("--study-name", metavar="NAME", help="the study's name in the storage (default: the "
                        "config's name); workers sharing a study give the same one")
    parser.add_argument("--storage", metavar="URL", help="Optuna storage: sqlite:///PATH or "
                        "postgresql://USER:PASSWORD@HOST/DB (default: sqlite:///OUTPUT/study.db)")
    parser.add_argument("--output", metavar="DIR", help="where trial runs and results go (default: "
                        "<output_dir>/<name>-tune)")
    parser.add_argument("--timeout", type=float, metavar="S", help="start no new trial after this many seconds")
    parser.add_argument("--total-trials", type=int, metavar="N", help="stop once the study holds N trials, "
                        "counting every worker's (Optuna's MaxTrialsCallback)")


def run(args: argparse.Namespace) -> int:
    from tuneforge.studies.tune import tune
    from tuneforge.util.quiet import third_party_quiet

    with third_party_quiet():
        result = tune(args.config, args.trials, study_name=args.study_name, storage=args.storage,
                      output=args.output, timeout=args.timeout, total_trials=args.total_trials,
                      overrides=args.overrides)
    print(f"trials: {result.output / 'trials.md'}")
    if (result.output / "best.yaml").is_file():
        print(f"best config: {result.output / 'best.yaml'} (tuneforge train {result.output / 'best.yaml'})")
    return 0
