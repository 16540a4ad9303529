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
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
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


async def stream_reply(model: Any, item: Any, settings: ServeSettings) -> StreamingResponse:
    """The streamed reply of a ``LoadedModel`` whose task streams (``TaskSpec.streams``) to one checked item."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    gone = threading.Event()

    def send(text: str) -> None:  # on the worker thread
        if gone.is_set():
            raise ClientGone()
        loop.call_soon_threadsafe(pieces.put_nowait, text)

    future = enqueue(lambda: model.batcher.submit_call(lambda: model.run.stream(item, Trimmed(send))), settings)
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(pieces.put_nowait, _END))
    first = await _next(pieces, settings, gone, future)
    if first is _END:  # failed before any piece (a 4xx/5xx as usual), or an empty reply
        reply = await outcome(future, settings, model.name)
        return _response(_events(model.name, None, pieces, future, settings, gone, reply))
    return _response(_events(model.name, first, pieces, future, settings, gone))


async def _next(pieces: asyncio.Queue, settings: ServeSettings, gone: threading.Event, future) -> Any:
    try:
        return await asyncio.wait_for(pieces.get(), settings.timeout_s)
    except TIMEOUTS:
        gone.set()
        future.abandon()  # still queued: never computed; running: stopped at its next decoding step
        raise ServeError(504, f"no answer within {settings.timeout_s:g} s; the model is busy, retry later",
                         kind="timeout") from None


async def _events(name: str, first: str | None, pieces: asyncio.Queue, future, settings: ServeSettings,
                  gone: threading.Event, reply: str | None = None) -> AsyncIterator[str]:
    try:
        if reply is None:
            yield sse("piece", {"text": first})
            while (piece := await _next(pieces, settings, gone, future)) is not _END:
                yield sse("piece", {"text": piece})
            reply = await outcome(future, settings, name)
        yield sse("done", {"model": name, "reply": reply})
    except ServeError as exc:
        yield sse("error", {"error": exc.message, "status": exc.status})
    finally:
        gone.set()  # the client went away (this generator was closed): the generation stops at its next step
        future.abandon()


def _response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type=MEDIA_TYPE,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
