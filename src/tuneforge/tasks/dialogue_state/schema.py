"""SGD service schemas (``schema.json``): the intents and slots a dialogue state tracker predicts.

A schema file is a JSON list of services, each with its intents and slots and a one-sentence description of
every element; the descriptions are what lets a schema-guided tracker handle services it never saw in
training. Reading checks what a tracker and the metrics rely on (unique names, intents naming real slots,
categorical slots listing their values), so a bad schema fails here, naming the file and element, rather than
as a KeyError deep inside training or scoring.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tuneforge.errors import DataError

DONTCARE = "dontcare"  # the value of a slot the user does not mind; always allowed, never in possible_values


@dataclass(frozen=True)
class Slot:
    """One slot of a service; a categorical slot takes one of ``possible_values``."""

    name: str
    description: str
    is_categorical: bool
    possible_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intent:
    """One intent of a service; ``optional_slots`` maps each optional slot to its default value."""

    name: str
    description: str
    is_transactional: bool
    required_slots: tuple[str, ...] = ()
    optional_slots: Mapping[str, str] = field(default_factory=dict, hash=False)
    result_slots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    """One service (``Restaurants_1``): its slots and intents in schema order (the order the metrics walk)."""

    name: str
    description: str
    slots: tuple[Slot, ...]
    intents: tuple[Intent, ...]

    @cached_property
    def slot_by_name(self) -> dict[str, Slot]:
        """Slots by name: the lookup every frame check and score makes."""
        return {slot.name: slot for slot in self.slots}

    @cached_property
    def intent_names(self) -> frozenset[str]:
        """The names of the service's intents (without ``NONE``)."""
        return frozenset(intent.name for intent in self.intents)

    @property
    def domain(self) -> str:
        """``Restaurants`` for ``Restaurants_1``: services of one domain share intents and slots by meaning."""
        return self.name.split("_")[0]


def read_schema(path: str | Path) -> dict[str, Service]:
    """The services of one schema file by name, in file order; a DataError names the file and element."""
    name = str(path)
    real = Path(path)
    if not real.is_file():
        raise DataError(f"{name}: file not found")
    raw = real.read_bytes()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{name}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                        "re-save the file as UTF-8") from None
    if not text.strip():
        raise DataError(f"{name}: file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(document, list):
        raise DataError(f"{name}: expected a JSON list of services, found {_kind(document)}")
    services: dict[str, Service] = {}
    for index, item in enumerate(document):
        service = _service(item, f"{name}: service {index}")
        if service.name in services:
            raise DataError(f"{name}: service {index}: duplicate service name '{service.name}'")
        services[service.name] = service
    return services


def read_schemas(*paths: str | Path) -> dict[str, Service]:
    """The services of several schema files (train + dev); a service in two files must be the same in both."""
    if not paths:
        raise DataError("no schema file given")
    merged: dict[str, Service] = {}
    origin: dict[str, str] = {}
    for path in paths:
        for service_name, service in read_schema(path).items():
            if service_name in merged and merged[service_name] != service:
                raise DataError(f"{path}: service '{service_name}' differs from its definition in "
                                f"{origin[service_name]}")
            merged.setdefault(service_name, service)
            origin.setdefault(service_name, str(path))
    return merged


def _service(item: Any, where: str) -> Service:
    """One service object, checked; ``where`` is ``file: service N`` and gains the name once it is known."""
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected an object, found {_kind(item)}")
    name = item.get("service_name")
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{where}: 'service_name' missing or empty")
    where = f"{where} ('{name}')"
    slots = tuple(_slot(s, where, i) for i, s in enumerate(_list(item, "slots", where)))
    slot_by_name: dict[str, Slot] = {}
    for slot in slots:
        if slot.name in slot_by_name:
            raise DataError(f"{where}: duplicate slot '{slot.name}'")
        slot_by_name[slot.name] = slot
    intents = tuple(_intent(x, where, i) for i, x in enumerate(_list(item, "intents", where)))
    seen: set[str] = set()
    for intent in intents:
        if intent.name in seen:
            raise DataError(f"{where}: duplicate intent '{intent.name}'")
        seen.add(intent.name)
        for kind in ("required_slots", "optional_slots", "result_slots"):
            for slot_name in getattr(intent, kind):
                if slot_name not in slot_by_name:
                    raise DataError(f"{where}: intent '{intent.name}' {kind} names slot '{slot_name}', "
                                    "which the service does not define")
    return Service(name, _str(item, "description", where), slots, intents)


def _slot(item: Any, service_where: str, index: int) -> Slot:
    where = f"{service_where}, slots[{index}]"
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected an object, found {_kind(item)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{where}: slot 'name' missing or empty")
    where = f"{service_where}, slot '{name}'"
    categorical = item.get("is_categorical")
    if not isinstance(categorical, bool):
        raise DataError(f"{where}: 'is_categorical' missing or not true/false")
    values = item.get("possible_values", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DataError(f"{where}: 'possible_values' is not a list of strings")
    if categorical and not values:
        raise DataError(f"{where}: categorical slot without possible_values")
    if len(set(values)) != len(values):
        raise DataError(f"{where}: possible_values repeats a value")
    return Slot(name, _str(item, "description", where), categorical, tuple(values))


def _intent(item: Any, service_where: str, index: int) -> Intent:
    where = f"{service_where}, intents[{index}]"
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected an object, found {_kind(item)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{where}: intent 'name' missing or empty")
    if name == "NONE":
        raise DataError(f"{where}: 'NONE' is reserved for 'no active intent' and cannot name an intent")
    where = f"{service_where}, intent '{name}'"
    transactional = item.get("is_transactional", False)
    if not isinstance(transactional, bool):
        raise DataError(f"{where}: 'is_transactional' is not true/false")
    required = item.get("required_slots", [])
    results = item.get("result_slots", [])
    for key, value in (("required_slots", required), ("result_slots", results)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DataError(f"{where}: '{key}' is not a list of slot names")
    optional = item.get("optional_slots", {})
    if not isinstance(optional, dict) or not all(isinstance(v, str) for v in optional.values()):
        raise DataError(f"{where}: 'optional_slots' is not an object of slot name -> default value")
    return Intent(name, _str(item, "description", where), transactional, tuple(required), dict(optional),
                  tuple(results))


def _list(item: dict, key: str, where: str) -> list:
    value = item.get(key)
    if not isinstance(value, list):
        raise DataError(f"{where}: '{key}' missing or not a list")
    return value


def _str(item: dict, key: str, where: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise DataError(f"{where}: '{key}' is not a string")
    return value


def _kind(value: Any) -> str:
    """How a JSON value is named in messages."""
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def schema_records(services: Iterable[Service]) -> list[dict[str, Any]]:
    """Services back in the SGD schema format (``read_schema`` reads them as they were): what a run saves."""
    return [{"service_name": s.name, "description": s.description,
             "slots": [{"name": slot.name, "description": slot.description, "is_categorical": slot.is_categorical,
                        "possible_values": list(slot.possible_values)} for slot in s.slots],
             "intents": [{"name": i.name, "description": i.description, "is_transactional": i.is_transactional,
                          "required_slots": list(i.required_slots), "optional_slots": dict(i.optional_slots),
                          "result_slots": list(i.result_slots)} for i in s.intents]}
            for s in services]
