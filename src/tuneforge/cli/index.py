"""tuneforge index RUN --input passages.jsonl --output INDEX [--ann auto|exact|hnsw]

Embeds a collection once with a retrieval run's encoder and writes an index folder that ``predict --index``
(and the assistant's document answers) search; an index is refused by a run with other weights.
"""

from __future__ import annotations

import argparse

HELP = "Embed a passage collection with a retrieval run and write a searchable index (exact, or HNSW when large)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a retrieval run directory (or a config where nothing trains)")
    parser.add_argument("--input", required=True, metavar="FILE", help='JSONL, one passage per line: "text" and '
                        'an optional unique "id"; other fields are kept and returned with the passage')
    parser.add_argument("--output", required=True, metavar="INDEX", help="the index folder to write")
    parser.add_argument("--ann", choices=("auto", "exact", "hnsw"), default="auto",
                        help="exact search, or an HNSW graph (FAISS); auto: HNSW above 100k passages")
    parser.add_argument("--force", action="store_true", help="replace an existing index folder")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tuneforge.errors import ConfigError
    from tuneforge.prediction.passage_index import build_index
    from tuneforge.util.console import say
    from tuneforge.util.quiet import third_party_quiet

    if Path(args.output).exists() and not args.force:
        raise ConfigError(f"--output {args.output}: already exists; an index is built once and reused (--force "
                          "replaces it)")
    with third_party_quiet():
        info = build_index(args.run, args.input, args.output, ann=args.ann)
    say(f"indexed {info['passages']} passages ({info['kind']} search) into {args.output}")
    return 0
