"""tuneforge fewshot CONFIG --shots 0,8,16,all --seeds 3 [--approaches ...] [--output DIR]"""

from __future__ import annotations

import argparse

HELP = ("Learning curves with few labelled examples: zero-shot from label descriptions, frozen embeddings + "
        "logistic regression, contrastive few-shot, plain fine-tuning, prompt tuning and a prompted causal LM, "
        "each on the same k examples per label drawn anew per seed; one table (mean ± std) and a plot.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    from tuneforge.studies.fewshot import APPROACHES

    parser.add_argument("config", help="an embedding-classification config: data.train (the pool), data.test, and "
                        "the labels (task_options.labels / labels_file) for zero-shot")
    parser.add_argument("--shots", default="0,8,16,all", help="examples per label (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3, help="draws of the examples per shot count (default: 3)")
    parser.add_argument("--approaches", default=",".join(APPROACHES), help="comma-separated (default: %(default)s)")
    parser.add_argument("--output", default="fewshot", metavar="DIR", help="folder for results and runs")
    parser.add_argument("--keep-runs", action="store_true", help="keep each run's model folder")
    parser.add_argument("--lm-test-limit", type=int, default=300, help="lm-prompt: test examples scored per cell "
                        "(a seeded sample; scoring every label is slow on a CPU)")
    parser.add_argument("--lm-context", type=int, default=16, help="lm-prompt: demonstrations in the prompt")
    parser.add_argument("--lm-calibrate", action=argparse.BooleanOptionalAction, default=True,
                        help="lm-prompt: score labels relative to their likelihood after content-free texts "
                        "(default: on)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.studies.fewshot import fewshot, markdown, parse_shots

    if args.seeds < 1:
        raise ConfigError("--seeds must be at least 1")
    approaches = [a.strip() for a in args.approaches.split(",") if a.strip()]
    result = fewshot(args.config, parse_shots(args.shots), args.seeds, approaches, args.output, args.overrides,
                     args.keep_runs, {"lm_test_limit": args.lm_test_limit, "lm_context": args.lm_context,
                                     "lm_calibrate": args.lm_calibrate})
    print(markdown(result))
    return 0
