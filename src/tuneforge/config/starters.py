"""``tuneforge init``: a commented starter config for one task and method, written from the config's schema.

Every key that applies to the task and method is there with its default and its description, so the file
loads as it is once its data files (marked ``<-``) are filled in. Keys of other methods' sections, and keys
whose description says they belong to another task (``generation: ...``), are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

from tuneforge.config.reference import TASK_OPTIONS, Node, comment_of, schema, yaml_lines, yaml_value
from tuneforge.errors import ConfigError
from tuneforge.methods import DEFAULT_METHOD, METHODS
from tuneforge.tasks import TASKS
from tuneforge.util.atomic import write_text

# The files a user must name: placeholder values, each marked "<- your file" in the comment.
PLACEHOLDERS = {
    "data.train": "data/train.jsonl",
    "data.dev": "data/dev.jsonl",
    "data.test": "data/test.jsonl",
    f"{TASK_OPTIONS}.labels_file": "data/labels.yaml",
    f"{TASK_OPTIONS}.schema_files": "data/schema.json",
}
MARK = "<- your file"


def check_choice(task: str, method: str | None) -> str:
    """The method a starter config of ``task`` uses (the task's default when None); one-line errors."""
    if task not in TASKS:
        raise ConfigError(f"--task: unknown task '{task}' (choose from {', '.join(TASKS)})")
    spec = TASKS[task]
    method = method or spec.default_method or DEFAULT_METHOD
    if method not in METHODS:
        raise ConfigError(f"--method: unknown method '{method}' (choose from {', '.join(METHODS)})")
    if spec.methods and method not in spec.methods:
        raise ConfigError(f"--method: method {method} cannot train task {task} "
                          f"(choose from {', '.join(spec.methods)})")
    return method


def first_sentence(text: str) -> str:
    """A starter key's comment: the first sentence of what the schema says of it."""
    return re.split(r"(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0]


def starter_config(task: str, method: str | None = None) -> str:
    method = check_choice(task, method)
    other_tasks = [t for t in TASKS if t != task]
    values = {"name": f"{task}-{method}", "task": task, "method": method}

    def keep(node: Node) -> bool:
        if node.methods and method not in node.methods:
            return False  # another method's options
        return not any(node.description.startswith(f"{t}:") for t in other_tasks)

    def lines(node: Node, depth: int) -> list[str]:
        if not keep(node):
            return []
        if node.path in PLACEHOLDERS:
            comment = f"{MARK}; {first_sentence(node.description)}".rstrip("; ")
            return yaml_lines(node, depth, PLACEHOLDERS[node.path], comment)
        value = yaml_value(values[node.path]) if node.path in values else None
        out = yaml_lines(node, depth, value, first_sentence(comment_of(node)))
        for child in node.children:
            out += lines(child, depth + 1)
        return out

    head = [f"# tuneforge starter config: task {task}, method {method}.",
            f"# Name your files where it says '{MARK}' (or set them to null), then: tuneforge train THIS_FILE",
            "# Every other key shows its default; delete what you do not change. All keys, with types:",
            f"#   tuneforge config --schema --task {task}",
            ""]
    body = [line for node in schema(task) for line in lines(node, 0)]
    return "\n".join(head + body) + "\n"


def write_starter(path: str | Path, task: str, method: str | None = None) -> Path:
    """Write the starter config to ``path``, never over an existing file."""
    path = Path(path)
    text = starter_config(task, method)  # bad --task/--method fail before anything is checked on disk
    if path.exists():
        raise ConfigError(f"{path}: already exists; not overwriting it (choose another --output or remove it)")
    write_text(path, text)
    return path
