"""Handing work to a model's worker and awaiting it: the status every outcome answers with, in one place.

Used by predict, streamed predict and the assistant alike, so a full queue is always 503 with Retry-After,
a slow model 504, input only the task can judge 422, and a bug 500 with its traceback in the log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from tuneforge.engine.stop_signal import Stopped
from tuneforge.errors import TuneforgeError
from tuneforge.serve.batching import Closed, QueueFull
from tuneforge.serve.errors import ServeError
from tuneforge.serve.settings import ServeSettings

log = logging.getLogger("tuneforge.serve")


def enqueue(submit: Callable[[], Future], settings: ServeSettings) -> Future:
    """``submit()`` (a batcher's ``submit`` or ``submit_call``), a full queue or a closing model answered 503."""
    try:
        return submit()
    except (QueueFull, Closed) as exc:
        full = isinstance(exc, QueueFull)
        hint, prefix = ("; retry later", "overloaded: ") if full else ("", "")
        raise ServeError(503, f"{prefix}{exc}{hint}", {"Retry-After": str(settings.retry_after_s)},
                         kind="overloaded" if full else "unloading") from None


# asyncio.wait_for raises asyncio.TimeoutError, which is the builtin only from Python 3.11 on (3.10 is supported)
TIMEOUTS = (TimeoutError, asyncio.TimeoutError)
DISCONNECT_POLL_S = 0.25  # how often a waiting request looks whether its client is still there


class ClientLeft(Exception):
    """The client closed the connection while its request was waiting or computing."""


async def outcome(future: Future, settings: ServeSettings, name: str,
                  disconnected: Callable[[], Awaitable[bool]] | None = None) -> Any:
    """The job's result, or the ServeError its failure answers with. A request that times out, or whose client
    leaves (``disconnected``), abandons its job: dropped if still queued, stopped at its next decoding step if
    running, so the worker moves on to the requests behind it."""
    try:
        return await _wait(future, settings.timeout_s, disconnected)
    except TIMEOUTS:
        _abandon(future)
        raise ServeError(504, f"no answer within {settings.timeout_s:g} s; the model is busy, retry later",
                         kind="timeout") from None
    except ClientLeft:
        _abandon(future)
        raise ServeError(499, "the client closed the connection", kind="client_gone") from None
    except Stopped:
        raise ServeError(499, "the request was abandoned", kind="client_gone") from None
    except Closed as exc:
        raise ServeError(503, str(exc), {"Retry-After": str(settings.retry_after_s)}, kind="unloading") from None
    except TuneforgeError as exc:  # the input was checked, but only the task knows every rule (an empty prompt)
        raise ServeError(422, str(exc)) from None
    except ServeError:
        raise
    except Exception:
        log.exception("model %s failed on a request", name)  # a bug: the traceback goes to the server's log only
        raise ServeError(500, "internal error while predicting; the server log has the details") from None


async def _wait(future: Future, timeout: float, disconnected: Callable[[], Awaitable[bool]] | None) -> Any:
    wrapped = asyncio.wrap_future(future)
    if disconnected is None:
        return await asyncio.wait_for(wrapped, timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError()
            done, _ = await asyncio.wait({wrapped}, timeout=min(remaining, DISCONNECT_POLL_S))
            if done:
                return wrapped.result()
            if await disconnected():
                raise ClientLeft()
    finally:
        if not wrapped.done():
            wrapped.cancel()


def _abandon(future: Future) -> None:
    if hasattr(future, "abandon"):
        future.abandon()
    else:
        future.cancel()


async def predict_items(model: Any, items: list[Any], settings: ServeSettings,
                        disconnected: Callable[[], Awaitable[bool]] | None = None) -> list[Any]:
    """The predictions of checked ``items`` by a ``LoadedModel``, micro-batched with other requests."""
    return await outcome(enqueue(lambda: model.batcher.submit(items), settings), settings, model.name, disconnected)
