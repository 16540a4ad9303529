"""tuneforge distill TEACHER_RUN (--layers N | --keep I,J,… | --student MODEL) [--ffn-share F]
[--temperature T] [--alpha A] [--hidden-weight W] [--unlabelled FILE] [--name NAME] [--output-dir DIR]
[--set key=value ...]"""

from __future__ import annotations

import argparse

HELP = ("Distil a finished run into a smaller student run: the teacher's own model with layers dropped "
        "(--layers N, initialised from its weights) or another named model (--student), trained on the teacher's "
        "temperature-scaled soft outputs together with the gold labels.")


def _indices(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer indices such as 1,3,5, not {text!r}") from None


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("teacher", metavar="TEACHER_RUN", help="the finished run to learn from")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--layers", type=int, metavar="N",
                       help="keep N of the teacher's layers, evenly spaced and ending with the last (6 → 3: 1,3,5)")
    which.add_argument("--keep", type=_indices, metavar="I,J,…",
                       help="keep exactly these teacher layers (0-based); all of them only with --ffn-share")
    which.add_argument("--student", metavar="MODEL",
                       help="another model (registry name, folder or hub id) with a new head; for token "
                       "classification and question answering it must share the teacher's tokenizer")
    parser.add_argument("--ffn-share", type=float, default=1.0, metavar="F",
                        help="with --layers/--keep: also keep only this share of each layer's feed-forward "
                        "neurons, the largest by weight (default 1: all)")
    parser.add_argument("--temperature", type=float, default=2.0, help="softens both distributions (default 2)")
    parser.add_argument("--alpha", type=float, default=0.5,
                        help="weight of the soft-target term; the gold labels get 1 - alpha (default 0.5)")
    parser.add_argument("--hidden-weight", type=float, default=0.0,
                        help="also match each student layer's hidden states to its teacher layer's (mean squared "
                        "error, this weight; needs equal widths and tokenizers; default 0: off)")
    parser.add_argument("--unlabelled", metavar="FILE",
                        help="texts in the training data's format, without labels: the teacher labels them and they "
                        "join the transfer set (classification, tagging, extractive QA)")
    parser.add_argument("--name", help="the student run's name (default: the teacher's name + '-student')")
    parser.add_argument("--output-dir", help="where the student run goes (default: beside the teacher)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override the student's config, e.g. --set training.epochs=3 (repeatable)")


def run(args: argparse.Namespace) -> int:
    from tuneforge.distill.recipe import DistillOptions, distill
    from tuneforge.runs.summary import summary
    from tuneforge.util.console import say
    from tuneforge.util.quiet import third_party_quiet

    options = DistillOptions(layers=args.layers, keep=args.keep, student=args.student,
                             ffn_share=args.ffn_share, temperature=args.temperature,
                             alpha=args.alpha, hidden_weight=args.hidden_weight, unlabelled=args.unlabelled,
                             name=args.name, output_dir=args.output_dir, overrides=args.overrides)
    with third_party_quiet():
        result = distill(args.teacher, options)
    print(summary(result.run_dir))
    d = result.report["distillation"]
    print(f"parameters: {d['student_parameters']:,} (teacher {d['teacher_parameters']:,}, "
          f"{d['student_parameters'] / d['teacher_parameters']:.0%})")
    say(f"done: {result.run_dir}")
    return 0
