"""SGD dialogues (compacted JSONL, one dialogue per line) read for dialogue state tracking against a schema.

``labelled=True`` (train, evaluate) keeps each user frame's gold state (active intent, requested slots, slot
values) and checks it against the schema: a state naming a slot, value or intent the schema lacks can never be
predicted or scored, so it is refused here with its file, line, dialogue, turn and service. ``labelled=False``
(predict) reads only what a tracker sees at inference time: each turn's speaker and text, and the services each
user turn is about. Gold states, acts, spans and the system's frames are not read at all, so a predict file
may leave them out and stripping them changes nothing.

Turns are counted from 0, as indices into ``turns``.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.data.text_file import iter_lines
from tuneforge.errors import DataError
from tuneforge.tasks.dialogue_state.schema import DONTCARE, Service

NO_INTENT = "NONE"  # a user frame's intent before the user has asked for anything
SPEAKERS = ("user", "system")


@dataclass
class Span:
    """Where a slot value is in a turn's text: ``text[start:end]``."""

    slot: str
    start: int
    end: int


@dataclass
class Act:
    """One dialogue act (``OFFER restaurant_name ["Sino"]``); ``slot`` may be empty, ``intent`` or ``count``."""

    act: str
    slot: str
    values: list[str]


@dataclass
class ServiceCall:
    """The query the system sent to a service: an intent and its slot values."""

    method: str
    parameters: dict[str, str]


@dataclass
class State:
    """A service's gold dialogue state after a user turn; each slot maps to its accepted spellings."""

    intent: str
    requested_slots: list[str]
    slot_values: dict[str, list[str]]


@dataclass
class Frame:
    """What a turn says about one service.

    User frames carry ``state`` (and spans and acts) only when read labelled; system frames always carry their
    spans, acts and, where the system queried the service, ``service_call`` and ``service_results``.
    """

    service: str
    spans: list[Span] = field(default_factory=list)
    acts: list[Act] = field(default_factory=list)
    state: State | None = None
    service_call: ServiceCall | None = None
    service_results: list[dict[str, str]] | None = None


@dataclass
class Turn:
    """One utterance and its frames, one frame per service it concerns."""

    speaker: str
    text: str
    frames: list[Frame]

    @property
    def services(self) -> list[str]:
        """The services this turn concerns: for a user turn, the states a tracker must predict."""
        return [frame.service for frame in self.frames]

    def frame(self, service: str) -> Frame | None:
        """This turn's frame for ``service``, if it has one."""
        return next((frame for frame in self.frames if frame.service == service), None)

    @property
    def states(self) -> dict[str, State]:
        """Gold state per service (labelled user turns; empty otherwise)."""
        return {frame.service: frame.state for frame in self.frames if frame.state is not None}


@dataclass
class Dialogue:
    """One dialogue; ``source`` is ``file:line`` for messages about it."""

    id: str
    services: list[str]
    turns: list[Turn]
    source: str = ""


class _Bad(Exception):
    """What is wrong with one dialogue (becomes ``file:line: message``)."""


def read_dialogues(path: str | Path, schemas: dict[str, Service], labelled: bool = True,
                   errors: list[str] | None = None) -> list[Dialogue]:
    """Every dialogue of a JSONL file, in file order (see ``iter_dialogues``)."""
    enabled = gc.isenabled()
    gc.disable()  # millions of small objects and no cycles: the collector would only slow reading down
    try:
        return list(iter_dialogues(path, schemas, labelled, errors))
    finally:
        if enabled:
            gc.enable()


