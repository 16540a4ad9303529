"""tuneforge update RUN --data NEW [--dev FILE] [--test FILE] [--gate POINTS] [--flip-gate POINTS] [--strategy NAME]
[--set KEY=VALUE]"""

from __future__ import annotations

import argparse
import sys

HELP = ("Re-fine-tune a finished run on new data (new labels grow its head) and promote the result only if no "
        "earlier evaluation set drops by more than the gate; refused: exit status 3, the old model stays.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a finished run directory (tuneforge train, or a strategy of tuneforge continual)")
    parser.add_argument("--data", required=True, metavar="FILE", help="the new training data (the run's format)")
    parser.add_argument("--dev", metavar="FILE", help="new dev data")
    parser.add_argument("--test", metavar="FILE", help="new test data: scored, and guarded by later updates")
    parser.add_argument("--gate", type=float, default=1.0, metavar="POINTS", help="the most points (accuracy or "
                        "entity F1 x 100) any earlier evaluation set may lose (default 1.0)")
    parser.add_argument("--flip-gate", type=float, metavar="POINTS", help="also refuse the update when any "
                        "robustness suite's flip rate (tuneforge robustness, on the run's test set) rises by more "
                        "than POINTS percentage points")
    parser.add_argument("--strategy", default="replay", metavar="NAME", help="naive, replay (default), ewc, lwf "
                        "or joint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="training.*, replay.*, ewc.*, lwf.* options, e.g. training.epochs=2")


def run(args: argparse.Namespace) -> int:
    from tuneforge.continual.update import UpdateRefused, update
    from tuneforge.util.quiet import third_party_quiet

    try:
        with third_party_quiet():
            result = update(args.run, args.data, args.dev, args.test, args.gate, args.strategy, args.set,
                            args.flip_gate)
    except UpdateRefused as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return refused.exit_code
    for name, after in result.after.items():
        before = result.before.get(name)
        change = f" (was {before:.4f})" if before is not None else ""
        print(f"{name}: {after:.4f}{change}")
    print(f"promoted: {args.run}/model (the previous model is in {result.candidate / 'previous-model'})")
    return 0
