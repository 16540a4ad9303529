"""Inference: tuneforge predict vs the Hugging Face token-classification pipeline, same model and inputs.

Batched throughput over the WNUT-17 test texts (the pipeline at each batch size tried, its best
reported) and batch-1 latency (p50/p99) for a 20-token sentence. Both return entity spans with
character offsets (pipeline: aggregation_strategy="simple").

    .venv/bin/python benchmarks/inference.py

Writes benchmarks/results/inference.json and prints a markdown table.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WNUT = REPO.parent / "shared" / "datasets" / "wnut17"
SENTENCE_20 = "Justin Bieber and Selena Gomez were seen at Madison Square Garden in New York on Friday night , fans say"


def texts_from_conll(path: Path) -> list[str]:
    from tuneforge.config.schema import DataConfig
    from tuneforge.data.loading import read_tagged

    return [" ".join(s.tokens) for s in read_tagged(str(path), DataConfig(train=str(path))).examples]


def timed(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def latency(fn, n: int = 200) -> dict:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 2), "p99_ms": round(samples[int(0.99 * (n - 1))], 2)}


def main() -> None:
    import argparse

    import torch
    from transformers import pipeline

    import tuneforge

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-sizes", default="1,8,32,64", help="pipeline batch sizes to try")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="tuneforge config overrides")
    p.add_argument("--rounds", type=int, default=0,
                   help="then alternate one pipeline pass (its best batch size) and one predict pass this many "
                        "times, and report the median of each: steadier on a shared machine")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-infer-"))
    run_dir = tuneforge.train(REPO / "examples" / "ner-wnut17.yaml", ["training.max_steps=2", "data.dev=null",
                              "data.test=null", f"output_dir={work}", *args.overrides])
    run = tuneforge.load_run(run_dir)
    texts = texts_from_conll(WNUT / "emerging.test.annotated")
    words = sum(len(t.split()) for t in texts)
    assert len(SENTENCE_20.split()) == 20
    threads = torch.get_num_threads()

    pipe = pipeline("token-classification", model=str(run_dir / "model"), aggregation_strategy="simple",
                    device="cpu")
    pipe_rows = {}
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        seconds = timed(lambda bs=batch_size: pipe(texts, batch_size=bs), repeats=2)  # best of 2, as ours
        pipe_rows[batch_size] = round(len(texts) / seconds, 1)
    best_bs = max(pipe_rows, key=pipe_rows.get)
    ours = round(len(texts) / timed(lambda: run.predict(texts), repeats=2), 1)
    interleaved = None
    if args.rounds:
        pairs = [(timed(lambda: pipe(texts, batch_size=best_bs)), timed(lambda: run.predict(texts)))
                 for _ in range(args.rounds)]
        pipe_s, ours_s = (statistics.median(x) for x in zip(*pairs, strict=True))
        interleaved = {"rounds": args.rounds, "pipeline_texts_per_s": round(len(texts) / pipe_s, 1),
                       "tuneforge_texts_per_s": round(len(texts) / ours_s, 1), "ratio": round(pipe_s / ours_s, 2),
                       "ratios_per_round": [round(a / b, 2) for a, b in pairs]}
    result = {
        "args": vars(args), "texts": len(texts), "words": words, "threads": threads,
        "pipeline_texts_per_s_by_batch_size": pipe_rows,
        "pipeline_best": {"batch_size": best_bs, "texts_per_s": pipe_rows[best_bs]},
        "tuneforge_texts_per_s": ours,
        "throughput_ratio": round(ours / pipe_rows[best_bs], 2),
        "interleaved": interleaved,
        "latency_20_tokens": {
            "tuneforge": latency(lambda: run.predict([SENTENCE_20])),
            "pipeline": latency(lambda: pipe(SENTENCE_20)),
        },
    }
    out = REPO / "benchmarks" / "results" / "inference.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(texts)} WNUT-17 test texts ({words} words), {threads} threads\n")
    print("| system | texts/s | ratio | batch-1 p50 ms (20 tokens) | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    lt = result["latency_20_tokens"]
    print(f"| HF pipeline (best batch_size={best_bs}) | {pipe_rows[best_bs]} | 1.00x | "
          f"{lt['pipeline']['p50_ms']} | {lt['pipeline']['p99_ms']} |")
    print(f"| tuneforge predict | {ours} | {result['throughput_ratio']:.2f}x | "
          f"{lt['tuneforge']['p50_ms']} | {lt['tuneforge']['p99_ms']} |")
    print(f"\npipeline texts/s by batch size: {pipe_rows}")
    if interleaved:
        print(f"interleaved, {args.rounds} rounds, medians: pipeline {interleaved['pipeline_texts_per_s']} texts/s, "
              f"tuneforge {interleaved['tuneforge_texts_per_s']} texts/s, ratio {interleaved['ratio']:.2f}x "
              f"(per round: {interleaved['ratios_per_round']})")


if __name__ == "__main__":
    main()
