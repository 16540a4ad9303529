"""The config's schema, read from its pydantic models: every key with its type, default and description.

``tuneforge config --schema`` prints it (text, JSON, or an annotated YAML block of every key), docs/config.md's
config block is that YAML block, and ``tuneforge init`` writes a starter config from the same tree. Task
options come from each task's registry entry, method sections from each method's, so a new option, task
or method shows up everywhere without an edit here.
"""

from __future__ import annotations

import inspect
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tuneforge.config.schema import RunConfig
from tuneforge.methods import DEFAULT_METHOD, METHODS
from tuneforge.tasks import DEFAULT_TASK, TASKS

TASK_OPTIONS = "task_options"  # the RunConfig field whose model is the task's (TaskSpec.options)


@dataclass
class Node:
    """One key of the config: a value (a leaf) or a section of further keys."""

    path: str
    type: str
    default: Any = None
    description: str = ""
    children: list[Node] = field(default_factory=list)
    task: str | None = None  # a task_options key: the task it belongs to
    methods: tuple[str, ...] = ()  # a method's options section (or a key in it): the method(s) it configures

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def is_section(self) -> bool:
        return bool(self.children)


def schema(task: str | None = None) -> list[Node]:
    """The top-level keys of a run config; ``task_options`` holds every task's keys, or only ``task``'s."""
    owners = {spec.options_key: tuple(m for m, s in METHODS.items() if s.options_key == spec.options_key)
              for spec in METHODS.values() if spec.options_key}
    nodes = []
    for name, info in RunConfig.model_fields.items():
        if name == TASK_OPTIONS:
            tasks = [task] if task else list(TASKS)
            children = [child for t in tasks for child in _fields(TASKS[t].options, name, task=t)]
            nodes.append(Node(name, "section", description="The options of the config's task (task:).",
                              children=children))
            continue
        node = _node(name, info, "", methods=owners.get(name, ()))
        nodes.append(node)
    if task is not None:  # the defaults a config of this task gets (its registry entry)
        spec = TASKS[task]
        for node in walk(nodes):
            if node.path == "task":
                node.default = task
            elif node.path == "method":
                node.default = spec.default_method or DEFAULT_METHOD
            elif node.path == "model.name":
                node.default = spec.default_model
    else:
        next(n for n in nodes if n.path == "task").default = DEFAULT_TASK
    return nodes


def walk(nodes: list[Node]):
    """Every node, depth first, sections before their keys."""
    for node in nodes:
        yield node
        yield from walk(node.children)


def leaves(task: str | None = None) -> list[Node]:
    return [n for n in walk(schema(task)) if not n.is_section]


def _fields(model: type[BaseModel], prefix: str, task: str | None = None,
            methods: tuple[str, ...] = ()) -> list[Node]:
    return [_node(name, info, prefix, task, methods) for name, info in model.model_fields.items()
            if not info.exclude]  # the task options' hidden discriminator


def _node(name: str, info: FieldInfo, prefix: str, task: str | None = None, methods: tuple[str, ...] = ()) -> Node:
    path = f"{prefix}.{name}" if prefix else name
    section = _section_model(info.annotation)
    if section is not None:
        description = info.description or _doc(section)
        return Node(path, "section", description=description, task=task, methods=methods,
                    children=_fields(section, path, task, methods))
    default = info.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = default.model_dump(mode="json")
    elif isinstance(default, list):
        default = [x.model_dump(mode="json") if isinstance(x, BaseModel) else x for x in default]
    return Node(path, type_text(info), default, info.description or "", task=task, methods=methods)


def _section_model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _doc(model: type[BaseModel]) -> str:
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "")  # its own, not BaseModel's
    return " ".join(doc.split("\n\n")[0].split()).replace("``", "")


_BOUNDS = ((annotated_types.Ge, "ge", ">="), (annotated_types.Gt, "gt", ">"), (annotated_types.Le, "le", "<="),
           (annotated_types.Lt, "lt", "<"), (annotated_types.MinLen, "min_length", "at least"))


def type_text(info: FieldInfo) -> str:
    """``float (>= 0, < 1) | null``: the annotation in words, with the field's bounds beside the number."""
    bounds = [f"{word} {getattr(m, attr)}" for m in info.metadata for cls, attr, word in _BOUNDS if isinstance(m, cls)]
    return _words(info.annotation, f" ({', '.join(bounds)})" if bounds else "")


