"""ANN against exact search on a collection of 100k+ real passages: recall@10, query latency, memory, build time.

The collection: the distinct turn texts of SGD train (user and system turns, in file order) up to
``--passages``; the queries: ``--queries`` distinct SGD dev user turns that are not in the collection (a fixed
seeded sample). Both embedded by the bundled MiniLM as an untrained retrieval config embeds them
(``task_options.fine_tune: false``, ``tuneforge index`` does the same), cached in ``--cache`` (outside the
repo; chunks of 10k, so an interrupted run resumes).

Measured, both through ``PassageIndex``: exact search (``ann="exact"``: a chunked matrix product) and FAISS
HNSW (``ann="hnsw"``) at each ``--m``, over ``--ef-search`` values: recall@10 of the HNSW top 10 against the
exact top 10; query latency at batch 1 (p50 and p95 over the queries, search only: embedding the query is
the same for both); memory (the embeddings matrix for exact; FAISS's serialized graph, which holds its own copy
of the vectors, for HNSW); build time. Exact and HNSW queries are interleaved per query, so a shared machine
slows both alike.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python benchmarks/ann_recall.py --cache /tmp/tuneforge-ann

Writes benchmarks/results/ann-recall.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, write_results  # noqa: E402

SGD = REPO.parent / "shared" / "datasets" / "sgd"
CHUNK = 10_000


def turn_texts(path: Path, speakers: tuple[str, ...]) -> list[str]:
    seen: dict[str, None] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            for turn in json.loads(line)["turns"]:
                if turn["speaker"] in speakers and turn["text"].strip():
                    seen.setdefault(turn["text"], None)
    return list(seen)


def collection(n: int, n_queries: int, seed: int) -> tuple[list[str], list[str]]:
    passages = turn_texts(SGD / "train.jsonl", ("user", "system"))
    if len(passages) < n:
        sys.exit(f"SGD train has only {len(passages)} distinct turns (< --passages {n})")
    passages = passages[:n]
    known = set(passages)
    candidates = [t for t in turn_texts(SGD / "dev.jsonl", ("user",)) if t not in known]
    return passages, random.Random(seed).sample(candidates, n_queries)


def embedder(max_length: int):
    """(embed(texts, query) -> float32 [n, 384], model fingerprint): the bundled MiniLM as tuneforge index uses it."""
    import yaml

    from tuneforge.runs.directory import load_run
    from tuneforge.tasks.retrieval.index import model_fingerprint

    folder = Path(tempfile.mkdtemp(prefix="ann-config-"))
    config = folder / "minilm.yaml"
    config.write_text(yaml.safe_dump({"name": "minilm", "task": "retrieval",
                                      "model": {"name": "minilm", "max_length": max_length},
                                      "task_options": {"fine_tune": False}}), encoding="utf-8")
    run = load_run(config)
    return (lambda texts, query: run.task.embed(run.model, texts, query, batch_size=256),
            model_fingerprint(run.task.model_folder))


def cached_embeddings(texts: list[str], cache: Path, name: str, embed) -> np.ndarray:
    """Embeddings of ``texts``, computed in chunks of CHUNK and kept as .npy files in ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, len(texts), CHUNK):
        path = cache / f"{name}-{start:07d}-{min(start + CHUNK, len(texts)):07d}.npy"
        if not path.exists():
            began = time.perf_counter()
            block = embed(texts[start:start + CHUNK])
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, block)
            tmp.replace(path)
            print(f"embedded {name} {start + len(block)}/{len(texts)} ({time.perf_counter() - began:.0f}s)",
                  flush=True)
        parts.append(np.load(path))
    return np.concatenate(parts)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(passages: list[str], vectors: np.ndarray, queries: np.ndarray, fingerprint: str, m_values: list[int],
            ef_construction: int, ef_values: list[int], k: int) -> dict:
    import faiss

    from tuneforge.tasks.retrieval.index import PassageIndex
    from tuneforge.tasks.retrieval.records import Passage

    items = [Passage(str(i), t) for i, t in enumerate(passages)]
    exact = PassageIndex.build(items, vectors, fingerprint, ann="exact")
    truth, _ = exact.dense(queries, k)  # the reference top k (all queries in one product)
    out = {"exact": {"memory_mb": round(exact.embeddings.nbytes / 2**20, 1), "build_s": 0.0}, "hnsw": []}
    exact_latency = []
    for m in m_values:
        began = time.perf_counter()
        ann = PassageIndex.build(items, vectors, fingerprint, ann="hnsw", hnsw_m=m, ef_construction=ef_construction)
        build_s = time.perf_counter() - began
        memory_mb = faiss.serialize_index(ann.graph).nbytes / 2**20
        for ef in ef_values:
            found, latency = [], []
            for q in queries:
                row = q[None, :]
                began = time.perf_counter()
                exact.dense(row, k)
                exact_latency.append(time.perf_counter() - began)
                began = time.perf_counter()
                idx, _ = ann.dense(row, k, ef_search=ef)
                latency.append(time.perf_counter() - began)
                found.append(idx[0])
            recall = float(np.mean([len(set(a) & set(e)) / k for a, e in zip(found, truth, strict=True)]))
            row = {"m": m, "ef_construction": ef_construction, "ef_search": ef, f"recall@{k}": round(recall, 4),
                   "p50_ms": round(1000 * percentile(latency, 50), 3),
                   "p95_ms": round(1000 * percentile(latency, 95), 3),
                   "memory_mb": round(memory_mb, 1), "build_s": round(build_s, 1)}
            out["hnsw"].append(row)
            print(json.dumps(row), flush=True)
    out["exact"] |= {"p50_ms": round(1000 * percentile(exact_latency, 50), 3),
                     "p95_ms": round(1000 * percentile(exact_latency, 95), 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="a folder outside the repo for the embeddings")
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--m", type=int, nargs="+", default=[32])
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--embed-only", action="store_true", help="fill the cache and stop")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "ann-recall.json"))
    args = parser.parse_args()

    import faiss
    import torch

    passages, queries = collection(args.passages, args.queries, args.seed)
    embed, fingerprint = embedder(args.max_length)
    began = time.perf_counter()
    # the collection is the first N distinct turns: chunk i is the same for every N, so a larger N reuses a smaller's
    vectors = cached_embeddings(passages, args.cache, "sgd", lambda t: embed(t, False))
    query_vectors = cached_embeddings(queries, args.cache, f"dev-queries{args.queries}-s{args.seed}",
                                      lambda t: embed(t, True))
    print(f"embeddings ready: {vectors.shape} + {query_vectors.shape} ({time.perf_counter() - began:.0f}s)")
    if args.embed_only:
        return
    results = {"collection": f"SGD train distinct turn texts (first {len(passages)})",
               "queries": f"{len(queries)} SGD dev user turns not in the collection (seed {args.seed})",
               "model": "bundled MiniLM-L6 (untrained), max_length " + str(args.max_length),
               "dimension": int(vectors.shape[1]), "k": 10,
               "threads": {"faiss": faiss.omp_get_max_threads(), "torch": torch.get_num_threads()},
               "note": "latency is search only, batch 1; exact and HNSW queries interleaved; other jobs shared "
                       "the 2-core machine"}
    results |= measure(passages, vectors, query_vectors, fingerprint, args.m, args.ef_construction,
                       args.ef_search, 10)
    write_results(args.output, results)
    ex = results["exact"]
    print(f"\n| search | M | efSearch | recall@10 vs exact | p50 ms | p95 ms | memory MB | build s |\n"
          f"|---|---:|---:|---:|---:|---:|---:|---:|\n"
          f"| exact | | | 1.0000 | {ex['p50_ms']} | {ex['p95_ms']} | {ex['memory_mb']} | 0 |")
    for r in results["hnsw"]:
        print(f"| HNSW | {r['m']} | {r['ef_search']} | {r['recall@10']:.4f} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{r['memory_mb']} | {r['build_s']} |")


if __name__ == "__main__":
    main()
