"""Streamed generation: ``"stream": true`` answers one reply as Server-Sent Events while it is generated.

``Run.stream(item, write)`` runs on the model's worker thread (a job of its own, in queue order with the
batches); each piece it writes is handed to the event loop and sent at once as

    event: piece
    data: {"text": "..."}

and the reply ends with ``event: done`` / ``data: {"model": NAME, "reply": WHOLE_REPLY}``. The pieces join to
the reply exactly: whitespace before the first word is never sent, and whitespace is sent only once more
text follows it (a reply is stripped, as in a non-streamed prediction). A failure before the first piece
answers a plain JSON 4xx/5xx like any request; one after it (or no piece for ``timeout_s``) ends the stream
with ``event: error`` / ``data: {"error": "...", "status": N}``. A client that goes away stops the generation
at its next decoding step.

``stream_call`` is the mechanism, with the events' format given (``PredictEvents`` here; the OpenAI-compatible
API's chunks in openai_chunks.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from tuneforge.serve.errors import ServeError
from tuneforge.serve.jobs import TIMEOUTS, enqueue, outcome
from tuneforge.serve.settings import ServeSettings

MEDIA_TYPE = "text/event-stream"
_END = object()  # put after the last piece, once the job is over (done, failed or cancelled)


class ClientGone(Exception):
    """Raised inside the generation when its client stopped reading: the worker moves on."""


class Trimmed:
    """Passes pieces on so that they join to the stripped text: leading whitespace dropped, trailing held."""

    def __init__(self, write) -> None:
        self.write, self.held, self.started = write, "", False

    def __call__(self, piece: str) -> None:
        text = self.held + piece
        if not self.started:
            text = text.lstrip()
        body = text.rstrip()
        self.held = text[len(body):]
        if body:
            self.started = True
            self.write(body)


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class PredictEvents:
    """The events of a streamed ``/predict``: ``piece`` per piece, then ``done`` (or ``error``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def piece(self, text: str) -> str:
        return sse("piece", {"text": text})

    def done(self, reply: Any) -> str:
        return sse("done", {"model": self.name, "reply": reply})

    def error(self, exc: ServeError) -> str:
        return sse("error", {"error": exc.message, "status": exc.status})


async def stream_reply(model: Any, item: Any, settings: ServeSettings) -> StreamingResponse:
    """The streamed reply of a ``LoadedModel`` whose task streams (``TaskSpec.streams``) to one checked item."""
    return await stream_call(model, lambda write: model.run.stream(item, Trimmed(write)), settings,
                             PredictEvents(model.name))


async def stream_call(model: Any, call: Callable[[Callable[[str], None]], Any], settings: ServeSettings,
                      events: Any) -> StreamingResponse:
    """``call(write)`` run on the model's worker as a job of its own, each piece it writes sent at once as
    ``events.piece(text)``, then ``events.done(result)``; ``events.error(exc)`` ends a stream that fails after
    its first piece (before it, the ServeError is raised: a plain 4xx/5xx)."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    gone = threading.Event()

    def send(text: str) -> None:  # on the worker thread
        if gone.is_set():
            raise ClientGone()
        loop.call_soon_threadsafe(pieces.put_nowait, text)

    future = enqueue(lambda: model.batcher.submit_call(lambda: call(send)), settings)
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(pieces.put_nowait, _END))
    first = await _next(pieces, settings, gone, future)
    if first is _END:  # failed before any piece (a 4xx/5xx as usual), or an empty reply
        result = await outcome(future, settings, model.name)
        return _response(_events(model.name, None, pieces, future, settings, gone, events, (result,)))
    return _response(_events(model.name, first, pieces, future, settings, gone, events))


async def _next(pieces: asyncio.Queue, settings: ServeSettings, gone: threading.Event, future) -> Any:
    try:
        return await asyncio.wait_for(pieces.get(), settings.timeout_s)
    except TIMEOUTS:
        gone.set()
        future.abandon()  # still queued: never computed; running: stopped at its next decoding step
        raise ServeError(504, f"no answer within {settings.timeout_s:g} s; the model is busy, retry later",
                         kind="timeout") from None


async def _events(name: str, first: str | None, pieces: asyncio.Queue, future, settings: ServeSettings,
                  gone: threading.Event, events: Any, result: tuple[Any] | None = None) -> AsyncIterator[str]:
    try:
        if result is None:
            yield events.piece(first)
            while (piece := await _next(pieces, settings, gone, future)) is not _END:
                yield events.piece(piece)
            result = (await outcome(future, settings, name),)
        yield events.done(result[0])
    except ServeError as exc:
        yield events.error(exc)
    finally:
        gone.set()  # the client went away (this generator was closed): the generation stops at its next step
        future.abandon()


def _response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type=MEDIA_TYPE,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
