"""Prometheus metrics in the text exposition format, written by hand (no prometheus_client dependency).

Only bounded label values are recorded: model names come from the loaded models (an unknown name in a URL is
counted as ``_unknown``), so a client cannot grow the metrics without bound by inventing names.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from tuneforge.serve.errors import ServeError

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)  # per bucket, not cumulative; made cumulative when written
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break
        self.total += 1
        self.sum += value


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # observed from the event loop and from the model worker threads
        self.requests: dict[tuple[str, str], int] = defaultdict(int)  # (model, status) -> count
        self.errors: dict[tuple[str, str], int] = defaultdict(int)  # (model, kind) -> count
        self.latency: dict[str, _Histogram] = {}
        self.batch_size: dict[str, _Histogram] = {}
        self.queue_depth: Callable[[], dict[str, int]] = dict  # read at scrape time from the batchers

    def request(self, model: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(model, str(status))] += 1
            self.latency.setdefault(model, _Histogram(LATENCY_BUCKETS)).observe(seconds)

    def error(self, model: str, kind: str) -> None:
        with self._lock:
            self.errors[(model, kind)] += 1

    @contextlib.asynccontextmanager
    async def counted(self, label: str) -> AsyncIterator[None]:
        """One request under ``label`` (a model, or ``_assist``): its status and latency, and the kind of its
        error (``ServeError.kind``: a 503 of a model being unloaded is not counted as overload)."""
        started, status = time.perf_counter(), 500
        try:
            yield
            status = 200
        except ServeError as exc:
            status = exc.status
            self.error(label, exc.kind)
            raise
        except Exception:
            self.error(label, "internal")
            raise
        finally:
            self.request(label, status, time.perf_counter() - started)

    def batch(self, model: str, items: int) -> None:
        with self._lock:
            self.batch_size.setdefault(model, _Histogram(BATCH_BUCKETS)).observe(items)

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP tuneforge_requests_total Prediction requests answered, by model and HTTP status.",
                     "# TYPE tuneforge_requests_total counter"]
            lines += [f'tuneforge_requests_total{{model="{_esc(m)}",status="{s}"}} {n}'
                      for (m, s), n in sorted(self.requests.items())]
            lines += ["# HELP tuneforge_errors_total Failed prediction requests, by model and kind.",
                      "# TYPE tuneforge_errors_total counter"]
            lines += [f'tuneforge_errors_total{{model="{_esc(m)}",kind="{k}"}} {n}'
                      for (m, k), n in sorted(self.errors.items())]
            lines += _histogram("tuneforge_request_seconds", "Prediction request latency in seconds.", self.latency)
            lines += _histogram("tuneforge_batch_size", "Items per model call (micro-batch size).", self.batch_size)
        lines += ["# HELP tuneforge_queue_depth Requests waiting for their model.",
                  "# TYPE tuneforge_queue_depth gauge"]
        lines += [f'tuneforge_queue_depth{{model="{_esc(m)}"}} {n}' for m, n in sorted(self.queue_depth().items())]
        return "\n".join(lines) + "\n"


def _histogram(name: str, help_text: str, by_model: dict[str, _Histogram]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for model, h in sorted(by_model.items()):
        label = f'model="{_esc(model)}"'
        running = 0
        for bound, count in zip(h.buckets, h.counts, strict=True):
            running += count
            lines.append(f'{name}_bucket{{{label},le="{bound:g}"}} {running}')
        lines += [f'{name}_bucket{{{label},le="+Inf"}} {h.total}', f"{name}_sum{{{label}}} {h.sum:.6f}",
                  f"{name}_count{{{label}}} {h.total}"]
    return lines


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
