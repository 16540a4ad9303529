"""The robustness table: each run's flip rate per suite (``tuneforge robustness``), side by side.

    python benchmarks/robustness_table.py RUN [RUN ...] [--limit 600] [--data FILE] [--out FILE]

Each run is checked on a seeded sample of ``--limit`` examples of its test split (the same sample for runs
trained on the same data), and its result saved to the run's robustness.json as the CLI does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, write_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--data", help="labelled file to check (default: each run's test split)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "robustness-table.json"))
    args = parser.parse_args()

    from tuneforge.robustness.run_check import check_run
    from tuneforge.robustness.table import markdown

    records = {}
    for run in args.runs:
        started = time.perf_counter()
        record = check_run(run, data=args.data, limit=args.limit, seed=args.seed)
        record["seconds"] = round(time.perf_counter() - started, 1)
        records[Path(run).name] = record
        print(markdown(record, worst=1), flush=True)
    suites = list(dict.fromkeys(r["suite"] for rec in records.values() for r in rec["suites"]))
    lines = ["| run | " + " | ".join(suites) + " |", "|---|" + "---:|" * len(suites)]
    for name, rec in records.items():
        rates = {r["suite"]: r for r in rec["suites"]}
        cells = [("–" if rates[s]["flip_rate"] is None else f"{100 * rates[s]['flip_rate']:.1f}% "
                  f"({rates[s]['examples']})") for s in suites]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    write_results(args.out, {"limit": args.limit, "seed": args.seed, "runs": records, "table": lines})


if __name__ == "__main__":
    main()
