"""#36 item 9: cutting a long chat to the window takes O(log n) renders, and keeps what dropping turns one at a
time kept (the fewest oldest turns)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def fmt():
    from transformers import AutoTokenizer

    from tuneforge.models import resolve
    from tuneforge.tasks.generation.chat_format import ChatFormat

    options = SimpleNamespace(instruction=None, system="be brief", chat_template="auto", too_long="truncate-left")
    return ChatFormat(AutoTokenizer.from_pretrained(resolve("smollm2-135m")), options, max_length=256)


def chat(turns: int) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}: where is my order number {i}"}
            for i in range(turns)]


def stepwise(fmt, messages):
    """The kept turns as the old code found them: drop the oldest, render again, until it fits."""
    messages = fmt.conversation(messages)
    while len(fmt._tokenize(fmt.render(messages, True))["input_ids"]) > fmt.max_length:
        messages = fmt._shorter(messages, 1, "t", 0)
    return messages


def test_a_2000_message_chat_is_cut_in_a_few_renders_to_the_same_turns(fmt, monkeypatch):
    small = chat(61)
    expected = fmt._tokenize(fmt.render(stepwise(fmt, small), True))["input_ids"]
    assert fmt.prompt_ids(small, "t") == (expected, True)
    renders = []
    render = type(fmt).render
    monkeypatch.setattr(type(fmt), "render", lambda self, *a: (renders.append(1), render(self, *a))[1])
    ids, truncated = fmt.prompt_ids(chat(2001), "t")
    assert truncated and len(ids) <= fmt.max_length
    assert len(renders) <= 16  # log2(1000 cut points) + a few; one per dropped turn before: ~1,990
    renders.clear()
    fmt.training_ids(chat(2000), "a reply", True, "t")
    assert len(renders) <= 40  # the bisection, then the labelled prefixes of the few kept turns only