def _words(annotation: Any, bounds: str = "") -> str:
    origin = get_origin(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " | ".join(_words(a, bounds) for a in get_args(annotation))
    if origin is list:
        return f"list of {_words(get_args(annotation)[0])}{bounds}"
    if _section_model(annotation) is not None:
        return "{" + ", ".join(annotation.model_fields) + "}"
    name = getattr(annotation, "__name__", str(annotation))
    return f"{name}{bounds}" if name in ("int", "float") else name


def yaml_value(value: Any) -> str:
    """A value as it would be written in a config (flow style: ``[rouge]``, ``null``, ``0.02``)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def owner_text(node: Node) -> str:
    if node.task:
        return f"task {node.task}"
    if node.methods:
        return "method " + " / ".join(node.methods)
    return ""


# -- text and JSON ------------------------------------------------------------------------------------------------


def as_records(task: str | None = None) -> list[dict[str, Any]]:
    records = []
    for node in leaves(task):
        record = {"key": node.path, "type": node.type, "default": node.default, "description": node.description}
        if node.task:
            record["task"] = node.task
        if node.methods:
            record["methods"] = list(node.methods)
        records.append(record)
    return records


def render_text(task: str | None = None, width: int = 100) -> str:
    """``key: type = default  [owner]`` then the description, indented; one block per key."""
    blocks = []
    for node in leaves(task):
        owner = owner_text(node)
        head = f"{node.path}: {node.type} = {yaml_value(node.default)}" + (f"  [{owner}]" if owner else "")
        body = textwrap.fill(node.description, width, initial_indent="    ", subsequent_indent="    ")
        blocks.append(head + ("\n" + body if node.description else ""))
    return "\n".join(blocks) + "\n"


# -- the annotated YAML block -------------------------------------------------------------------------------------

COMMENT_COLUMN = 34
WIDTH = 118


def comment_of(node: Node) -> str:
    """What a key's YAML comment says: its description, else its choices or bounds (a bare str/int/bool: nothing)."""
    if node.is_section or node.description:
        return node.description
    return node.type if "|" in node.type or "(" in node.type else ""


def yaml_lines(node: Node, depth: int, value: str | None = None, comment: str | None = None) -> list[str]:
    """``key: value  # comment``, the comment at COMMENT_COLUMN and wrapped onto comment lines below it."""
    indent = "  " * depth
    line = f"{indent}{node.name}:" if node.is_section else f"{indent}{node.name}: {value or yaml_value(node.default)}"
    text = comment if comment is not None else comment_of(node)
    if not text:
        return [line]
    column = max(COMMENT_COLUMN, len(line) + 2)
    wrapped = _wrap(text, max(WIDTH - column - 2, 40))
    out = [f"{line.ljust(column)}# {wrapped[0]}"]
    out += [f"{' ' * column}# {rest}" for rest in wrapped[1:]]
    return out


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)


def render_yaml(task: str | None = None) -> str:
    """Every key of a config with its default and description: docs/config.md's config block.

    ``task_options`` lists each task's keys under a ``# task:`` line; a key two tasks share is written
    once, with the first task that has it, and named in the later task's line.
    """
    lines: list[str] = []
    for node in schema(task):
        if node.path == TASK_OPTIONS:
            lines += _task_options_lines(node)
        else:
            lines += _section_lines(node, 0)
    return "\n".join(lines) + "\n"


def _section_lines(node: Node, depth: int) -> list[str]:
    lines = yaml_lines(node, depth)
    for child in node.children:
        lines += _section_lines(child, depth + 1)
    return lines


def _task_options_lines(node: Node) -> list[str]:
    lines = yaml_lines(node, 0)
    written: set[str] = set()
    by_task: dict[str, list[Node]] = {}
    for child in node.children:
        by_task.setdefault(child.task or "", []).append(child)
    for task, children in by_task.items():
        shared = [c.name for c in children if c.name in written]
        also = f" (also {', '.join(shared)}, as above)" if shared else ""
        if len(shared) == len(children):
            lines.append(f"  # {task}: {', '.join(shared)}, as above")
            continue
        lines += [f"  # {line}" for line in _wrap(f"{task}{also}:", WIDTH - 4)]
        for child in children:
            if child.name not in written:
                lines += _section_lines(child, 1)
                written.add(child.name)
    return lines


CONFIG_PAGE = "docs/config.md"  # the page with the generated block, relative to the repository
CONFIG_PAGE_HEADING = "## Every key"


def config_page_block(page: str) -> tuple[int, int]:
    """(start, end) offsets of the YAML block's body in docs/config.md's "Every key" section."""
    section = page.index(CONFIG_PAGE_HEADING)
    start = page.index("```yaml\n", section) + len("```yaml\n")
    return start, page.index("```", start)
