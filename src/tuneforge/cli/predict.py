"""tuneforge predict RUN "text" ... | --input FILE.jsonl [--output FILE.jsonl]"""

from __future__ import annotations

import argparse
import json
import sys

HELP = ("Predict with a finished run; prints JSONL: entities (type/start/end/text/score) for NER, "
        "label/probability/top_k for classification.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("texts", nargs="*", help="texts to tag")
    parser.add_argument("--input", metavar="FILE",
                        help='JSONL file with a "text" field per line (and "text_pair" for pair classification)')
    parser.add_argument("--output", metavar="FILE", help="write JSONL here (atomically) instead of stdout")


def read_inputs(path: str) -> list[str | tuple[str, str]]:
    from tuneforge.data.examples import Problems
    from tuneforge.data.text_file import json_objects

    problems = Problems(path, strict=True)
    texts: list[str | tuple[str, str]] = []
    for number, record in json_objects(path, problems):
        pair = record.get("text_pair")
        if not isinstance(record.get("text"), str):
            problems.add(number, 'expected an object with a "text" string')
        elif pair is not None and not isinstance(pair, str):
            problems.add(number, '"text_pair" must be a string')
        else:
            texts.append((record["text"], pair) if pair is not None else record["text"])
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
