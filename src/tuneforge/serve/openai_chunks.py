"""The answers of the OpenAI-compatible API: whole responses, and streamed chunks as Server-Sent Events.

A stream is ``data: {chunk}`` lines: for a chat, a first chunk with ``delta.role``, then one per piece of text
(``delta.content``), then an empty delta with ``finish_reason``; with ``stream_options.include_usage`` a last
chunk with empty ``choices`` and the ``usage``; then ``data: [DONE]``. A failure after the first piece is sent
as ``data: {"error": {...}}`` (the ``openai`` client raises it) and ends the stream.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tuneforge.engine.completion import Completion
from tuneforge.serve.errors import ServeError
from tuneforge.serve.openai_errors import openai_error

DONE = "data: [DONE]\n\n"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def usage(done: list[Completion]) -> dict[str, int]:
    prompt, completion = sum(c.prompt_tokens for c in done), sum(c.completion_tokens for c in done)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_response(name: str, done: Completion) -> dict[str, Any]:
    return {"id": new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()), "model": name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": done.text, "refusal": None},
                         "logprobs": None, "finish_reason": done.finish_reason}],
            "usage": usage([done])}


def text_response(name: str, done: list[Completion]) -> dict[str, Any]:
    return {"id": new_id("cmpl"), "object": "text_completion", "created": int(time.time()), "model": name,
            "choices": [{"index": i, "text": c.text, "logprobs": None, "finish_reason": c.finish_reason}
                        for i, c in enumerate(done)],
            "usage": usage(done)}


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


class Chunks:
    """The events ``streaming.stream_call`` sends for one streamed completion (chat or text)."""

    def __init__(self, name: str, chat: bool, include_usage: bool) -> None:
        self.chat, self.include_usage = chat, include_usage
        self.head = {"id": new_id("chatcmpl" if chat else "cmpl"),
                     "object": "chat.completion.chunk" if chat else "text_completion",
                     "created": int(time.time()), "model": name}
        self.started = False

    def _chunk(self, text: str | None, finish: str | None = None) -> str:
        if self.chat:
            delta = {} if text is None else {"content": text}
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if self.include_usage else {}
        return _data({**self.head, "choices": [choice], **extra})

    def _start(self) -> str:
        if self.started or not self.chat:
            return ""
        self.started = True
        extra = {"usage": None} if self.include_usage else {}
        return _data({**self.head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                "logprobs": None, "finish_reason": None}], **extra})

    def piece(self, text: str) -> str:
        return self._start() + self._chunk(text)

    def done(self, done: Completion) -> str:
        out = self._start() + self._chunk(None, done.finish_reason)
        if self.include_usage:
            out += _data({**self.head, "choices": [], "usage": usage([done])})
        return out + DONE

    def error(self, exc: ServeError) -> str:
        return _data(openai_error(exc.status, exc.message, getattr(exc, "param", None), getattr(exc, "code", None)))
