"""What one server process is configured with: the command line's options, in one object tests can build."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServeSettings:
    runs: list[str] = field(default_factory=list)  # RUN or NAME=RUN, loaded at start
    root: Path | None = None  # POST /v1/models loads only run directories under it; None: run-time loading off
    api_key: str | None = None  # None: no authentication
    max_batch_size: int = 32  # items merged into one Run.predict call; 1 turns micro-batching off
    max_wait_ms: float = 5.0  # how long a batch waits for more requests once its first one arrived
    queue_size: int = 256  # requests waiting per model; beyond it: 503 with Retry-After
    max_chars: int = 20_000  # characters of one input (all its strings together)
    max_request_chars: int = 200_000  # characters of all the inputs of one request
    max_items: int = 64  # inputs per request
    max_body_bytes: int = 1_000_000  # request body; beyond it: 413, checked while reading
    timeout_s: float = 30.0  # a request still unanswered after this: 504
    cors_origins: list[str] = field(default_factory=list)  # empty: no CORS headers at all
    retry_after_s: int = 1  # the Retry-After of a 503: one batch's time is the usual wait
    overrides: list[str] = field(default_factory=list)  # --set inference.KEY=VALUE for every run loaded
    allowed_hosts: list[str] | None = None  # Host header names answered (["*"]: any); None: no check (tests)
    assistant: Path | None = None  # --assistant FILE: POST /v1/assist and the chat page, with the runs it names
    schema_files: list[Path] = field(default_factory=list)  # --schema FILE: services the assistant's state run reads
    log_texts: bool = False  # log each request's input texts, personal data redacted; off: texts never reach a log
    log_ner_run: str | None = None  # with log_texts: a NER run whose names, places and organisations are redacted too
