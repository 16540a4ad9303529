"""The assistant YAML (``tuneforge serve --assistant FILE``): the three runs and the memory limits.

    runs:                 # run directories (or NAME=… is not used here), relative to this file
      intent: ../../runs/cs-intent     # sequence- or embedding-classification, with out_of_scope_label
      slots: ../../runs/cs-slots       # token classification: slot spans
      reply: ../../runs/cs-reply       # generation, trained on formats.reply_prompt prompts
      state: ../../runs/cs-state       # optional: dialogue-state tracking; the reply prompt then shows the state
      retriever: ../../runs/docs-retriever  # with documents: a retrieval run, or a retrieval config with
                                            # task_options.fine_tune: false (the bundled MiniLM as it is)
      reader: ../../runs/qa-xquad      # with documents: a question-answering run (extractive reader)
    schema_files: [schema.json]   # optional: services the state run did not train on (it reads their schemas)
    services: [Restaurants_2]     # optional: the services a conversation is tracked for (default: those of
                                  # schema_files, else all the state run knows)
    backend:                      # optional (needs runs.state): where the rows of a service call come from,
      kind: json                  # once the state has an intent with all its required slots; the reply prompt
      path: rows.json             # then shows them (assistant/backends.py: json, python or http)
    documents:                    # optional: questions outside the intents answered from these documents
      folder: ../docs             # .txt, .md and .html files (HTML stripped to its text), recursively
      cache: ../.docs-index       # the passage index, rebuilt only when a document, the split or the retriever changes
      passage_chars: 800          # a passage: whole paragraphs up to this many characters
      overlap_chars: 200          # a longer paragraph is cut into windows that overlap this much
      top_k: 1                    # passages the reader reads per question (1: best on XQuAD dev, docs/benchmarks.md)
      min_score: 0.2              # the reader's span probability under which the answer is "I don't know"
      intents: []                 # intent labels also answered from documents (besides out-of-scope), e.g. [NONE]
    memory:
      max_turns: 6                # exchanges (message + reply) kept per conversation, oldest dropped
      max_age_s: 1800             # a conversation unused this long is forgotten
      max_conversations: 1000     # beyond it the least recently used conversation is forgotten
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tuneforge.assistant.backends import BackendConfig
from tuneforge.errors import ConfigError

ROLES = ("intent", "slots", "reply")  # the runs every assistant has, in the order they are loaded
STATE_ROLE = "state"  # the optional dialogue-state run
DOCUMENT_ROLES = ("retriever", "reader")  # the runs of document answers (with ``documents:``)
MODEL_PREFIX = "assistant-"  # their names on the server: assistant-intent, assistant-slots, assistant-reply


class AssistantRuns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: str
    slots: str
    reply: str
    state: str | None = None
    retriever: str | None = None
    reader: str | None = None


class DocumentOptions(BaseModel):
    """Questions outside the schema's intents answered from a folder of documents (assistant/answers.py)."""

    model_config = ConfigDict(extra="forbid")

    folder: str
    cache: str | None = None  # default: .tuneforge-documents beside the assistant file
    passage_chars: int = Field(800, ge=100, le=20_000)
    overlap_chars: int = Field(200, ge=0, le=5_000)
    # the reader's span probability is normalised within each passage, so across passages it misleads: on
    # XQuAD dev, reading the top 3 scored F1 0.154 against the top 1's 0.272 (docs/benchmarks.md)
    top_k: int = Field(1, ge=1, le=50)
    min_score: float = Field(0.2, ge=0, le=1)
    intents: list[str] = Field(default_factory=list)


class MemoryLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_turns: int = Field(6, ge=1, le=1000)
    max_age_s: float = Field(1800.0, gt=0)
    max_conversations: int = Field(1000, ge=1, le=1_000_000)


class AssistantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: AssistantRuns
    memory: MemoryLimits = MemoryLimits()
    documents: DocumentOptions | None = None
    schema_files: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    backend: BackendConfig | None = None
    path: Path = Path(".")  # the file it was read from (set by the loader)

    def roles(self) -> tuple[str, ...]:
        return (*ROLES, *((STATE_ROLE,) if self.runs.state else ()), *(DOCUMENT_ROLES if self.documents else ()))

    def _relative(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.path.parent / path

    def run_path(self, role: str) -> Path:
        return self._relative(getattr(self.runs, role))

    def tracked_services(self) -> list[str]:
        """The services a conversation's state is tracked for: ``services``, else those of ``schema_files``."""
        if self.services:
            return list(self.services)
        names = []
        for path in self.schema_paths():
            try:
                names += [s["service_name"] for s in json.loads(path.read_text(encoding="utf-8"))]
            except (OSError, ValueError, TypeError, KeyError):
                raise ConfigError(f"{self.path}: schema_files: {path} is not an SGD schema file") from None
        if not names:
            raise ConfigError(f"{self.path}: name the services a conversation is tracked for (services: [...]) or "
                              "give schema_files")
        return names

    def documents_folder(self) -> Path:
        return self._relative(self.documents.folder)

    def documents_cache(self) -> Path:
        """The document index's folder (the retriever's ``task_options.index``)."""
        return self._relative(self.documents.cache or ".tuneforge-documents")

    def schema_paths(self) -> list[Path]:
        return [self._relative(f) for f in self.schema_files]

    def run_overrides(self) -> dict[str, list[str]]:
        """What the runs are loaded with: the state run, the schema files of services it never trained on; the
        retriever, the document index and how many passages it returns."""
        overrides = {}
        if self.runs.state and self.schema_files:
            paths = json.dumps([str(p.resolve()) for p in self.schema_paths()])
            overrides[self.model_name(STATE_ROLE)] = [f"task_options.schema_files={paths}"]
        if self.documents:
            overrides[self.model_name("retriever")] = [
                f"task_options.index={json.dumps(str(self.documents_cache().resolve()))}",
                f"task_options.top_k={self.documents.top_k}", "task_options.search=dense"]
        return overrides

    @staticmethod
    def model_name(role: str) -> str:
        return MODEL_PREFIX + role

    def run_args(self) -> list[str]:
        """``NAME=RUN`` arguments for the server's registry."""
        return [f"{self.model_name(role)}={self.run_path(role)}" for role in self.roles()]


def load_assistant_config(path: str | Path, schema_files: list[str] | tuple[str, ...] = ()) -> AssistantConfig:
    """The assistant file; ``schema_files`` (``serve --schema``) add services for the state run to read."""
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
    config.schema_files += [str(Path(f).resolve()) for f in schema_files]
    missing = [role for role in DOCUMENT_ROLES if getattr(config.runs, role) is None]
    if config.documents and missing:
        raise ConfigError(f"{path}: documents are answered by a retriever and a reader: add runs.{missing[0]}")
    if not config.documents and (config.runs.retriever or config.runs.reader):
        raise ConfigError(f"{path}: runs.retriever and runs.reader answer from documents: add documents.folder")
    for role in config.roles():
        if not config.run_path(role).exists():
            raise ConfigError(f"{path}: runs.{role}: {config.run_path(role)} does not exist (train it first)")
    if (config.schema_files or config.services or config.backend) and not config.runs.state:
        raise ConfigError(f"{path}: schema_files, services and backend need the tracked state: add runs.state")
    for schema in config.schema_paths():
        if not schema.is_file():
            raise ConfigError(f"{path}: schema_files: {schema} does not exist")
    if config.documents:
        from tuneforge.assistant.documents import read_documents

        read_documents(config.documents_folder(), f"{path}: documents.folder")  # a bad folder fails before models
    return config
