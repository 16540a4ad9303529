"""Dynamic micro-batching: concurrent requests for one model merged into one ``predict`` call.

Each model has one worker thread and one bounded queue. The worker takes the first waiting request, then
keeps taking requests for at most ``max_wait_s`` or until ``max_batch_size`` items are gathered, calls
``predict`` once on all their items and hands each request its own slice of the results, in order. The
model runs on this thread, never on the event loop, so health checks answer while a batch computes.

A request is never split across batches (its items stay together, so a request larger than the batch size
runs alone). If a merged call raises, each of its requests is retried alone: one request's bad input fails
that request only. A full queue refuses at once (``QueueFull``), so memory stays bounded under overload.

A request may name the function its items go to (``submit(items, predict=...)``: the OpenAI-compatible API's
completion requests go to ``Run.complete``); only requests for the same function are merged.

A streamed reply is a job of its own (``submit_call``): a function run alone on the same worker thread, in
queue order with the batches, so one model never computes two things at once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from tuneforge.engine.stop_signal import stop_when


class QueueFull(Exception):
    """The model's queue holds ``queue_size`` requests already; the client should retry later."""


class Closed(Exception):
    """The model was unloaded (or the server is stopping) before this request ran."""


class JobFuture(Future):
    """A request's future that can be abandoned: ``abandon()`` cancels it while queued and, once running, asks
    its computation to stop at the next decoding step (``engine.stop_signal``); nothing new starts for it."""

    def __init__(self) -> None:
        super().__init__()
        self.abandoned = threading.Event()

    def abandon(self) -> None:
        self.abandoned.set()
        self.cancel()


@dataclass
class _Job:
    items: list[Any]
    future: JobFuture = field(default_factory=JobFuture)
    call: Callable[[], Any] | None = None  # a job run alone (a streamed reply), not merged into a batch
    predict: Callable[[list[Any]], list[Any]] | None = None  # what its items go to; None: the batcher's predict


_STOP = None  # the sentinel that wakes a worker blocked on an empty queue when the batcher closes


class MicroBatcher:
    def __init__(self, name: str, predict: Callable[[list[Any]], list[Any]], max_batch_size: int = 32,
                 max_wait_s: float = 0.005, queue_size: int = 256,
                 on_batch: Callable[[int], None] | None = None) -> None:
        if max_batch_size < 1 or queue_size < 1:
            raise ValueError("max_batch_size and queue_size must be at least 1")
        self.name = name
        self.predict = predict  # public: tests and tools wrap it to observe the calls
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self._on_batch = on_batch
        self._carry: _Job | None = None  # taken from the queue but too big for the batch it came to: next one's
        self._closing = threading.Event()
        self._put_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"tuneforge-serve-{name}", daemon=True)
        self._thread.start()

    def submit(self, items: list[Any], predict: Callable[[list[Any]], list[Any]] | None = None) -> Future:
        """Queue one request's items; the future resolves to their predictions (a list, in order). ``predict``:
        the function they go to instead of the batcher's (merged only with requests for an equal one)."""
        return self._put(_Job(list(items), predict=predict))

    def submit_call(self, call: Callable[[], Any]) -> Future:
        """Queue ``call()`` to run alone on the worker thread (it counts as one item); the future gets its result."""
        return self._put(_Job([None], call=call))

    def _put(self, job: _Job) -> JobFuture:
        # Under the lock close() takes to set the flag: a job is either in the queue before the flag is set (and
        # the worker fails it when it drains the queue) or refused here, never put after the drain.
        with self._put_lock:
            if self._closing.is_set():
                raise Closed(f"model '{self.name}' is being unloaded")
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull(f"model '{self.name}' has {self._queue.maxsize} requests waiting") from None
        return job.future

    def depth(self) -> int:
        """Requests waiting (not yet in a running batch)."""
        return self._queue.qsize() + (self._carry is not None)

    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closing.is_set()

    def close(self, wait_s: float | None = None) -> None:
        """Stop taking requests; those still waiting fail with ``Closed``; the running batch finishes."""
        with self._put_lock:
            self._closing.set()
        with contextlib.suppress(queue.Full):  # a full queue: the worker sees the flag once its batch is done
            self._queue.put_nowait(_STOP)
        if wait_s is not None:
            self._thread.join(wait_s)

    # the worker thread ---------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._closing.is_set():
            first = self._carry if self._carry is not None else self._queue.get()
            self._carry = None
            if first is _STOP:
                continue
            if first.call is not None:
                self._run_alone(first)
                continue
            batch = self._gather(first)
            live = [job for job in batch if job.future.set_running_or_notify_cancel()]  # timed out: skipped
            if live:
                self._call(live)
        self._fail_waiting()

    def _gather(self, first: _Job) -> list[_Job]:
        batch, size = [first], len(first.items)
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:  # past the deadline, still take what is already waiting: under load batches fill at no cost
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                break
            if job.call is not None or job.predict != first.predict or size + len(job.items) > self.max_batch_size:
                self._carry = job
                break
            batch.append(job)
            size += len(job.items)
        return batch

    @staticmethod
    def _run_alone(job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():  # timed out while waiting: skipped
            return
        try:
            with stop_when(job.future.abandoned.is_set):
                job.future.set_result(job.call())
        except Exception as exc:
            job.future.set_exception(exc)

    def _call(self, batch: list[_Job]) -> None:
        batch = [job for job in batch if not job.future.abandoned.is_set()]  # nothing new starts for those
        if not batch:
            return
        items = [item for job in batch for item in job.items]
        if self._on_batch is not None:
            self._on_batch(len(items))
        try:
            # A merged batch stops (between decoding steps) only once every one of its requests is abandoned.
            with stop_when(lambda: all(job.future.abandoned.is_set() for job in batch)):
                results = (batch[0].predict or self.predict)(items)
            if len(results) != len(items):
                raise RuntimeError(f"predict returned {len(results)} results for {len(items)} inputs")
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            for job in batch:  # find the request that failed it; the others still get their answers
                self._call([job])
            return
        start = 0
        for job in batch:
            if not job.future.done():
                job.future.set_result(results[start:start + len(job.items)])
            start += len(job.items)

    def _fail_waiting(self) -> None:
        waiting = [self._carry] if self._carry is not None else []
        while True:
            try:
                waiting.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for job in waiting:
            if job is not _STOP and job.future.set_running_or_notify_cancel():
                job.future.set_exception(Closed(f"model '{self.name}' was unloaded"))
