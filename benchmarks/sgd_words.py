"""Unlabelled transfer text for a token-classification teacher: SGD train turns that carry slot values (cities,
restaurants, films, artists, …), split into words, as ``{"tokens": [...]}`` lines (`distill --unlabelled`).

    python benchmarks/sgd_words.py --out sgd-unlabelled.jsonl --limit 24000
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sgd" / "train.jsonl"
WORDS = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=24000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    seen: set[str] = set()
    sentences = []
    with DATA.open(encoding="utf-8") as fh:
        for line in fh:
            for turn in json.loads(line)["turns"]:
                text = turn["text"].strip()
                if text not in seen and any(frame.get("slots") for frame in turn["frames"]):
                    seen.add(text)
                    sentences.append(WORDS.findall(text))
    random.Random(args.seed).shuffle(sentences)
    sentences = [s for s in sentences if 3 <= len(s) <= 60][: args.limit]
    write_token_lines(args.out, sentences)
    print(f"{len(sentences)} sentences -> {args.out}")


def write_token_lines(path: str, sentences: list[list[str]]) -> None:
    """``{"tokens": [...]}`` lines, written to a temporary file first so that a failure leaves no half file."""
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text("".join(json.dumps({"tokens": s}) + "\n" for s in sentences), encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    main()
