"""tuneforge explain RUN "text" [--label L | --entity N|TEXT] [--steps N] [--html FILE] [--json] | RUN --errors"""

from __future__ import annotations

import argparse
import json
import os
import sys

HELP = ("Explain a run's answer: each word's attribution by integrated gradients and, as a check, by occlusion "
        "(text classification: a label; tagging: an entity). --errors explains report.html's worst errors.")


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="a finished sequence-classification or token-classification run directory")
    parser.add_argument("text", nargs="?", help="the input to explain")
    parser.add_argument("--label", help="text classification: the label to explain (default: the predicted one)")
    parser.add_argument("--entity", help="tagging: the entity to explain, by its number among those found (1, 2, "
                        "…) or its text (default: the first)")
    parser.add_argument("--steps", type=int, default=None, metavar="N", help="integrated-gradient steps "
                        "(default 16)")
    parser.add_argument("--html", metavar="FILE", help="also write the explanation as a coloured HTML page")
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")
    parser.add_argument("--errors", action="store_true", help="explain the worst errors report.json lists (test "
                        "split) and rewrite report.html with them")


def run(args: argparse.Namespace) -> int:
    from tuneforge.errors import ConfigError
    from tuneforge.explain.explanation import STEPS, explain, explainable_kind, load_for_explaining
    from tuneforge.util.quiet import third_party_quiet

    steps = STEPS if args.steps is None else args.steps
    if steps < 1:
        raise ConfigError(f"--steps: {steps}; give at least 1")
    if args.errors == bool(args.text):
        raise ConfigError("give either a TEXT to explain or --errors")
    kind = explainable_kind(args.run)  # before any model loads: a generation run stops here
    with third_party_quiet():
        run = load_for_explaining(args.run)
        if args.errors:
            from tuneforge.explain.worst_errors import explain_report

            path, n = explain_report(run, kind, steps)
            print(f"explained {n} worst error(s); report.html rewritten: {path}")
            return 0
        explanation = explain(run, kind, args.text, args.label, args.entity, steps)
    if args.html:
        from tuneforge.explain.html_page import render_page
        from tuneforge.util.atomic import write_text

        write_text(args.html, render_page(str(args.run), explanation))
        print(f"tuneforge: explanation written to {args.html}", file=sys.stderr)
    if args.json:
        print(json.dumps(explanation.to_json(), indent=2))
    else:
        from tuneforge.explain.terminal import render

        print(render(explanation, colour=sys.stdout.isatty() and "NO_COLOR" not in os.environ))
    return 0
