"""What the assistant's three models read: one function per model, used to write the training data from SGD
and to build the inputs while serving, so the served models see exactly the format they were trained on.

The reply prompt (a ``{"prompt"}`` of the generation run; its chat template wraps it as one user message):

    User: I'd like to eat somewhere.
    Assistant: Which city should I look in?
    User: In San Jose, Italian food please.
    Intent: FindRestaurants
    State: Restaurants_1: city=San Jose; cuisine=Italian

the last ``HISTORY_MESSAGES`` messages before the user's message, then the message, the recognised intent and
the dialogue state after the message: every slot value given so far, per service (``State: none`` when
empty). Training data takes SGD's gold state; a served assistant its state run's tracked state, or without
one the slot spans of its messages so far, accumulated (no service named). Whitespace in every text is
collapsed to single spaces, so a message cannot forge a line of the format. The completion is the
assistant's next turn.
"""

from __future__ import annotations

from typing import Any

from tuneforge.data.sgd_intents import CONTEXT_TURNS
from tuneforge.util.text_words import split_words

HISTORY_MESSAGES = 6  # user and assistant messages before the current one that the reply prompt shows
SPEAKERS = {"user": "User", "assistant": "Assistant"}


def flat(text: str) -> str:
    return " ".join(text.split())


def intent_text(user_messages: list[str]) -> str:
    """The intent model's input: the user's last ``CONTEXT_TURNS`` messages, newest first (a turn like "in San
    Jose, please" keeps the intent an earlier one set), as ``data/sgd_intents.py`` reads SGD."""
    return " ".join(flat(m) for m in reversed(user_messages[-CONTEXT_TURNS:]))


def reply_prompt(history: list[dict[str, str]], message: str, intent: str, state: dict[str, dict[str, str]],
                 results: str | None = None) -> str:
    """The reply model's prompt; ``history``: earlier ``{"role": "user"|"assistant", "content"}`` messages,
    ``state``: per service (``""``: none named), each slot's value so far; ``results``: the rows a service
    returned, as ``grounding.rows_text`` writes them (no line when None: the prompt of an ungrounded run)."""
    lines = [f"{SPEAKERS[m['role']]}: {flat(m['content'])}" for m in history[-HISTORY_MESSAGES:]]
    lines.append(f"User: {flat(message)}")
    lines.append(f"Intent: {flat(intent)}")
    lines.append(state_text(state))
    if results is not None:
        lines.append(flat(results))
    return "\n".join(lines)


def state_text(state: dict[str, dict[str, str]]) -> str:
    """``State: Service: slot=value; slot=value | Other: …`` (``State: none`` when no slot has a value)."""
    parts = []
    for service, values in state.items():
        body = "; ".join(f"{flat(slot)}={flat(value)}" for slot, value in values.items())
        if body:
            parts.append(f"{flat(service)}: {body}" if service else body)
    return "State: " + (" | ".join(parts) or "none")


def accumulated_slots(earlier: dict[str, str], slots: list[dict[str, Any]]) -> dict[str, str]:
    """A state from per-message slot spans alone (no state run): each slot type's latest text."""
    return {**earlier, **{s["type"]: s["text"] for s in slots}}


def slot_tags(text: str, spans: list[tuple[str, int, int]]) -> tuple[list[str], list[str]]:
    """The slot tagger's words (as ``predict`` splits raw text) and their BIO tags from character spans
    ``(type, start, end)``; a word overlapping a span is inside it, a span overlapping an earlier one is dropped."""
    words = split_words(text)
    tags = ["O"] * len(words)
    for kind, start, end in sorted(spans, key=lambda s: (s[1], -s[2])):
        inside = [i for i, (_, s, e) in enumerate(words) if s < end and e > start]
        if not inside or any(tags[i] != "O" for i in inside):
            continue
        for n, i in enumerate(inside):
            tags[i] = f"{'B' if n == 0 else 'I'}-{kind}"
    return [w for w, _, _ in words], tags
