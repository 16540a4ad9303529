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
from tuneforge.util.text_words import split_words

HISTORY_MESSAGES = 6  # user and assistant messages before the current one that the reply prompt shows
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
