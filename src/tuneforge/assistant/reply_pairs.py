"""SGD as (conversation so far, next assistant turn) pairs: what a reply retriever learns and is scored on.

    python -m tuneforge.assistant.reply_pairs ../shared/datasets/sgd data/sgd-replies [--train 20000 --dev 1000]

writes ``train.jsonl`` and ``dev.jsonl`` of ``{"query": context, "positive": reply}`` (``task: retrieval``'s
records), pairs spread evenly over each split (SGD's files are grouped by service). A context is the turns
before the reply, newest first with their speaker, so a length cut drops the oldest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CONTEXT_TURNS = 4


def context_text(turns: list[dict], upto: int) -> str:
    """The turns before ``upto``, newest first, each with its speaker."""
    earlier = turns[max(0, upto - CONTEXT_TURNS):upto]
    return " | ".join(f"{t['speaker']}: {' '.join(t['text'].split())}" for t in reversed(earlier))


def reply_pairs(path: str | Path, limit_dialogues: int | None = None) -> list[dict]:
    """Every system turn after a user turn: {"query": context, "positive": reply, "service", "dialogue", "turn"}."""
    pairs = []
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f):
            if limit_dialogues and n >= limit_dialogues:
                break
            d = json.loads(line)
            for i, turn in enumerate(d["turns"]):
                if turn["speaker"] != "system" or i == 0:
                    continue
                service = turn["frames"][0]["service"] if turn["frames"] else d["services"][0]
                pairs.append({"query": context_text(d["turns"], i), "positive": " ".join(turn["text"].split()),
                              "service": service, "dialogue": d["id"], "turn": i})
    return pairs


def spread(items: list, n: int) -> list:
    """n items spread evenly over the list."""
    if n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def write_pairs(sgd_dir: str | Path, out_dir: str | Path, train: int = 20000, dev: int = 1000) -> dict[str, int]:
    from tuneforge.util.atomic import write_text

    out = Path(out_dir)
    counts = {}
    for name, n in (("train", train), ("dev", dev)):
        rows = spread(reply_pairs(Path(sgd_dir) / f"{name}.jsonl"), n)
        write_text(out / f"{name}.jsonl", "".join(json.dumps({"query": r["query"], "positive": r["positive"]}) + "\n"
                                                 for r in rows))
        counts[name] = len(rows)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sgd_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=20000)
    parser.add_argument("--dev", type=int, default=1000)
    args = parser.parse_args(argv)
    counts = write_pairs(args.sgd_dir, args.out_dir, args.train, args.dev)
    print(f"{counts['train']} train and {counts['dev']} dev pairs in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
