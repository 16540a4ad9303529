"""Reply selection on SGD (the DSTC7 protocol): rank the true next system turn among 100 candidates of the same
service — the true one and 99 other system turns of that service from the same split — given the conversation
so far. Reports recall@1 and recall@10 of 100 for BM25 (bm25s), the untrained MiniLM, a fine-tuned bi-encoder
(a tuneforge retrieval run) and that bi-encoder with a cross-encoder re-ranker on its top 10.

    python -m tuneforge.assistant.reply_pairs ../shared/datasets/sgd data/sgd-replies   # train/dev pairs
    tuneforge train examples/retrieval-sgd-replies.yaml                           # the bi-encoder
    python benchmarks/reply_selection.py rerank-pairs --run runs/retrieval-sgd-replies --out data/sgd-rerank
    tuneforge train benchmarks/configs/reranker-sgd-replies.yaml                  # the cross-encoder
    python benchmarks/reply_selection.py score --run runs/retrieval-sgd-replies --reranker runs/reranker-sgd-replies

Contexts read newest first (the current user turn, then the system turn before it, ...), so a length cut drops
the oldest turns. Candidates with the true reply's exact text are not drawn (SGD repeats "Anything else?").
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tuneforge.assistant.reply_pairs import reply_pairs, spread  # noqa: E402

SGD = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sgd"
CANDIDATES = 100


def candidate_sets(pairs: list[dict], n_queries: int, seed: int) -> tuple[list[dict], list[list[str]]]:
    """n_queries pairs and, for each, 100 candidate replies: the true one first, then 99 of its service."""
    rng = random.Random(seed)
    by_service: dict[str, list[str]] = {}
    for p in pairs:
        by_service.setdefault(p["service"], []).append(p["positive"])
    chosen = spread(pairs, n_queries)
    sets = []
    for p in chosen:
        pool = [r for r in by_service[p["service"]] if r != p["positive"]]
        sets.append([p["positive"], *rng.sample(pool, CANDIDATES - 1)])
    return chosen, sets


def recall(scores: list[np.ndarray]) -> dict[str, float]:
    """recall@1/10 of 100 with the true candidate at index 0 (ties broken against it)."""
    ranks = [int((s[1:] >= s[0]).sum()) + 1 for s in scores]
    return {"recall@1": round(float(np.mean([r <= 1 for r in ranks])), 4),
            "recall@10": round(float(np.mean([r <= 10 for r in ranks])), 4),
            "mrr": round(float(np.mean([1 / r for r in ranks])), 4), "queries": len(ranks)}


def bm25_scores(queries: list[dict], sets: list[list[str]]) -> list[np.ndarray]:
    import bm25s

    out = []
    for q, cands in zip(queries, sets, strict=True):
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(cands, stopwords="en", show_progress=False), show_progress=False)
        tokens = bm25s.tokenize([q["query"]], stopwords="en", show_progress=False, return_ids=False)[0]
        out.append(np.asarray(retriever.get_scores(tokens)))
    return out


def dense_scores(task, model, queries: list[dict], sets: list[list[str]]) -> list[np.ndarray]:
    texts = sorted({c for s in sets for c in s})
    position = {t: i for i, t in enumerate(texts)}
    passages = task.embed(model, texts, False, batch_size=128)
    q = task.embed(model, [x["query"] for x in queries], True, batch_size=64)
    return [passages[[position[c] for c in s]] @ q[i] for i, s in enumerate(sets)]


def rerank_scores(reranker, queries, sets, dense: list[np.ndarray], top: int = 10) -> list[np.ndarray]:
    """The re-ranker's score on the bi-encoder's top ``top`` (placed above the rest, whose order stays)."""
    from tuneforge.api import predict

    out = []
    for q, cands, d in zip(queries, sets, dense, strict=True):
        order = np.argsort(-d)[:top]
        answers = predict(reranker, [[q["query"], cands[i]] for i in order])  # a text pair: [text, text_pair]
        s = d - d.max() - 10.0  # below every re-ranked candidate
        for i, a in zip(order, answers, strict=True):
            s[i] = next(x["probability"] for x in a["top_k"] if x["label"] == "match") if "top_k" in a \
                else (a["probability"] if a["label"] == "match" else 1 - a["probability"])
        out.append(s)
    return out


def write_rerank_pairs(args) -> None:
    """Train queries (not the ones the bi-encoder's own dev used) with their reply and its hardest rivals."""
    from tuneforge.runs.directory import load_run

    run = load_run(args.run)
    pairs = reply_pairs(SGD / "train.jsonl")
    chosen = spread(pairs[1::2], args.queries)  # odd positions: mostly not the bi-encoder's 20,000 spread pairs
    rows = []
    by_service: dict[str, list[str]] = {}
    for p in pairs:
        by_service.setdefault(p["service"], []).append(p["positive"])
    rng = random.Random(7)
    for service in sorted({p["service"] for p in chosen}):
        group = [p for p in chosen if p["service"] == service]
        pool = sorted(set(by_service[service]))
        pool = rng.sample(pool, min(len(pool), args.pool))
        embedded = run.task.embed(run.model, pool, False, batch_size=128)
        queries = run.task.embed(run.model, [p["query"] for p in group], True, batch_size=64)
        for p, q in zip(group, queries, strict=True):
            order = np.argsort(-(embedded @ q))
            rivals = [pool[i] for i in order[:args.negatives + 5] if pool[i] != p["positive"]][:args.negatives]
            rows.append({"text": p["query"], "text_pair": p["positive"], "label": "match"})
            rows += [{"text": p["query"], "text_pair": r, "label": "other"} for r in rivals]
        print(f"{service}: {len(group)} queries", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dev_queries = set(rng.sample(sorted({r["text"] for r in rows}), len(chosen) // 10))  # dev by whole query
    rng.shuffle(rows)
    parts = {"train": [r for r in rows if r["text"] not in dev_queries],
             "dev": [r for r in rows if r["text"] in dev_queries]}
    for name, part in parts.items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in part)
    print(f"{len(parts['train'])} train and {len(parts['dev'])} dev pairs in {out}")


def reply_facts(path: Path) -> tuple[dict, dict]:
    """Per system reply text: its dialogue acts (act, slot) and its values; per (dialogue, turn): what was said
    before the reply (all turns) and the rows the service returned up to it, lower-cased."""
    facts, said = {}, {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            for i, turn in enumerate(d["turns"]):
                if turn["speaker"] != "system" or i == 0:
                    continue
                acts = [a for frame in turn["frames"] for a in frame["acts"]]
                facts[" ".join(turn["text"].split())] = (
                    tuple(sorted((a["act"], a.get("slot", "")) for a in acts)),
                    frozenset(v.lower() for a in acts for v in a.get("values", [])))
                rows = [frame.get("service_results", []) for t in d["turns"][:i + 1] for frame in t["frames"]]
                said[(d["id"], i)] = (" ".join(t["text"] for t in d["turns"][:i]).lower(), json.dumps(rows).lower())
    return facts, said


def ceiling(queries: list[dict], sets: list[list[str]], facts: dict, said: dict) -> dict[str, dict]:
    """What no ranker of the conversation can beat: an oracle that knows the true reply's acts and slots and
    which of its values the evidence holds, then picks at random among the candidates it cannot tell apart
    (same acts and slots, the same values found in the evidence). Expected recall@1 = mean of 1/n, recall@10
    = mean of min(1, 10/n), n counting the true reply."""
    def known(text: str, evidence: str | None) -> tuple:
        acts, values = facts[text]
        return acts if evidence is None else (acts, frozenset(v for v in values if v in evidence))

    out = {}
    for name in ("acts and slots", "+ values in the last four turns", "+ values anywhere in the conversation",
                 "+ values in the service's rows (not in the conversation)"):
        confusable = []
        for q, cands in zip(queries, sets, strict=True):
            before, rows = said[(q["dialogue"], q["turn"])]
            evidence = {"acts and slots": None, "+ values in the last four turns": q["query"].lower(),
                        "+ values anywhere in the conversation": before}.get(name, before + " " + rows)
            truth = known(cands[0], evidence)
            confusable.append(sum(known(c, evidence) == truth for c in cands))
        out[name] = {"recall@1": round(float(np.mean([1 / n for n in confusable])), 4),
                     "recall@10": round(float(np.mean([min(1.0, 10 / n) for n in confusable])), 4),
                     "median indistinguishable": float(np.median(confusable))}

    return out


def untrained(model_name: str = "minilm"):
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.retrieval.task import Retrieval

    cfg = load_config({"task": "retrieval", "model": {"name": model_name, "max_length": 128},
                       "data": {"train": "unused.jsonl"}, "task_options": {"max_query_length": 128}})
    task = Retrieval(load_tokenizer(model_name), cfg)
    model = task.build_model(model_name, None)
    model.eval()
    return task, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rerank-pairs", help="the re-ranker's training pairs: each train query's reply (match) and "
                       "the bi-encoder's top-ranked other replies of its service (other)")
    r.add_argument("--run", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--queries", type=int, default=3000)
    r.add_argument("--negatives", type=int, default=3)
    r.add_argument("--pool", type=int, default=1000, help="replies of a service the rivals are drawn from")
    c = sub.add_parser("ceiling", help="the recall an oracle of the acts and the values in the evidence reaches "
                       "(random among the candidates it cannot tell apart)")
    c.add_argument("--queries", type=int, default=1000)
    c.add_argument("--seed", type=int, default=13)
    c.add_argument("--out", default="benchmarks/results/reply_selection-ceiling.json")
    s = sub.add_parser("score")
    s.add_argument("--run", help="a fine-tuned retrieval run")
    s.add_argument("--reranker", help="a sequence-classification text-pair run (labels match / other)")
    s.add_argument("--queries", type=int, default=1000)
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--out", default="benchmarks/results/reply_selection.json")
    args = parser.parse_args()
    if args.command == "rerank-pairs":
        write_rerank_pairs(args)
        return
    dev_pairs = reply_pairs(SGD / "dev.jsonl")
    queries, sets = candidate_sets(dev_pairs, args.queries, args.seed)
    if args.command == "ceiling":
        table = ceiling(queries, sets, *reply_facts(SGD / "dev.jsonl"))
        Path(args.out).write_text(json.dumps({"protocol": f"{CANDIDATES} candidates of the same service, SGD dev, "
                                              f"{args.queries} queries, seed {args.seed}", "oracles": table},
                                             indent=2) + "\n")
        for name, row in table.items():
            print(f"| {name} | {row['recall@1']:.3f} | {row['recall@10']:.3f} | {row['median indistinguishable']:g} |")
        return
    results: dict[str, dict] = {}
    t = time.perf_counter()
    results["bm25"] = recall(bm25_scores(queries, sets)) | {"seconds": round(time.perf_counter() - t, 1)}
    print("bm25", results["bm25"], flush=True)
    task, model = untrained()
    t = time.perf_counter()
    results["minilm (untrained)"] = recall(dense_scores(task, model, queries, sets)) | {
        "seconds": round(time.perf_counter() - t, 1)}
    print("minilm", results["minilm (untrained)"], flush=True)
    if args.run:
        from tuneforge.runs.directory import load_run

        run = load_run(args.run)
        t = time.perf_counter()
        dense = dense_scores(run.task, run.model, queries, sets)
        results["bi-encoder (fine-tuned)"] = recall(dense) | {"seconds": round(time.perf_counter() - t, 1),
                                                             "run": str(args.run)}
        print("fine-tuned", results["bi-encoder (fine-tuned)"], flush=True)
        if args.reranker:
            from tuneforge.runs.directory import load_run as load

            t = time.perf_counter()
            results["bi-encoder + re-ranker (top 10)"] = recall(
                rerank_scores(load(args.reranker), queries, sets, dense)) | {
                "seconds": round(time.perf_counter() - t, 1), "run": str(args.reranker)}
            print("reranked", results["bi-encoder + re-ranker (top 10)"], flush=True)
    Path(args.out).write_text(json.dumps({"protocol": f"{CANDIDATES} candidates of the same service, SGD dev, "
                                          f"{args.queries} queries spread over the split, seed {args.seed}",
                                          "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
