"""Retrieved replies: the nearest training reply that performs the same dialogue acts, its values replaced
from the dialogue state and the service's rows.

A training reply is delexicalised: every value it says (its annotated spans, and any act value found verbatim)
becomes ``[slot]``. Its act signature — the sorted (act, slot) pairs — is the key. To answer, the candidates
with the wanted signature are ranked: same service first, then those whose every placeholder can be filled,
then (``choose``) the wording most often seen for it, or the context most alike (rapidfuzz's token-set ratio);
the best is filled. A signature never seen backs off to the one sharing the most (act, slot) pairs.

Services return canonical values (``18:00``, ``2019-03-02``) that replies say otherwise (``6 pm``,
``tomorrow``); the bank learns, from its training replies, how each slot's canonical value is said (the most
frequent spelling, seen at least twice) and says it so.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = re.compile(r"\[([a-z_0-9]+)\]")
ROW_FIRST_ACTS = {"OFFER", "INFORM", "NOTIFY_SUCCESS"}  # values the service returned; other acts echo the state


@dataclass(frozen=True)
class Template:
    service: str
    text: str  # with [slot] placeholders
    context: str
    slots: tuple[str, ...]


def signature(acts: Iterable[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({(a["act"], a.get("slot") or "") for a in acts}))


def delexicalise(text: str, frame: dict[str, Any]) -> str:
    """``text`` with each value the frame's spans and acts name replaced by ``[slot]``."""
    spans = sorted(((s["start"], s["end"], s["slot"]) for s in frame.get("slots", ())), reverse=True)
    for start, end, slot in spans:
        text = f"{text[:start]}[{slot}]{text[end:]}"
    for act in frame.get("acts", ()):
        slot = "count" if act["act"] == "INFORM_COUNT" else act.get("slot")
        for value in act.get("values", ()):
            if slot and value and value not in ("True", "False") and len(value) > 0:
                text = re.sub(rf"(?<![\w\[]){re.escape(value)}(?![\w\]])", f"[{slot}]", text)
    return text


class TemplateBank:
    def __init__(self, choose: str = "context") -> None:
        self.by_signature: dict[tuple, list[Template]] = defaultdict(list)
        self.wordings: Counter[tuple[str, str]] = Counter()  # (service, delexicalised text) seen
        self.spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # (slot, canonical) -> said
        self.choose = choose

    def add(self, service: str, text: str, frame: dict[str, Any], context: str,
            canonical: dict[str, str] | None = None) -> None:
        """One training reply; ``canonical``: the values its slots had in the service's row or the state."""
        sig = signature(frame.get("acts", ()))
        if not sig:
            return
        delex = delexicalise(text, frame)
        self.by_signature[sig].append(Template(service, delex, context, tuple(PLACEHOLDER.findall(delex))))
        self.wordings[(service, delex)] += 1
        for act in frame.get("acts", ()):
            slot, said = act.get("slot"), act.get("values") or [None]
            if canonical and slot in canonical and said[0] is not None:
                self.spellings[(slot, canonical[slot])][said[0]] += 1

    def spelled(self, slot: str, value: str) -> str:
        seen = self.spellings.get((slot, value))
        if not seen:
            return value
        said, count = seen.most_common(1)[0]
        return said if count >= 2 and said != value else value

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_signature.values())

    def candidates(self, sig: tuple) -> list[Template]:
        if sig in self.by_signature:
            return self.by_signature[sig]
        wanted = set(sig)
        best = max(self.by_signature, key=lambda s: (len(wanted & set(s)) - 0.5 * len(set(s) - wanted), -len(s)),
                   default=None)
        return self.by_signature.get(best, []) if best else []

    def reply(self, acts: list[dict[str, Any]], service: str, context: str, values: dict[str, str]) -> str:
        """The filled reply of the best template for ``acts`` (their (act, slot) pairs; values not read)."""
        from rapidfuzz import fuzz

        found = self.candidates(signature(acts))
        if not found:
            return ""
        def alike(t: Template) -> float:
            return self.wordings[(t.service, t.text)] if self.choose == "frequent" else \
                fuzz.token_set_ratio(t.context, context)

        best = max(found, key=lambda t: (t.service == service, all(s in values for s in t.slots), alike(t)))
        return fill(best.text, {slot: self.spelled(slot, value) for slot, value in values.items()})


def fill(template: str, values: dict[str, str]) -> str:
    """Placeholders replaced by their values; one with no value is dropped with the space before it."""
    text = PLACEHOLDER.sub(lambda m: values.get(m.group(1), "\0"), template)
    return re.sub(r"\s*\0", "", text)


def slot_values_for(acts: list[dict[str, Any]], state: dict[str, str], row: dict[str, str] | None,
                    rows: list[dict[str, str]]) -> dict[str, str]:
    """The value each act's slot takes: from the row talked about for what a service returns, else the state."""
    values: dict[str, str] = {"count": str(len(rows))} if rows else {}
    for act in acts:
        slot = act.get("slot")
        if not slot:
            continue
        from_row = row.get(slot) if row else None
        from_state = state.get(slot)
        first, second = (from_row, from_state) if act["act"] in ROW_FIRST_ACTS else (from_state, from_row)
        value = first if first is not None else second
        if value is not None:
            values[slot] = value
    for slot, value in (row or {}).items():  # a template may say more of the row than its acts name
        values.setdefault(slot, value)
    for slot, value in state.items():
        values.setdefault(slot, value)
    return values
