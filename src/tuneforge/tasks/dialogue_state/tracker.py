"""From the model's scores to dialogue states: decoding one (turn, service) and accumulating over a dialogue.

A service's state after a user turn is its state before the turn with this turn's changes: a slot the model
calls unchanged keeps its value, dontcare sets "dontcare", active sets the value read from this turn (a
categorical value, or a span of the dialogue), and carried copies a value already in another service's
state — that of the other slot most like this one (cosine of their descriptions' embeddings), which is how a
city given to a restaurant search becomes the hotel search's location, for a service never seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuneforge.tasks.dialogue_state.encoding import ACTIVE, CARRIED, DONTCARE, StateFeature
from tuneforge.tasks.dialogue_state.schema import DONTCARE as DONTCARE_VALUE
from tuneforge.tasks.dialogue_state.schema import Service

NO_INTENT = "NONE"


@dataclass
class ServiceState:
    intent: str = NO_INTENT
    requested: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    def frame(self, service: str) -> dict[str, Any]:
        return {"service": service, "intent": self.intent, "requested_slots": list(self.requested),
                "slot_values": {slot: [value] for slot, value in self.values.items()}}


def best_span(start: np.ndarray, end: np.ndarray, feature: StateFeature, longest: int) -> tuple[int, int] | None:
    """The (first, last) tokens of the best-scoring span within one turn, at most ``longest`` tokens long."""
    allowed = np.nonzero(feature.span_ok[: len(start)])[0]
    if not len(allowed):
        return None
    best, best_score = None, -np.inf
    for i in allowed[np.argsort(-start[allowed])[:20]]:
        turn = feature.token_turn[i]
        stop = min(len(end), i + longest)
        window = np.arange(i, stop)
        window = window[feature.token_turn[window] == turn]
        j = window[int(np.argmax(end[window]))]
        score = start[i] + end[j]
        if score > best_score:
            best, best_score = (int(i), int(j)), score
    return best


def span_text(feature: StateFeature, span: tuple[int, int], texts: list[str]) -> str:
    """The characters a token span covers, in the text of the turn it lies in (``texts``: the dialogue's turns)."""
    first, last = span
    text = texts[int(feature.token_turn[first])]
    return text[feature.token_offsets[first][0]:feature.token_offsets[last][1]]


def decode_frame(out: dict[str, np.ndarray], feature: StateFeature, service: Service, before: ServiceState,
                 texts: list[str], others: list[tuple[str, str, str]], similarity, carry_over: bool,
                 longest: int, status_bias: float = 0.0) -> ServiceState:
    """The service's state after this turn. ``others``: (service, slot, value) of the other services' states;
    ``similarity(service, slot, other_service, other_slot)`` scores how alike two slots are; ``status_bias`` is
    added to every status but unchanged (tuned on dev: ``DialogueState.calibrate``)."""
    intents = out["intent"][: len(feature.intent_at)]
    best_intent = int(np.argmax(intents))
    intent = NO_INTENT if best_intent == 0 else service.intents[best_intent - 1].name
    n_slots = len(service.slots)
    requested = [s.name for s, p in zip(service.slots, out["requested"][:n_slots], strict=True) if p > 0]
    values = dict(before.values)
    statuses = np.argmax(out["status"][:n_slots] + np.array([0.0, status_bias, status_bias, status_bias]), axis=-1)
    for k, (slot, status) in enumerate(zip(service.slots, statuses, strict=True)):
        if status == DONTCARE:
            values[slot.name] = DONTCARE_VALUE
        elif status == ACTIVE and slot.is_categorical:
            scores = out["value"][k][: len(slot.possible_values)]
            values[slot.name] = slot.possible_values[int(np.argmax(scores))]
        elif status == ACTIVE:
            span = best_span(out["start"][k], out["end"][k], feature, longest)
            if span is not None:
                values[slot.name] = span_text(feature, span, texts)
        elif status == CARRIED and carry_over:
            candidates = [(similarity(service.name, slot.name, s, n), v) for s, n, v in others
                          if not slot.is_categorical or v in slot.possible_values]
            if candidates:
                values[slot.name] = max(candidates, key=lambda c: c[0])[1]
    return ServiceState(intent, requested, values)
