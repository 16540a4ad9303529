"""tuneforge runs [DIR] | tuneforge runs compare RUN RUN ... [--output DIR]"""

from __future__ import annotations

import argparse

HELP = ("List the runs under a folder (status, task, method, headline metric, trainable parameters, time, date), "
        "or compare runs side by side (runs compare A B ... --output DIR).")
COMPARE = "compare"


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="DIR",
                        help="the folder to list (default: runs); or 'compare' and two or more run directories "
                        "(a folder named compare is listed as ./compare)")
    parser.add_argument("--output", metavar="DIR", help="runs compare: folder for compare.md, compare.json and the "
                        "curves (default: runs-compare)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="listing: text table or JSON")


def run(args: argparse.Namespace) -> int:
    import json

    from tuneforge.errors import RunError

    if args.paths[:1] == [COMPARE]:
        from tuneforge.runs.comparison import compare_runs

        print(compare_runs(args.paths[1:], args.output or "runs-compare"), end="")
        return 0
    from tuneforge.runs.listing import list_runs, table

    if args.output:
        raise RunError("--output belongs to runs compare (tuneforge runs compare A B --output DIR)")
    if len(args.paths) > 1:
        raise RunError(f"runs: give one folder to list, not {len(args.paths)} (to compare runs: tuneforge runs "
                       "compare A B ...)")
    folder = args.paths[0] if args.paths else "runs"
    runs = list_runs(folder)
    if args.format == "json":
        print(json.dumps([r.as_dict() for r in runs], indent=2))
    elif not runs:
        print(f"no runs under {folder}")
    else:
        print(table(runs), end="")
    return 0
