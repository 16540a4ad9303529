"""tuneforge config --schema [--task TASK] [--format text|json|yaml]

(The module is not ``cli/config.py`` so it is never mistaken for ``tuneforge/config.py``, the config itself.)
"""

from __future__ import annotations

import argparse

from tuneforge.tasks import TASKS

HELP = "Show the config's schema: every key with its type, default and description."


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", action="store_true", help="print every key (dotted path) with type, default and "
                        "description")
    parser.add_argument("--task", choices=list(TASKS), metavar="TASK",
                        help=f"only this task's task_options, and its defaults (one of: {', '.join(TASKS)})")
    parser.add_argument("--format", choices=("text", "json", "yaml"), default="text",
                        help="text (default), json (a list of keys), or yaml (an annotated config of every key)")


def run(args: argparse.Namespace) -> int:
    import json

    from tuneforge.config.reference import as_records, render_text, render_yaml
    from tuneforge.errors import ConfigError

    if not args.schema:
        raise ConfigError("tuneforge config: nothing to do; try tuneforge config --schema")
    if args.format == "json":
        print(json.dumps(as_records(args.task), indent=2, ensure_ascii=False))
    elif args.format == "yaml":
        print(render_yaml(args.task), end="")
    else:
        print(render_text(args.task), end="")
    return 0
