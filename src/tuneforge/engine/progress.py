"""Progress bars for the work outside the training loop's own bar: decoding, scoring and perplexity batches.

Whoever runs a recipe (``api.train``, ``api.evaluate``, ``compare``) turns them on for its duration with
``showing(cfg.training.progress)`` (default: when stderr is a terminal); the code that loops over batches asks
for a ``bar`` and ticks it. Off by default, so a server's requests and library calls stay quiet; a context
variable, so one thread's command never draws bars for another's. tqdm gives each bar its rate and ETA.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm import tqdm

_SHOW: ContextVar[bool] = ContextVar("tuneforge_progress", default=False)


@contextmanager
def showing(enabled: bool | None = None) -> Iterator[None]:
    """Inside: ``bar`` draws (``enabled``; None: when stderr is a terminal)."""
    token = _SHOW.set(sys.stderr.isatty() if enabled is None else bool(enabled))
    try:
        yield
    finally:
        _SHOW.reset(token)


def shown() -> bool:
    return _SHOW.get()


def bar(total: int, desc: str, unit: str = "example") -> tqdm:
    """A bar over ``total`` items (a context manager; ``update(n)`` per batch), drawn only while ``showing``."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not _SHOW.get() or total <= 0, leave=False,
                dynamic_ncols=True, file=sys.stderr)
