"""tuneforge predict RUN "text" ... | --question Q --context C | --input FILE.jsonl [--output FILE.jsonl] [--resume]

``--input`` streams: the file is read, predicted and written in chunks (``tuneforge.prediction.stream``), in constant
memory, resumable, and sharded across the processes of ``accelerate launch`` / ``torchrun``.
"""

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
    parser.add_argument("--resume", action="store_true",
                        help="--input with --output: continue an interrupted predict from its partial output")
    parser.add_argument("--chunk-size", type=int, default=1000, metavar="N",
                        help="--input: items predicted and written at a time (default 1000)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="--input: a progress bar on stderr (default: when stderr is a terminal)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="how to predict: inference.engine=onnx, inference.precision=bf16, inference.batch_tokens")
    add_schema_option(parser)
    parser.add_argument("--index", metavar="INDEX", help="retrieval: the index folder to search (built by "
                        "`tuneforge index` with this run's model)")


def add_schema_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", action="append", default=[], metavar="FILE",
                        help="dialogue state tracking: an SGD schema file of services beside the run's own (a service "
                             "it never trained on works from its schema alone); repeatable")


def schema_overrides(schemas: list[str]) -> list[str]:
    """--schema FILE ... as the override it stands for (paths made absolute: overrides have no config folder)."""
    from pathlib import Path

    return [f"task_options.schema_files={json.dumps([str(Path(s).resolve()) for s in schemas])}"] if schemas else []


def read_inputs(path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Any]:
    """Items of a JSONL file, each checked for the task's fields (``TaskSpec.input_fields``)."""
    from tuneforge.prediction.stream import file_items

    return [item for _, item in file_items(path, required, optional)]


def run(args: argparse.Namespace) -> int:
    from tuneforge.util.quiet import third_party_quiet

    with third_party_quiet():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tuneforge.api import predict
    from tuneforge.errors import ConfigError
    from tuneforge.runs.directory import config_of, load_run
    from tuneforge.tasks import task_spec
    from tuneforge.util.atomic import write_text
    from tuneforge.util.console import say

    if args.output and Path(args.output).is_dir():
        raise ConfigError(f"--output {args.output}: is a directory; give the path of a JSONL file to write")
    cfg = config_of(args.run)  # a missing run fails before any model loads
    args.overrides += schema_overrides(args.schema)
    if args.index:
        args.overrides.append(f"task_options.index={json.dumps(str(Path(args.index).resolve()))}")
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
        from tuneforge.prediction.stream import predict_input

        count = predict_input(lambda: load_run(args.run, overrides=args.overrides), spec, args.input, items,
                              output=args.output, chunk_size=args.chunk_size, resume=args.resume,
                              progress=args.progress)
        if args.output:
            say(f"wrote {count} prediction(s){' more' if args.resume else ''} to {args.output}")
        return 0
    if args.resume:
        raise ConfigError("--resume continues an interrupted --input FILE.jsonl --output FILE.jsonl; give both")
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
        say(f"wrote {len(items)} prediction(s) to {args.output}")
    else:
        sys.stdout.write(lines)
    return 0