def iter_dialogues(path: str | Path, schemas: dict[str, Service], labelled: bool = True,
                   errors: list[str] | None = None) -> Iterator[Dialogue]:
    """The dialogues of a JSONL file one at a time, so memory stays flat however large the file.

    Each problem is a one-line ``file:line: dialogue ID, turn N, service S: problem``. Without ``errors`` the
    first one raises a DataError; with it, every problem is appended there and its dialogue skipped (a data
    check that lists them all).
    """
    name = str(path)
    seen: set[str] = set()
    for number, line in iter_lines(name):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            _report(errors, f"{name}:{number}: invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        try:
            if not isinstance(record, dict):
                raise _Bad("expected a JSON object (one dialogue per line)")
            dialogue = _dialogue(record, schemas, labelled, f"{name}:{number}")
            if dialogue.id in seen:
                raise _Bad(f"dialogue {dialogue.id}: duplicate dialogue id")
            seen.add(dialogue.id)
        except _Bad as exc:
            _report(errors, f"{name}:{number}: {exc}")
            continue
        yield dialogue


def _report(errors: list[str] | None, message: str) -> None:
    if errors is None:
        raise DataError(message)
    errors.append(message)


def _dialogue(record: dict, schemas: dict[str, Service], labelled: bool, source: str) -> Dialogue:
    dialogue_id = record.get("id")
    if not isinstance(dialogue_id, str) or not dialogue_id.strip():
        raise _Bad("dialogue 'id' missing, empty or not a string")
    where = f"dialogue {dialogue_id}"
    turns = record.get("turns")
    if not isinstance(turns, list):
        raise _Bad(f"{where}: 'turns' missing or not a list")
    listed = record.get("services")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
            raise _Bad(f"{where}: 'services' is not a list of service names")
        for service in listed:
            if service not in schemas:
                raise _Bad(f"{where}: service {service}: not in the schema")
    parsed = [_turn(turn, schemas, labelled, f"{where}, turn {i}") for i, turn in enumerate(turns)]
    services = list(listed) if listed is not None else list(dict.fromkeys(s for t in parsed for s in t.services))
    if listed is not None:
        for i, turn in enumerate(parsed):
            for service in turn.services:
                if service not in listed:
                    raise _Bad(f"{where}, turn {i}, service {service}: not listed in the dialogue's 'services'")
    return Dialogue(dialogue_id, services, parsed, source)


def _turn(turn: Any, schemas: dict[str, Service], labelled: bool, where: str) -> Turn:
    if not isinstance(turn, dict):
        raise _Bad(f"{where}: expected an object with 'speaker', 'text' and 'frames'")
    speaker, text, frames = turn.get("speaker"), turn.get("text"), turn.get("frames", [])
    if speaker not in SPEAKERS:
        raise _Bad(f"{where}: 'speaker' must be 'user' or 'system', not {speaker!r}")
    if not isinstance(text, str) or not text.strip():
        raise _Bad(f"{where} ({speaker}): 'text' missing, empty or not a string")
    if not isinstance(frames, list):
        raise _Bad(f"{where} ({speaker}): 'frames' is not a list")
    parsed: list[Frame] = []
    if speaker == "system" and not labelled:
        return Turn(speaker, text, parsed)  # a tracker reads the system's words, not its annotations
    for f, frame in enumerate(frames):
        if not isinstance(frame, dict):
            raise _Bad(f"{where}: frames[{f}] is not an object")
        service_name = frame.get("service")
        if not isinstance(service_name, str) or not service_name:
            raise _Bad(f"{where}: frames[{f}]: 'service' missing or not a string")
        here = f"{where}, service {service_name}"
        service = schemas.get(service_name)
        if service is None:
            raise _Bad(f"{here}: not in the schema")
        if any(p.service == service_name for p in parsed):
            raise _Bad(f"{here}: two frames for one service in one turn")
        if speaker == "system":
            parsed.append(_system_frame(frame, service, text, here))
        elif labelled:
            parsed.append(_user_frame(frame, service, text, here))
        else:
            parsed.append(Frame(service_name))
    return Turn(speaker, text, parsed)


def _user_frame(frame: dict, service: Service, text: str, where: str) -> Frame:
    """A labelled user frame: its gold state, checked against the service's schema."""
    intent = frame.get("intent")
    if not isinstance(intent, str):
        raise _Bad(f"{where}: 'intent' missing or not a string")
    if intent != NO_INTENT and intent not in service.intent_names:
        raise _Bad(f"{where}: intent '{intent}' is not an intent of the service")
    requested = frame.get("requested_slots")
    if not isinstance(requested, list) or not all(isinstance(s, str) for s in requested):
        raise _Bad(f"{where}: 'requested_slots' missing or not a list of slot names")
    slots = service.slot_by_name
    for slot_name in requested:
        if slot_name not in slots:
            raise _Bad(f"{where}: requested slot '{slot_name}' is not a slot of the service")
    values = frame.get("slot_values")
    if not isinstance(values, dict):
        raise _Bad(f"{where}: 'slot_values' missing or not an object")
    for slot_name, accepted in values.items():
        slot = slots.get(slot_name)
        if slot is None:
            raise _Bad(f"{where}: slot_values names slot '{slot_name}', which the service lacks")
        if not isinstance(accepted, list) or not accepted or not all(isinstance(v, str) for v in accepted):
            raise _Bad(f"{where}: slot_values['{slot_name}'] must be a non-empty list of strings")
        if slot.is_categorical:
            for value in accepted:
                if value != DONTCARE and value not in slot.possible_values:
                    raise _Bad(f"{where}: value '{value}' of categorical slot '{slot_name}' is not one of its "
                               f"possible_values ({', '.join(slot.possible_values)})")
    state = State(intent, list(requested), {k: list(v) for k, v in values.items()})
    return Frame(service.name, _spans(frame, service, text, where), _acts(frame, where), state=state)


def _system_frame(frame: dict, service: Service, text: str, where: str) -> Frame:
    """A system frame in full: what the system said, asked the service and got back."""
    call = None
    raw_call = frame.get("service_call")
    if raw_call is not None:
        method, parameters = (raw_call.get("method"), raw_call.get("parameters")) if isinstance(
            raw_call, dict) else (None, None)
        if not isinstance(method, str) or not _str_map(parameters):
            raise _Bad(f"{where}: 'service_call' must be {{\"method\": intent, \"parameters\": {{slot: value}}}}")
        if method not in service.intent_names:
            raise _Bad(f"{where}: service_call method '{method}' is not an intent of the service")
        for slot_name in parameters:
            if slot_name not in service.slot_by_name:
                raise _Bad(f"{where}: service_call parameter '{slot_name}' is not a slot of the service")
        call = ServiceCall(method, dict(parameters))
    results = frame.get("service_results")
    if results is not None:
        if not isinstance(results, list) or not all(_str_map(row) for row in results):
            raise _Bad(f"{where}: 'service_results' must be a list of {{slot: value}} objects")
        for row in results:
            for slot_name in row:
                if slot_name not in service.slot_by_name:
                    raise _Bad(f"{where}: service_results name '{slot_name}', which is not a slot of the service")
        results = [dict(row) for row in results]
    return Frame(service.name, _spans(frame, service, text, where), _acts(frame, where),
                 service_call=call, service_results=results)


def _spans(frame: dict, service: Service, text: str, where: str) -> list[Span]:
    raw = frame.get("slots", [])
    if not isinstance(raw, list):
        raise _Bad(f"{where}: 'slots' is not a list")
    spans = []
    for i, item in enumerate(raw):
        slot, start, end = (item.get(k) for k in ("slot", "start", "end")) if isinstance(item, dict) else [None] * 3
        offsets = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end))
        if not isinstance(slot, str) or not offsets or not 0 <= start < end <= len(text):
            raise _Bad(f"{where}: slots[{i}] must be {{\"slot\", \"start\", \"end\"}} with start < end "
                       f"within the text ({len(text)} characters)")
        if slot not in service.slot_by_name:
            raise _Bad(f"{where}: slots[{i}] names slot '{slot}', which the service lacks")
        spans.append(Span(slot, start, end))
    return spans


