"""One encoder input per (user turn, service): the service's schema beside the dialogue, in one sequence.

    [CLS] [I] none [I] intent: description … [S] slot: description [V] value [V] value … [S] …  (type 0)
    [SEP] user turn [SEP] system turn before it [SEP] earlier turns, newest first … [SEP]        (type 1)

Every schema element starts with a marker token whose hidden state, having attended to the dialogue, is
what the heads read (model.py): so all of a turn's intents, requested slots, slot statuses, categorical
values and value spans come from one forward pass per service in the turn. A service never seen in
training is read the same way, from its schema alone. The schema part of a service is tokenized once.
Spans of non-categorical values may lie in any dialogue segment (user turn, system turn, earlier turns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tuneforge.tasks.dialogue_state.schema import Service

INTENT_MARK, SLOT_MARK, VALUE_MARK = "[unused1]", "[unused2]", "[unused3]"
NONE_INTENT_TEXT = "none: the user has not asked for anything yet"
IGNORE = -100

# Slot statuses: what a turn does to a slot's value.
UNCHANGED, DONTCARE, ACTIVE, CARRIED = 0, 1, 2, 3
STATUSES = ("unchanged", "dontcare", "active", "carried")


@dataclass
class SchemaPart:
    """The tokenized schema of one service and where its element markers sit."""

    ids: list[int]  # [CLS] and the elements, without the closing [SEP]
    intent_at: list[int]  # NONE first, then the service's intents in schema order
    slot_at: list[int]  # the service's slots in schema order
    value_at: list[list[int]]  # per slot, the markers of its possible values ([] for a non-categorical slot)


@dataclass
class Segment:
    """One turn's text as sub-word ids with character offsets; ``turn`` indexes the dialogue's turns."""

    turn: int
    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]


@dataclass
class StateFeature:
    """One (user turn, service) input; ``key`` says which dialogue, turn and service it stands for."""

    input_ids: np.ndarray
    token_type_ids: np.ndarray
    intent_at: list[int]
    slot_at: list[int]
    value_at: list[list[int]]
    span_ok: np.ndarray  # bool per token: may begin or end a value (dialogue tokens only)
    token_turn: np.ndarray  # per token: the dialogue turn it belongs to, -1 outside the dialogue
    token_offsets: np.ndarray  # [tokens, 2] character offsets in that turn's text
    key: tuple[int, int, str]  # (dialogue index, turn index, service)
    targets: dict[str, list[int]] | None = field(default=None)

    def __len__(self) -> int:
        return len(self.input_ids)


def element_text(name: str, description: str, mode: str) -> str:
    words = name.replace("_", " ")
    if mode == "name" or not description:
        return words
    return description if mode == "description" else f"{words}: {description}"


class Encoder:
    """Builds ``StateFeature``s; the schema parts and turn segments it tokenizes are cached."""

    def __init__(self, tokenizer, max_length: int, schema_text: str, max_span_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.schema_text = schema_text
        self.max_span_tokens = max_span_tokens
        self.marks = tokenizer.convert_tokens_to_ids([INTENT_MARK, SLOT_MARK, VALUE_MARK])
        self._schema: dict[str, SchemaPart] = {}

    def _pieces(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []

    def schema_part(self, service: Service) -> SchemaPart:
        if service.name in self._schema:
            return self._schema[service.name]
        intent_mark, slot_mark, value_mark = self.marks
        intents = [NONE_INTENT_TEXT] + [element_text(i.name, i.description, self.schema_text)
                                        for i in service.intents]
        slots = [element_text(s.name, s.description, self.schema_text) for s in service.slots]
        values = [v for s in service.slots if s.is_categorical for v in s.possible_values]
        pieces = iter(self._pieces(intents + slots + values))
        ids = [self.tokenizer.cls_token_id]
        intent_at, slot_at, value_at = [], [], []
        for _ in intents:
            intent_at.append(len(ids))
            ids += [intent_mark, *next(pieces)]
        slot_pieces = [next(pieces) for _ in slots]
        for slot, piece in zip(service.slots, slot_pieces, strict=True):
            slot_at.append(len(ids))
            ids += [slot_mark, *piece]
            here = []
            if slot.is_categorical:
                for _ in slot.possible_values:
                    here.append(len(ids))
                    ids += [value_mark, *next(pieces)]
            value_at.append(here)
        part = SchemaPart(ids, intent_at, slot_at, value_at)
        self._schema[service.name] = part
        return part

    def segments(self, texts: list[str]) -> list[Segment]:
        """Every turn of a dialogue tokenized once (with offsets)."""
        encoded = self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True) if texts else None
        return [Segment(i, text, encoded["input_ids"][i], [tuple(o) for o in encoded["offset_mapping"][i]])
                for i, text in enumerate(texts)]

    def feature(self, service: Service, segments: list[Segment], user_turn: int, system_turn: bool,
                history_turns: int, key: tuple[int, int, str]) -> StateFeature:
        """The input for the user turn at ``user_turn`` of a dialogue whose turns are ``segments``."""
        part = self.schema_part(service)
        sep = self.tokenizer.sep_token_id
        room = self.max_length - len(part.ids) - 1
        if room < 16:
            raise ValueError(f"service {service.name}: its schema takes {len(part.ids)} of model.max_length="
                             f"{self.max_length} tokens; raise model.max_length")
        order = [user_turn]  # without the system turn, the user turn alone (no history either)
        if system_turn:
            order += list(range(user_turn - 1, max(user_turn - 2 - history_turns, -1), -1))
        ids, types = list(part.ids), [0] * len(part.ids)
        turn_of, offsets = [-1] * len(ids), [(0, 0)] * len(ids)
        for n, turn in enumerate(order):
            segment = segments[turn]
            take = min(len(segment.ids), room - 1)
            if take <= 0 or (n > 1 and take < len(segment.ids)):  # earlier turns whole or not at all
                break
            ids.append(sep)
            types.append(1)
            turn_of.append(-1)
            offsets.append((0, 0))
            ids += segment.ids[:take]
            types += [1] * take
            turn_of += [turn] * take
            offsets += segment.offsets[:take]
            room -= take + 1
        ids.append(sep)
        types.append(1)
        turn_of.append(-1)
        offsets.append((0, 0))
        token_turn = np.array(turn_of, dtype=np.int32)
        return StateFeature(np.array(ids, dtype=np.int32), np.array(types, dtype=np.int8), part.intent_at,
                            part.slot_at, part.value_at, token_turn >= 0, token_turn,
                            np.array(offsets, dtype=np.int32), key)

    @staticmethod
    def token_span(feature: StateFeature, turn: int, start: int, end: int) -> tuple[int, int] | None:
        """The first and last token of characters [start, end) of ``turn`` in the feature, if all are there."""
        inside = np.nonzero(feature.token_turn == turn)[0]
        if not len(inside):
            return None
        offsets = feature.token_offsets[inside]
        if offsets[0][0] > start or offsets[-1][1] < end:
            return None
        first = next((int(inside[i]) for i in range(len(inside)) if offsets[i][1] > start), None)
        last = next((int(inside[i]) for i in reversed(range(len(inside))) if offsets[i][0] < end), None)
        if first is None or last is None or last < first:
            return None
        return first, last
