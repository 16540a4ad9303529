"""Reading a run config: YAML (duplicate keys and alias bombs refused), ``--set`` overrides, paths taken from
the config's folder, and validation errors as one line with the key's path and a suggestion."""

from __future__ import annotations

import difflib
import reprlib
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from tuneforge.config.schema import RunConfig
from tuneforge.errors import ConfigError
from tuneforge.tasks import TASKS

PATH_KEYS = ("data.train", "data.dev", "data.test", "data.translation_target", "task_options.labels_file",
             "task_options.schema_files", "output_dir", "privacy.ner_run")


def _submodel(cls: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model found at ``loc`` below ``cls`` (None if loc leaves the schema)."""
    for part in loc:
        field = cls.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *get_args(ann)] if get_origin(ann) else [ann]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return None
        cls = nxt
    return cls


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxstring, _SHORT_REPR.maxother = 2, 4, 80, 80


def _format_error(err: dict[str, Any], source: str) -> str:
    loc = tuple(err["loc"])
    options_model = None
    if len(loc) > 1 and loc[0] == "task_options" and loc[1] in TASKS:  # the union's tag is no key of the file
        options_model, loc = TASKS[str(loc[1])].options, (loc[0], *loc[2:])
    path = ".".join(str(p) for p in loc)
    if err["type"] == "extra_forbidden":
        if options_model is not None and len(loc) == 2:
            parent: type[BaseModel] | None = options_model
            owners = [name for name, spec in TASKS.items() if loc[1] in spec.options.model_fields and name != "task"]
            if owners and loc[1] != "task":
                task = options_model.model_fields["task"].default
                return f"{source}: '{path}' is an option of {' and '.join(owners)}, not of task {task}"
        else:
            parent = _submodel(RunConfig, loc[:-1])
        if loc == ("search",):  # a tune config given to train
            return (f"{source}: 'search' is read by `tuneforge tune {source} --trials N`; to train this config once "
                    "with its own values, remove the search: block (a finished search writes best.yaml, ready to "
                    "train)")
        valid = sorted(k for k in parent.model_fields if k != "task") if parent else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f" (did you mean '{'.'.join([*map(str, loc[:-1]), close[0]])}'?)" if close else ""
        where = ".".join(map(str, loc[:-1])) or "the top level"
        return f"{source}: unknown key '{path}'{hint}; valid keys in {where}: {', '.join(valid)}"
    if err["type"] == "missing":
        return f"{source}: missing required key '{path}'"
    if not loc or isinstance(err.get("input"), dict) and err["type"] == "value_error":
        message = err["msg"].removeprefix("Value error, ")
        where = f"'{path}': " if path and not message.startswith(path) else ""
        return f"{source}: {where}{message}"
    value = err.get("input")
    # bounded: a huge value (a long list, a deep structure) must not make the message huge or slow
    shown = _SHORT_REPR.repr(value) if not isinstance(value, dict) else "a mapping"
    return f"{source}: bad value for '{path}': {err['msg'].removeprefix('Value error, ')} (got {shown})"


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: cannot set '{dotted}': '{key}' is not a section")
        node = child
    node[keys[-1]] = value


def parse_overrides(overrides: list[str] | None) -> list[tuple[str, Any]]:
    """``["training.lr=3e-5"]`` → ``[("training.lr", 3e-5)]``; values are parsed as YAML."""
    parsed = []
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. training.lr=3e-5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        parsed.append((key.strip(), value))
    return parsed


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for dotted in PATH_KEYS:
        *parents, last = dotted.split(".")
        node: Any = data
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(last), str):
            node[last] = resolve_path(node[last], base)
        elif isinstance(node, dict) and isinstance(node.get(last), list):  # a list of files (schema_files)
            node[last] = [resolve_path(v, base) if isinstance(v, str) else v for v in node[last]]


def resolve_path(value: str, base: Path) -> str:
    """Relative paths are taken from ``base``; ``pkg:NAME/sub/path`` points into an installed package."""
    if value.startswith("pkg:"):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names one key twice: YAML would silently keep the last (two ``training:`` blocks)."""


class ExpansionError(yaml.YAMLError):
    """Aliases that expand to an enormous document ("billion laughs"): refused before anything is built."""


MAX_EXPANDED_VALUES = 1_000_000  # far above any real config (a big label list is thousands)


def expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values the document holds once every alias is expanded, counted without expanding (each node once)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(expanded_size(k, memo) + expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (naming both lines) and aliases that
    expand past ``MAX_EXPANDED_VALUES`` values."""

    def construct_document(self, node):
        if expanded_size(node, {}) > MAX_EXPANDED_VALUES:
            raise ExpansionError(f"{node.start_mark.line + 1}: YAML aliases expand this document past "
                                 f"{MAX_EXPANDED_VALUES:,} values; refusing it (a 'billion laughs' file?)")
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise DuplicateKeyError(f"{line}: duplicate key '{key}' (first given at line {seen[key]}); "
                                        "YAML would silently keep only the last")
            seen[key] = line
        return super().construct_mapping(node, deep)


def validate(data: dict[str, Any], source: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc.errors()[0], source)) from None


def read_yaml_file(path: Path) -> Any:
    """The parsed YAML of a config file (None when empty): duplicate keys and alias bombs refused, every
    problem one ConfigError line naming the file (and line)."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except (DuplicateKeyError, ExpansionError) as exc:
        raise ConfigError(f"{path}:{exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def load_config(
    config: str | Path | dict[str, Any] | RunConfig, overrides: list[str] | None = None
) -> RunConfig:
    """Read and validate a config from a YAML file, a dict or a RunConfig, applying ``--set`` overrides.

    Paths inside a YAML file are relative to that file's folder; paths given as overrides or in a dict
    are relative to the current directory.
    """
    if isinstance(config, RunConfig):
        data, source = config.model_dump(), "config"
    elif isinstance(config, dict):
        data, source = dict(config), "config"
        _resolve_paths(data, Path.cwd())
    else:
        path = Path(config)
        source = str(path)
        data = read_yaml_file(path) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of keys at the top level")
        _resolve_paths(data, path.parent.resolve())
    for key, value in parse_overrides(overrides):
        if key in PATH_KEYS and isinstance(value, str):
            value = resolve_path(value, Path.cwd())
        _set_dotted(data, key, value, f"--set {key}")
    return validate(data, source)


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