def _acts(frame: dict, where: str) -> list[Act]:
    raw = frame.get("acts", [])
    if not isinstance(raw, list):
        raise _Bad(f"{where}: 'acts' is not a list")
    acts = []
    for i, item in enumerate(raw):
        act, slot, values = (item.get(k) for k in ("act", "slot", "values")) if isinstance(item, dict) else [None] * 3
        if values is None and isinstance(item, dict):
            values = []
        if (not isinstance(act, str) or not isinstance(slot, str) or not isinstance(values, list)
                or not all(isinstance(v, str) for v in values)):
            raise _Bad(f"{where}: acts[{i}] must be {{\"act\": str, \"slot\": str, \"values\": [str]}}")
        acts.append(Act(act, slot, list(values)))
    return acts


def _str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def parse_dialogue(record: Any, schemas: dict[str, Service], where: str) -> Dialogue:
    """One dialogue record read as predict reads it (``labelled=False``); ``where`` names it in the error."""
    try:
        if not isinstance(record, dict):
            raise _Bad("expected a JSON object (one dialogue per line)")
        return _dialogue(record, schemas, False, where)
    except _Bad as exc:
        raise DataError(f"{where}: {exc}") from None


def input_records(path: str) -> list[dict[str, Any]]:
    """predict --input: each line's dialogue record as predict reads it (speaker, text and the services of each
    user frame; nothing else is kept), with ``_where`` = ``file:line`` for messages about it."""
    records = []
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(record, dict) or not isinstance(record.get("turns"), list):
            raise DataError(f"{where}: expected a dialogue object with 'id' and 'turns'")
        turns = []
        for n, turn in enumerate(record["turns"]):
            if not isinstance(turn, dict):
                raise DataError(f"{where}: turn {n}: expected an object with 'speaker' and 'text'")
            frames = turn.get("frames") if turn.get("speaker") == "user" else []
            if not isinstance(frames, list):
                raise DataError(f"{where}: turn {n}: 'frames' is not a list")
            turns.append({"speaker": turn.get("speaker"), "text": turn.get("text"),
                          "frames": [{"service": f.get("service")} if isinstance(f, dict) else f for f in frames]})
        records.append({"id": record.get("id"), **({"services": record["services"]} if "services" in record
                                                    else {}), "turns": turns, "_where": where})
    if not records:
        raise DataError(f"{path}: no dialogues")
    return records
