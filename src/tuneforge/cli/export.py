"""tuneforge export RUN --output DIR [--format saved|merged|onnx] [--merge] [--quantize int8]"""

from __future__ import annotations

import argparse

HELP = ("Export a finished run: its adapter folder as saved, with --format merged (or --merge) one standalone "
        "model (LoRA/IA3 folded into the base) that plain transformers loads, or with --format onnx one ONNX "
        "graph checked against PyTorch (--quantize int8: dynamic int8, with the dev-metric drop measured).")

FORMATS = ("saved", "merged", "onnx")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--output", required=True, metavar="DIR", help="new folder to write")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="saved (default): the run's model folder as saved (an adapter stays an adapter); "
                        "merged: the adapter folded into the base; onnx: model.onnx + tokenizer + export.json "
                        "(encoder runs)")
    parser.add_argument("--merge", action="store_true", help="the same as --format merged")
    parser.add_argument("--quantize", choices=("int8",), default=None,
                        help="--format onnx: quantize the weights to int8 (ONNX Runtime dynamic quantization) "
                        "and record the run's dev metric fp32 vs int8 in export.json")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.util.console import say

    if args.merge and args.format not in (None, "merged"):
        raise ConfigError(f"--merge is --format merged; it does not go with --format {args.format}")
    kind = "merged" if args.merge else args.format or "saved"
    if args.quantize and kind != "onnx":
        raise ConfigError("--quantize goes with --format onnx")
    if kind == "onnx":
        from tuneforge.export.onnx import export_onnx

        say(f"exported to {export_onnx(args.run, args.output, quantize=args.quantize)}")
        return 0
    from tuneforge.export.folder import export_run

    say(f"exported to {export_run(args.run, args.output, merge=kind == 'merged')}")
    return 0
