"""Stopping work whose caller has gone: a check the caller installs, read between decoding steps.

The server runs a request's generation on a model's worker thread; when the request times out or its client
leaves, nothing reads the reply any more, and every further step only delays the requests queued behind it.
``stop_when(check)`` installs ``check`` for the current thread; ``check_stop()`` (between steps) raises
``Stopped`` once it answers True. Without a check installed (training, the command line) nothing stops.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

_local = threading.local()


class Stopped(Exception):
    """The work was abandoned by its caller (timed out, or the client left): no result is wanted."""


@contextlib.contextmanager
def stop_when(check: Callable[[], bool]) -> Iterator[None]:
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous


def stop_requested() -> bool:
    check = getattr(_local, "check", None)
    return check is not None and check()


def check_stop() -> None:
    if stop_requested():
        raise Stopped("abandoned by its caller")


def stopping_criteria():
    """For ``model.generate``: ends every row at the next step once a stop is requested (``check_stop`` after
    ``generate`` then raises, so the cut replies are never used); None when nothing can request one."""
    if getattr(_local, "check", None) is None:
        return None
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Requested(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            import torch

            return torch.full((input_ids.shape[0],), stop_requested(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_Requested()])
