"""Schema-Guided Dialogue (SGD, compacted JSONL) as intent examples: each user turn -> each service's active intent.

One example per (user turn, service frame). The text is the user's turns so far, newest first (the
last ``CONTEXT_TURNS``): a frame's intent is the *active* intent after the turn, which a turn like "in
San Jose, please" keeps from an earlier one. The label is ``Service:Intent`` (intent names repeat across
services with other meanings), or ``NONE`` before the user has asked for anything and after they are
done; the candidates are the service's intents from the schema beside the file (``dev.jsonl`` ->
``dev_schema.json``) and NONE. ``group`` is the service, so scores are reported per service.
"""

from __future__ import annotations

import json
from pathlib import Path

from tuneforge.data.examples import Problems, ReadResult, TextExample
from tuneforge.data.sgd import read_dialogues
from tuneforge.errors import DataError

CONTEXT_TURNS = 3
NO_INTENT = "NONE"


def schema_path(path: str) -> Path:
    file = Path(path)
    return file.with_name(f"{file.stem}_schema.json")


def service_intents(path: str) -> dict[str, list[str]]:
    """``{service: [Service:Intent, ...]}`` from the schema beside the dialogue file."""
    schema = schema_path(path)
    if not schema.is_file():
        raise DataError(f"{path}: sgd-intents needs the services' schema beside it ({schema.name} not found)")
    try:
        services = json.loads(schema.read_text(encoding="utf-8"))
        return {s["service_name"]: [f"{s['service_name']}:{i['name']}" for i in s["intents"]] for s in services}
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{schema}: not an SGD schema (a JSON list of services with their intents): "
                        f"{type(exc).__name__} {exc}") from None


def read_sgd_intents(path: str, strict: bool = True) -> ReadResult:
    problems = Problems(path, strict)
    intents = service_intents(path)
    examples = read_dialogues(path, problems, lambda dialogue, where: _dialogue(dialogue, where, intents))
    if not examples and not problems.items:
        problems.add(None, "no user turns with service frames found")
    return ReadResult(examples, problems.items)


def _dialogue(dialogue: dict, where: str, intents: dict[str, list[str]]) -> list[TextExample] | str:
    turns = dialogue.get("turns")
    if not isinstance(turns, list):
        return "'turns' missing or not a list"
    said: list[str] = []
    examples = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("speaker") != "user":
            continue
        text = turn.get("text")
        if not isinstance(text, str) or not text.strip():
            return f"turns[{i}]: user 'text' missing or empty"
        said.append(" ".join(text.split()))
        context = " ".join(reversed(said[-CONTEXT_TURNS:]))
        for frame in turn.get("frames") or []:
            service, intent = frame.get("service"), frame.get("intent")
            if service not in intents:
                return f"turns[{i}]: service {service!r} is not in the schema"
            label = NO_INTENT if intent == NO_INTENT else f"{service}:{intent}"
            if label != NO_INTENT and label not in intents[service]:
                return f"turns[{i}]: intent {intent!r} is not an intent of {service} in the schema"
            examples.append(TextExample(context, label, f"{where} turn {i}", candidates=[*intents[service], NO_INTENT],
                                        group=service))
    return examples
