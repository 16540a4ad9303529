"""What the assistant's three models read: one function per model, used to write the training data from SGD
and to build the inputs while serving, so the served models see exactly the format they were trained on.

The reply prompt (a ``{"prompt"}`` of the generation run; its chat template wraps it as one user message):

    User: I'd like to eat somewhere.
    Assistant: Which city should I look in?
    User: In San Jose, Italian food please.
    Intent: FindRestaurants
    Slots: city=San Jose; cuisine=Italian

the last ``HISTORY_MESSAGES`` messages before the user's message, then the message, the recognised intent and
slot spans (``Slots: none`` without any). Whitespace in every text is collapsed to single spaces, so a
message cannot forge a line of the format. The completion is the assistant's next turn.
"""

from __future__ import annotations

from typing import Any

from tuneforge.data.sgd_intents import CONTEXT_TURNS
from tuneforge.text_words import split_words

HISTORY_MESSAGES = 6  # user and assistant messages before the current one that the reply prompt shows
CONTEXT_MARK = "||"  # between the slot tagger's context and the message (two "|" words to predict's word splitter)
SPEAKERS = {"user": "User", "assistant": "Assistant"}


def flat(text: str) -> str:
    return " ".join(text.split())


def intent_text(user_messages: list[str]) -> str:
    """The intent model's input: the user's last ``CONTEXT_TURNS`` messages, newest first (a turn like "in San
    Jose, please" keeps the intent an earlier one set), as ``data/sgd_intents.py`` reads SGD."""
    return " ".join(flat(m) for m in reversed(user_messages[-CONTEXT_TURNS:]))


def reply_prompt(history: list[dict[str, str]], message: str, intent: str, slots: list[dict[str, Any]]) -> str:
    """The reply model's prompt; ``history``: earlier ``{"role": "user"|"assistant", "content"}`` messages,
    ``slots``: spans with ``type`` and ``text``."""
    lines = [f"{SPEAKERS[m['role']]}: {flat(m['content'])}" for m in history[-HISTORY_MESSAGES:]]
    lines.append(f"User: {flat(message)}")
    lines.append(f"Intent: {flat(intent)}")
    lines.append("Slots: " + ("; ".join(f"{flat(s['type'])}={flat(s['text'])}" for s in slots) or "none"))
    return "\n".join(lines)


def slot_text(previous_reply: str | None, message: str) -> tuple[str, int]:
    """The slot tagger's input and where the message starts in it: the assistant's previous turn, then
    ``CONTEXT_MARK``, then the message. SGD names a slot by its role in the service ("When do you pick up the
    car?" makes "March 3rd" a ``pickup_date``, not a ``date``); the message alone rarely says which. The
    context's words are tagged O, and spans found there are dropped (``message_slots``)."""
    if not previous_reply or not previous_reply.strip():
        return message, 0
    prefix = f"{flat(previous_reply)} {CONTEXT_MARK} "
    return prefix + message, len(prefix)


def message_slots(entities: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
    """The tagger's entities on ``slot_text``'s input that lie in the message, with the message's offsets."""
    return [{**e, "start": e["start"] - offset, "end": e["end"] - offset} for e in entities if e["start"] >= offset]


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
