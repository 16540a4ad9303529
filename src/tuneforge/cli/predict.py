"""tuneforge predict RUN "text" ... | --question Q --context C | --input FILE.jsonl [--output FILE.jsonl]"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = ("Predict with a finished run; prints JSONL: entities (type/start/end/text/score) for NER, "
        "label/probability/top_k for classification, answer/start/end/score for question answering.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory (or a zero-shot config file)")
    parser.add_argument("texts", nargs="*", help="texts to tag or classify; prompts for generation (one prompt "
                        "streams its reply to the terminal)")
    parser.add_argument("--question", help="question answering: the question (with --context)")
    parser.add_argument("--context", help="question answering: the text the answer is taken from")
    parser.add_argument("--input", metavar="FILE",
                        help='JSONL file, one item per line: a "text" field (and "text_pair" for pair '
                             'classification), "question" and "context" for question answering, "prompt" (or chat '
                             '"messages") for generation')
    parser.add_argument("--output", metavar="FILE", help="write JSONL here (atomically) instead of stdout")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="how to predict: inference.engine=onnx, inference.precision=bf16, inference.batch_tokens")


def read_inputs(path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Any]:
    """Items of a JSONL file, each checked for the task's fields (``TaskSpec.input_fields``)."""
    from tuneforge.data.examples import Problems
    from tuneforge.data.text_file import json_objects

    problems = Problems(path, strict=True)
    items: list[Any] = []
    for number, record in json_objects(path, problems):
        missing = [f for f in required if not isinstance(record.get(f), str)]
        wrong = [f for f in optional if record.get(f) is not None and not isinstance(record.get(f), str)]
        if missing:
            problems.add(number, f"expected an object with {' and '.join(repr(f) for f in required)} strings "
                                 f"({', '.join(missing)} missing or not a string)")
        elif wrong:
            problems.add(number, f"{', '.join(repr(f) for f in wrong)} must be a string")
        else:
            items.append(_item(record, required, optional))
    return items


def _item(record: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...]) -> Any:
    if len(required) > 1:
        return {f: record[f] for f in required}
    text = record[required[0]]
    extra = [record.get(f) for f in optional if record.get(f) is not None]
    return (text, *extra) if extra else text


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tuneforge.api import predict
    from tuneforge.atomic import write_text
    from tuneforge.errors import ConfigError
    from tuneforge.runs import config_of, load_run
    from tuneforge.tasks import task_spec

    if args.output and Path(args.output).is_dir():
        raise ConfigError(f"--output {args.output}: is a directory; give the path of a JSONL file to write")
    cfg = config_of(args.run)  # a missing run fails before any model loads
    spec = task_spec(cfg.task)
    items: list[Any] = []
    if args.question is not None or args.context is not None:
        if len(spec.input_fields) < 2 or args.question is None or args.context is None:
            raise ConfigError("--question and --context go together, and only with a question-answering run")
        items.append({"question": args.question, "context": args.context})
    if args.texts and len(spec.input_fields) > 1:
        raise ConfigError(f"a {spec.name} run takes --question and --context (or --input FILE.jsonl), not bare texts")
    items += list(args.texts)
    if args.input:
        items += (spec.read_inputs(args.input) if spec.input_reader_path
                  else read_inputs(args.input, spec.input_fields, spec.optional_input_fields))
    if not items:
        raise ConfigError("nothing to predict: give texts, --question with --context, or --input FILE.jsonl")
    run = load_run(args.run, overrides=args.overrides)
    if spec.streams and len(items) == 1 and not args.input and not args.output:
        run.stream(items[0], lambda text: (sys.stdout.write(text), sys.stdout.flush()))
        sys.stdout.write("\n")
        return 0
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in predict(run, items))
    if args.output:
        write_text(args.output, lines)
    else:
        sys.stdout.write(lines)
    return 0
