"""tuneforge predict RUN "text" ... | --input FILE.jsonl [--output FILE.jsonl]"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "Predict entities for texts; prints JSONL (text, entities with type/start/end/text/score)."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("texts", nargs="*", help="texts to tag")
    parser.add_argument("--input", metavar="FILE", help='JSONL file with a "text" field per line')
    parser.add_argument("--output", metavar="FILE", help="write JSONL here (atomically) instead of stdout")


def read_inputs(path: str) -> list[str]:
    from tuneforge.data.text_file import read_lines
    from tuneforge.errors import DataError

    texts = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DataError(f'{path}:{number}: expected an object with a "text" string')
        texts.append(record["text"])
    return texts


def run(args: argparse.Namespace) -> int:
    from tuneforge.api import predict
    from tuneforge.atomic import write_text
    from tuneforge.errors import ConfigError

    texts = list(args.texts)
    if args.input:
        texts += read_inputs(args.input)
    if not texts:
        raise ConfigError('nothing to predict: give texts or --input FILE.jsonl')
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in predict(args.run, texts))
    if args.output:
        write_text(args.output, lines)
    else:
        sys.stdout.write(lines)
    return 0
