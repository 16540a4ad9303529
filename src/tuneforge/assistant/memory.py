"""The conversations an assistant server keeps, in memory: bounded three ways, so no client can grow it.

At most ``max_turns`` exchanges per conversation (the oldest dropped first), conversations unused for
``max_age_s`` forgotten, and at most ``max_conversations`` of them (the least recently used forgotten).
Ids are random (``secrets``), so one client cannot guess another's. The clock is a parameter: tests move
it instead of sleeping.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Turn:
    message: str
    reply: str
    intent: dict[str, Any]
    slots: list[dict[str, Any]]


@dataclass
class Conversation:
    id: str
    used: float
    turns: list[Turn] = field(default_factory=list)
    # per service: {intent, requested_slots, slot_values} after the last message. It outlives the turns kept
    # for context: a value given before the oldest kept turn stays in the state.
    state: dict[str, dict[str, Any]] = field(default_factory=dict)

    def messages(self) -> list[dict[str, str]]:
        """The kept exchanges as ``{"role", "content"}`` messages, oldest first."""
        return [m for t in self.turns for m in ({"role": "user", "content": t.message},
                                                 {"role": "assistant", "content": t.reply})]

    def user_messages(self) -> list[str]:
        return [t.message for t in self.turns]


class ConversationStore:
    def __init__(self, max_turns: int, max_age_s: float, max_conversations: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_turns, self.max_age_s, self.max_conversations = max_turns, max_age_s, max_conversations
        self.clock = clock
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._conversations)

    def new(self) -> Conversation:
        """A new conversation with a fresh id; kept from its first turn on (``add``), so failed requests leave none."""
        return Conversation(secrets.token_urlsafe(16), self.clock())

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation, or None if unknown or forgotten (too old, or evicted)."""
        with self._lock:
            self._forget_old()
            conversation = self._conversations.get(conversation_id)
            if conversation is not None:
                conversation.used = self.clock()
                self._conversations.move_to_end(conversation_id)
            return conversation

    def add(self, conversation: Conversation, turn: Turn, state: dict[str, dict[str, Any]] | None = None) -> int:
        """Keep ``turn`` and the state after it (the conversation comes back if it was evicted meanwhile); the
        turns now kept."""
        with self._lock:
            self._forget_old()
            conversation.turns = [*conversation.turns, turn][-self.max_turns:]
            if state is not None:
                conversation.state = state
            conversation.used = self.clock()
            self._conversations[conversation.id] = conversation
            self._conversations.move_to_end(conversation.id)
            while len(self._conversations) > self.max_conversations:
                self._conversations.popitem(last=False)
            return len(conversation.turns)

    def _forget_old(self) -> None:
        oldest_kept = self.clock() - self.max_age_s
        while self._conversations:
            first = next(iter(self._conversations.values()))
            if first.used >= oldest_kept:
                break
            self._conversations.popitem(last=False)
