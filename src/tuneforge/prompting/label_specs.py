"""Labels described for matching: a name, an optional one-line description and example phrases.

They come from ``task_options.labels`` (a list in the config) and/or ``task_options.labels_file``: a
YAML or JSON file holding either such a list, a mapping ``name: description`` (or ``name: {description,
examples}``), or a Schema-Guided Dialogue schema (a list of services with their intents), whose labels
are named ``Service:Intent``. A label given in both places takes the config's entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from tuneforge.errors import ConfigError
from tuneforge.util.strict import Strict


class LabelSpec(Strict):
    name: str = Field(min_length=1, description="The label as predictions name it.")
    description: str | None = Field(None, description="One line saying what the label means.")
    examples: list[str] = Field(default_factory=list, description="Example phrases of the label.")

    @field_validator("name")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a label needs a name")
        return v

    @field_validator("description")
    @classmethod
    def _description_not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("an empty description; give one line, or leave the key out to use the name")
        return v

    def texts(self, use: str) -> list[str]:
        """What stands for the label when embedded: its description (or readable name), then its examples."""
        head = self.description if use == "description" and self.description else readable(self.name)
        return [head, *self.examples]


def readable(name: str) -> str:
    """``card_arrival`` -> ``card arrival``; ``Banks_2:TransferMoney`` -> ``transfer money``."""
    name = name.rsplit(":", 1)[-1]
    spaced = "".join(" " + c.lower() if c.isupper() and i and name[i - 1].islower() else c for i, c in enumerate(name))
    return " ".join(spaced.replace("_", " ").replace("-", " ").split()).lower()


def read_label_file(path: str) -> list[LabelSpec]:
    """Label specs from a YAML/JSON file; every problem is one line naming the file and the entry."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"task_options.labels_file {path}: file not found")
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if file.suffix.lower() == '.json' else 'YAML'}: "
                          f"{str(exc).splitlines()[0]}") from None
    entries = _entries(data, path)
    specs = []
    for where, entry in entries:
        try:
            specs.append(LabelSpec.model_validate(entry))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{path}: {where}{f' {key}' if key else ''}: "
                              f"{err['msg'].removeprefix('Value error, ')}") from None
    names = [s.name for s in specs]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise ConfigError(f"{path}: label '{twice}' is described twice")
    return specs


def _entries(data: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(data, list) and data and all(isinstance(s, dict) and "service_name" in s for s in data):
        return [(f"service {s['service_name']} intent {i + 1}",
                 {"name": f"{s['service_name']}:{intent.get('name')}", "description": intent.get("description")})
                for s in data for i, intent in enumerate(s.get("intents", []))]
    if isinstance(data, list):
        return [(f"entry {i + 1}", e if not isinstance(e, str) else {"name": e}) for i, e in enumerate(data)]
    if isinstance(data, dict):
        return [(f"label '{name}'", {"name": str(name), **(value if isinstance(value, dict)
                                                          else {"description": value})})
                for name, value in data.items()]
    raise ConfigError(f"{path}: expected a list of labels, a mapping of label names to descriptions, or an SGD schema")


def merged_labels(configured: list[LabelSpec], path: str | None) -> list[LabelSpec]:
    """The file's labels, then the config's (a config entry replaces the file's entry of that name)."""
    specs = {s.name: s for s in (read_label_file(path) if path else [])}
    for spec in configured:
        specs[spec.name] = spec
    return list(specs.values())
