"""Load on ``tuneforge serve``: throughput and latency with and without micro-batching, and overload.

A real uvicorn process serves RUN on loopback; client threads (stdlib http.client, one keep-alive connection each)
post one short text per request in a closed loop for ``--seconds``:

1. ``--clients`` clients, micro-batching on (``--max-batch-size``, default 32);
2. the same with ``--max-batch-size 1`` (batching off): the throughput ratio is what batching buys;
3. overload: ``--overload-clients`` clients against ``--overload-queue`` waiting requests; counts 503s, while a
   separate thread asks /healthz every 0.1 s (how many answered 200, and their worst latency).

The server's peak RSS (VmHWM from /proc) is read before each server stops.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/serve_load.py RUN --seconds 15

Writes benchmarks/results/serve_load.json (``--output``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from common import write_results  # noqa: E402

WORDS = ("Alice", "Bob", "Paris", "London", "Acme", "Google", "meets", "visits", "works", "at", "in", "the", "new",
         "office", "today", "with", "friends", "from", "New", "York", "and", "Berlin", "during", "a", "long", "trip")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, run: str, batch: int, queue: int, timeout_s: float) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "tuneforge", "serve", run, "--port", str(self.port), "--log-level", "warning",
                   "--max-batch-size", str(batch), "--queue-size", str(queue), "--timeout-s", str(timeout_s)]
        self.proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.model = Path(run.rstrip("/")).name
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if get(self.port, "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit("server not ready after 180 s")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def get(port: int, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def client(port: int, model: str, stop: threading.Event, seed: int, out: list) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    path = f"/v1/models/{model}/predict"
    while not stop.is_set():
        body = json.dumps({"inputs": [" ".join(rng.choices(WORDS, k=rng.randint(5, 15)))]})
        started = time.perf_counter()
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0  # connection refused or reset: a failure the server must not cause
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        out.append((status, time.perf_counter() - started))
        if status == 503:
            stop.wait(0.05)  # a polite client backs off (Retry-After is 1 s; shorter keeps the pressure on)
    conn.close()


def health_probe(port: int, stop: threading.Event, out: list) -> None:
    while not stop.is_set():
        try:
            out.append(get(port, "/healthz"))
        except OSError:
            out.append((0, 10.0))
        stop.wait(0.1)


def phase(server: Server, clients: int, seconds: float) -> dict:
    stop = threading.Event()
    results: list = []
    health: list = []
    threads = [threading.Thread(target=client, args=(server.port, server.model, stop, i, results))
               for i in range(clients)]
    threads.append(threading.Thread(target=health_probe, args=(server.port, stop, health)))
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ok = sorted(latency for status, latency in results if status == 200)
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1

    def pct(p: float) -> float | None:
        return round(ok[min(len(ok) - 1, int(p * len(ok)))] * 1000, 1) if ok else None

    return {"clients": clients, "seconds": round(wall, 1), "requests": len(results), "ok": len(ok),
            "ok_per_s": round(len(ok) / wall, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99), "statuses": statuses,
            "failures": sum(n for s, n in statuses.items() if s not in ("200", "503")),
            "health_checks": len(health), "health_ok": sum(1 for s, _ in health if s == 200),
            "health_worst_ms": round(max((lat for _, lat in health), default=0) * 1000, 1),
            "server_peak_rss_mb": round(server.peak_rss_mb(), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="a finished run directory (e.g. a token-classification run)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--overload-clients", type=int, default=96)
    parser.add_argument("--overload-queue", type=int, default=16)
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "serve_load.json"))
    args = parser.parse_args()

    rows = {}
    for label, batch, queue, clients in (("batching on", args.max_batch_size, 256, args.clients),
                                         ("batching off", 1, 256, args.clients),
                                         ("overload", args.max_batch_size, args.overload_queue, args.overload_clients)):
        server = Server(args.run, batch, queue, timeout_s=30)
        try:
            rows[label] = {"max_batch_size": batch, "queue_size": queue, **phase(server, clients, args.seconds)}
        finally:
            server.stop()
        print(f"{label}: {json.dumps(rows[label])}", file=sys.stderr, flush=True)
    on, off = rows["batching on"]["ok_per_s"], rows["batching off"]["ok_per_s"]
    result = {"run": args.run, "cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "rows": rows, "throughput_ratio_batching": round(on / off, 2) if off else None}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    write_results(args.output, result)
    print("| phase | clients | batch | queue | ok/s | p50 ms | p99 ms | 503 | failures | /healthz ok | "
          "/healthz worst ms | server peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in rows.items():
        print(f"| {label} | {r['clients']} | {r['max_batch_size']} | {r['queue_size']} | {r['ok_per_s']} | "
              f"{r['p50_ms']} | {r['p99_ms']} | {r['statuses'].get('503', 0)} | {r['failures']} | "
              f"{r['health_ok']}/{r['health_checks']} | {r['health_worst_ms']} | {r['server_peak_rss_mb']} |")
    print(f"\nthroughput with batching / without: {result['throughput_ratio_batching']}x")


if __name__ == "__main__":
    main()
