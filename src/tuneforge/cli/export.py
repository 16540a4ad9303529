"""tuneforge export RUN --output DIR [--format saved|merged|onnx] [--merge] [--quantize int8]
[--drop-layers N [--ffn-share F]]"""

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
    parser.add_argument("--drop-layers", type=int, metavar="N", default=None,
                        help="prune without training: write a new run with N of the model's layers dropped (the "
                        "kept ones evenly spaced, ending with the last), its dev metric change in report.json; "
                        "the baseline a `tuneforge distill` student must beat (0 with --ffn-share: only narrow)")
    parser.add_argument("--ffn-share", type=float, metavar="F", default=None,
                        help="with --drop-layers: also keep only this share of each layer's feed-forward neurons, "
                        "the largest by weight (distill --ffn-share's baseline)")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.util.console import say

    if args.merge and args.format not in (None, "merged"):
        raise ConfigError(f"--merge is --format merged; it does not go with --format {args.format}")
    kind = "merged" if args.merge else args.format or "saved"
    if args.ffn_share is not None and args.drop_layers is None:
        raise ConfigError("--ffn-share goes with --drop-layers")
    if args.ffn_share is not None and not 0 < args.ffn_share <= 1:  # before the run's model loads
        raise ConfigError(f"--ffn-share {args.ffn_share}: give a fraction above 0 and at most 1")
    if args.drop_layers is not None:
        if args.format or args.merge or args.quantize:
            raise ConfigError("--drop-layers writes a pruned run; export that run with --format afterwards")
        from tuneforge.export.pruned import prune_run

        output, record = prune_run(args.run, args.output, args.drop_layers,
                                   1.0 if args.ffn_share is None else args.ffn_share)
        for split in ("dev", "test"):
            r = record.get(split)
            if r and r["change"] is not None:
                print(f"{split} {record['metric']}: {r['before']:.4f} -> {r['after']:.4f} ({r['change']:+.4f})")
        narrowed = f", feed-forward width {record['intermediate_size']}" if record.get("ffn_share", 1) != 1 else ""
        say(f"pruned run (kept layers {record['kept_layers']} of {record['layers']}{narrowed}) written to {output}")
        return 0
    if args.quantize and kind != "onnx":
        raise ConfigError("--quantize goes with --format onnx")
    if kind == "onnx":
        from tuneforge.export.onnx import export_onnx

        say(f"exported to {export_onnx(args.run, args.output, quantize=args.quantize)}")
        return 0
    from tuneforge.export.folder import export_run

    say(f"exported to {export_run(args.run, args.output, merge=kind == 'merged')}")
    return 0
