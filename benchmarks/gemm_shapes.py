"""GFLOP/s of the GEMMs in a MiniLM training step (batch 32 x 30 tokens) with PyTorch's BLAS (MKL) and
with NumPy's (OpenBLAS): is there a faster matmul library for this CPU?

Each library runs in its own process, alternated ``--rounds`` times: in one process the two thread
pools (OpenMP and OpenBLAS's own) spin-wait on each other and both look half as fast.

    .venv/bin/python benchmarks/gemm_shapes.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

M = 960  # 32 sentences x 30 tokens
SHAPES = ((384, 1536), (1536, 384), (384, 384))  # (in, out) of MiniLM's FFN up, FFN down, attention projections


def _products(k: int, n: int) -> dict[str, tuple]:
    """One linear layer's three GEMMs (forward, input gradient, weight gradient), each library's way."""
    import numpy as np
    import torch

    x, w, g = torch.randn(M, k), torch.randn(n, k), torch.randn(M, n)
    y, gx, gw = torch.empty(M, n), torch.empty(M, k), torch.empty(n, k)
    xn, wn, gn, yn, gxn, gwn = (t.numpy() for t in (x, w, g, y, gx, gw))
    return {
        "fwd": (lambda: torch.mm(x, w.t(), out=y), lambda: np.matmul(xn, wn.T, out=yn)),
        "grad_in": (lambda: torch.mm(g, w, out=gx), lambda: np.matmul(gn, wn, out=gxn)),
        "grad_w": (lambda: torch.mm(g.t(), x, out=gw), lambda: np.matmul(gn.T, xn, out=gwn)),
    }


def one_library(library: str) -> dict[str, float]:
    import torch

    torch.set_num_threads(2)
    result = {}
    for k, n in SHAPES:
        for name, (with_torch, with_numpy) in _products(k, n).items():
            run = with_torch if library == "torch" else with_numpy
            run()
            times = []
            for _ in range(10):
                start = time.perf_counter()
                for _ in range(5):
                    run()
                times.append((time.perf_counter() - start) / 5)
            result[f"{k}x{n} {name}"] = 2 * M * k * n / statistics.median(times) / 1e9
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--child", choices=("torch", "numpy"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(one_library(args.child)))
        return
    runs: dict[str, list[dict[str, float]]] = {"torch": [], "numpy": []}
    for _ in range(args.rounds):
        for library in runs:
            out = subprocess.run([sys.executable, __file__, "--child", library], check=True, capture_output=True,
                                 text=True).stdout
            runs[library].append(json.loads(out))
    print("| GEMM (M=960) | PyTorch / MKL GFLOP/s | NumPy / OpenBLAS GFLOP/s | ratio |\n|---|---:|---:|---:|")
    for key in runs["torch"][0]:
        mkl = statistics.median(r[key] for r in runs["torch"])
        openblas = statistics.median(r[key] for r in runs["numpy"])
        print(f"| {key} | {mkl:.0f} | {openblas:.0f} | {openblas / mkl:.2f}x |")


if __name__ == "__main__":
    main()
