"""The assistant YAML (``tuneforge serve --assistant FILE``): the three runs and the memory limits.

    runs:                 # run directories (or NAME=… is not used here), relative to this file
      intent: ../../runs/cs-intent     # sequence- or embedding-classification, with out_of_scope_label
      slots: ../../runs/cs-slots       # token classification: slot spans
      reply: ../../runs/cs-reply       # generation, trained on formats.reply_prompt prompts
    memory:
      max_turns: 6                # exchanges (message + reply) kept per conversation, oldest dropped
      max_age_s: 1800             # a conversation unused this long is forgotten
      max_conversations: 1000     # beyond it the least recently used conversation is forgotten
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tuneforge.errors import ConfigError

ROLES = ("intent", "slots", "reply")  # the three runs, in the order they are loaded
MODEL_PREFIX = "assistant-"  # their names on the server: assistant-intent, assistant-slots, assistant-reply


class AssistantRuns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: str
    slots: str
    reply: str


class MemoryLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_turns: int = Field(6, ge=1, le=1000)
    max_age_s: float = Field(1800.0, gt=0)
    max_conversations: int = Field(1000, ge=1, le=1_000_000)


class AssistantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: AssistantRuns
    memory: MemoryLimits = MemoryLimits()
    path: Path = Path(".")  # the file it was read from (set by the loader)

    def run_path(self, role: str) -> Path:
        path = Path(getattr(self.runs, role))
        return path if path.is_absolute() else self.path.parent / path

    @staticmethod
    def model_name(role: str) -> str:
        return MODEL_PREFIX + role

    def run_args(self) -> list[str]:
        """``NAME=RUN`` arguments for the server's registry."""
        return [f"{self.model_name(role)}={self.run_path(role)}" for role in ROLES]


def load_assistant_config(path: str | Path) -> AssistantConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the assistant file ({exc.strerror})") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a YAML file ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'runs' (intent, slots, reply) and 'memory'")
    try:
        config = AssistantConfig.model_validate({k: v for k, v in raw.items() if k != "path"})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "file"
        raise ConfigError(f"{path}: {field}: {first['msg']}") from None
    config.path = path
    for role in ROLES:
        if not config.run_path(role).exists():
            raise ConfigError(f"{path}: runs.{role}: {config.run_path(role)} does not exist (train it first)")
    return config
