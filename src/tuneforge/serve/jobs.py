"""Handing work to a model's worker and awaiting it: the status every outcome answers with, in one place.

Used by predict, streamed predict and the assistant alike, so a full queue is always 503 with Retry-After,
a slow model 504, input only the task can judge 422, and a bug 500 with its traceback in the log only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

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
        hint = "; retry later" if isinstance(exc, QueueFull) else ""
        prefix = "overloaded: " if isinstance(exc, QueueFull) else ""
        raise ServeError(503, f"{prefix}{exc}{hint}", {"Retry-After": str(settings.retry_after_s)}) from None


async def outcome(future: Future, settings: ServeSettings, name: str) -> Any:
    """The job's result, or the ServeError its failure answers with."""
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), settings.timeout_s)
    except TimeoutError:  # wrap_future cancels the queued job too: a timed-out request is never computed
        raise ServeError(504, f"no answer within {settings.timeout_s:g} s; the model is busy, retry later") from None
    except Closed as exc:
        raise ServeError(503, str(exc), {"Retry-After": str(settings.retry_after_s)}) from None
    except TuneforgeError as exc:  # the input was checked, but only the task knows every rule (an empty prompt)
        raise ServeError(422, str(exc)) from None
    except ServeError:
        raise
    except Exception:
        log.exception("model %s failed on a request", name)  # a bug: the traceback goes to the server's log only
        raise ServeError(500, "internal error while predicting; the server log has the details") from None


async def predict_items(model: Any, items: list[Any], settings: ServeSettings) -> list[Any]:
    """The predictions of checked ``items`` by a ``LoadedModel``, micro-batched with other requests."""
    return await outcome(enqueue(lambda: model.batcher.submit(items), settings), settings, model.name)
