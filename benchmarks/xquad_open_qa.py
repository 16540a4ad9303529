"""Questions answered from documents, end to end on XQuAD English: retrieve the paragraph, then read the answer.

The split is examples/qa-xquad.yaml's, by article (``data.split: {dev: 0.15, test: 0.15, seed: 13}``): 33 train
articles, 7 dev, 8 test. The knowledge base is every paragraph of the 15 dev and test articles (the paragraphs
no model trained on); the test questions are scored, the dev questions tune the "I don't know" threshold.

- Retrieval, recall@1/5/10 of the question's own paragraph: BM25 (bm25s), the untrained bundled MiniLM, and a
  bi-encoder fine-tuned from it on the train articles' (question, paragraph) pairs (``retriever.yaml``, written
  by ``prepare``).
- Reading: a question-answering run trained on the train articles (examples/qa-xquad.yaml's recipe). EM/F1 of
  the reader given the gold paragraph, against retrieve-then-read: the fine-tuned retriever's top k paragraphs,
  the reader's most probable span across them (the document answers of the assistant do the same).
- The threshold: each dev question is asked twice, against the whole knowledge base (answerable) and against
  it without its own article (its answer is nowhere). Answering below the threshold scores 0 (an answerable
  question) or 1 (an unanswerable one, "I don't know"); answering above it scores the answer's F1 or 0. The
  threshold with the best dev mean is reported on test, scored the same way.

    .venv/bin/python benchmarks/xquad_open_qa.py prepare --work /tmp/xquad-open
    .venv/bin/tuneforge train /tmp/xquad-open/retriever.yaml
    .venv/bin/tuneforge train examples/qa-xquad.yaml --set output_dir=/tmp/xquad-open/runs --set name=reader
    .venv/bin/python benchmarks/xquad_open_qa.py score --work /tmp/xquad-open \
        --retriever /tmp/xquad-open/runs/retriever --reader /tmp/xquad-open/runs/reader

Writes benchmarks/results/xquad-open-qa.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, write_results  # noqa: E402

QA_CONFIG = REPO / "examples" / "qa-xquad.yaml"
KS = (1, 5, 10)


def splits() -> dict[str, list]:
    """train/dev/test QAExamples of examples/qa-xquad.yaml (paths there are relative to it)."""
    from tuneforge.config.loading import load_config
    from tuneforge.data.squad import load_qa_splits

    cfg = load_config(QA_CONFIG)
    return {name: result.examples for name, result in load_qa_splits(cfg.data, "1.1").items()}


def knowledge_base(data: dict[str, list]) -> list[dict[str, str]]:
    """The distinct paragraphs of the dev and test articles, in order: {"id", "text", "title"}."""
    seen: dict[str, dict[str, str]] = {}
    for name in ("dev", "test"):
        for e in data[name]:
            if e.context not in seen:
                seen[e.context] = {"id": f"p{len(seen)}", "text": e.context, "title": e.title}
    return list(seen.values())


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def prepare(work: Path, epochs: int) -> None:
    data = splits()
    work.mkdir(parents=True, exist_ok=True)
    write_jsonl(work / "train.jsonl", [{"query": e.question, "positive": e.context} for e in data["train"]])
    write_jsonl(work / "dev.jsonl", [{"query": e.question, "positive": e.context} for e in data["dev"]])
    write_jsonl(work / "passages.jsonl", knowledge_base(data))
    base = {"task": "retrieval", "model": {"name": "minilm", "max_length": 256}}
    (work / "retriever.yaml").write_text(yaml.safe_dump({
        **base, "name": "retriever", "data": {"train": "train.jsonl", "dev": "dev.jsonl"},
        "task_options": {"max_query_length": 64},
        "training": {"epochs": epochs, "lr": 3.0e-5, "batch_size": 32, "eval_batch_size": 64, "seed": 42,
                     "progress": False},
        "output_dir": str(work / "runs")}, sort_keys=False), encoding="utf-8")
    (work / "minilm.yaml").write_text(yaml.safe_dump({**base, "name": "minilm",
                                                      "task_options": {"fine_tune": False}}), encoding="utf-8")
    print(f"{len(data['train'])} train, {len(data['dev'])} dev, {len(data['test'])} test questions; "
          f"{len(knowledge_base(data))} knowledge-base paragraphs; wrote {work}")


def dense_rankings(run_path: str | Path, queries: dict[str, list[str]], passages: list[str]) -> dict[str, np.ndarray]:
    """Per split, the passage indices of each query, best first, by the run's (or config's) encoder (exact
    search); the passages are embedded once."""
    from tuneforge.runs.directory import load_run
    from tuneforge.tasks.retrieval.index import exact_top_k

    run = load_run(run_path)
    batching = run.config.eval_batching()
    p = run.task.embed(run.model, passages, False, **batching)
    return {split: exact_top_k(p, run.task.embed(run.model, q, True, **batching), len(passages))[0]
            for split, q in queries.items()}


def bm25_ranking(queries: list[str], passages: list[str]) -> np.ndarray:
    from tuneforge.tasks.retrieval.lexical import BM25

    return BM25(passages).search(queries, len(passages))[0]


def recalls(ranking: np.ndarray, gold: list[int]) -> dict[str, float]:
    ranks = [int(np.nonzero(row == g)[0][0]) + 1 for row, g in zip(ranking, gold, strict=True)]
    return {f"recall@{k}": round(float(np.mean([r <= k for r in ranks])), 4) for k in KS} | {
        "mrr@10": round(float(np.mean([1 / r if r <= 10 else 0.0 for r in ranks])), 4)}


class Reader:
    """A QA run's answers to (question, passage) pairs, each pair read once."""

    def __init__(self, path: str | Path) -> None:
        from tuneforge.runs.directory import load_run

        self.run = load_run(path)
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}

    def read(self, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
        todo = sorted({p for p in pairs if p not in self.cache})
        for pair, out in zip(todo, self.run.predict([{"question": q, "context": c} for q, c in todo]), strict=True):
            self.cache[pair] = out
        return [self.cache[p] for p in pairs]


def best_answers(reader: Reader, questions: list[str], tops: list[list[str]]) -> list[dict[str, Any]]:
    """Per question, the most probable span over its passages: {"answer", "score"} (score None: no span)."""
    reader.read([(q, c) for q, top in zip(questions, tops, strict=True) for c in top])
    out = []
    for q, top in zip(questions, tops, strict=True):
        answers = [a for a in reader.read([(q, c) for c in top]) if a["answer"] is not None]
        out.append(max(answers, key=lambda a: a["score"]) if answers else {"answer": None, "score": None})
    return out


def em_f1(answers: list[dict[str, Any]], examples: list) -> dict[str, float]:
    from tuneforge.tasks.question_answering.squad_metrics import squad_scores

    scores = squad_scores([[a.text for a in e.answers] for e in examples], [a["answer"] or "" for a in answers])
    return {"em": round(scores["exact_match"], 4), "f1": round(scores["f1"], 4)}


def per_question_f1(answers: list[dict[str, Any]], examples: list) -> list[float]:
    from tuneforge.tasks.question_answering.squad_metrics import f1

    return [max(f1(a["answer"] or "", g.text) for g in e.answers) if a["answer"] else 0.0
            for a, e in zip(answers, examples, strict=True)]


def utility(threshold: float, answerable: list[tuple[float | None, float]], unanswerable: list[float | None]) -> dict:
    """Mean score when answering only at or above ``threshold``: F1 or 0 (answerable), 1 for "I don't know"
    or 0 (unanswerable)."""
    said = [f if s is not None and s >= threshold else 0.0 for s, f in answerable]
    abstained = [s is None or s < threshold for s in unanswerable]
    return {"threshold": round(threshold, 4), "mean": round(float(np.mean(said + abstained)), 4),
            "answerable_f1": round(float(np.mean(said)), 4),
            "answerable_answered": round(float(np.mean([s is not None and s >= threshold for s, _ in answerable])), 4),
            "unanswerable_abstained": round(float(np.mean(abstained)), 4)}


def score(work: Path, retriever: str, reader_path: str | None, top_k: list[int], output: str,
          limit: int | None) -> None:
    data = splits()
    if limit:  # a quick check of the pipeline, not a result
        data = {name: examples[:limit] for name, examples in data.items()}
    kb = [json.loads(line) for line in (work / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [p["text"] for p in kb]
    index_of = {t: i for i, t in enumerate(texts)}
    results: dict[str, Any] = {"knowledge_base": len(kb), "questions": {n: len(data[n]) for n in data},
                               "retrieval": {}, "reading": {}, "note": "other jobs shared the 2-core machine"}
    questions = {split: [e.question for e in data[split]] for split in ("dev", "test")}
    gold = {split: [index_of[e.context] for e in data[split]] for split in ("dev", "test")}
    rankings: dict[str, dict[str, np.ndarray]] = {"dev": {}, "test": {}}
    for name, make in (("bm25", lambda: {s: bm25_ranking(q, texts) for s, q in questions.items()}),
                       ("fine-tuned", lambda: dense_rankings(retriever, questions, texts)),
                       ("minilm", lambda: dense_rankings(work / "minilm.yaml", questions, texts))):
        began = time.perf_counter()
        for split, ranking in make().items():
            rankings[split][name] = ranking
            results["retrieval"].setdefault(split, {})[name] = recalls(ranking, gold[split])
            print(split, name, results["retrieval"][split][name], flush=True)
        print(f"{name}: {time.perf_counter() - began:.0f}s", flush=True)

    if reader_path is None:
        write_results(output, results)
        print_tables(results)
        return
    reader = Reader(reader_path)
    chosen = {}
    for split in ("dev", "test"):
        examples = data[split]
        asked = questions[split]
        row = {"gold paragraph": em_f1(best_answers(reader, asked, [[e.context] for e in examples]), examples)}
        ranking = rankings[split]["fine-tuned"]
        for k in top_k:
            tops = [[texts[i] for i in r[:k]] for r in ranking]
            row[f"retrieve top {k} then read"] = em_f1(best_answers(reader, asked, tops), examples)
        results["reading"][split] = row
        print(split, json.dumps(row), flush=True)
        # the threshold: answerable (whole knowledge base) and unanswerable (without the question's article)
        k = results.setdefault("threshold_top_k", top_k[-1])
        answered = best_answers(reader, asked, [[texts[i] for i in r[:k]] for r in ranking])
        outside = [[texts[i] for i in r if kb[i]["title"] != e.title][:k] for r, e in zip(ranking, examples,
                                                                                          strict=True)]
        unanswered = best_answers(reader, asked, outside)
        chosen[split] = ([(a["score"], f) for a, f in zip(answered, per_question_f1(answered, examples),
                                                          strict=True)], [a["score"] for a in unanswered])
    candidates = sorted({0.0, 1.01, *(s for s, _ in chosen["dev"][0] if s is not None),
                         *(s for s in chosen["dev"][1] if s is not None)})
    best = max((utility(t, *chosen["dev"]) for t in candidates), key=lambda u: u["mean"])
    results["threshold"] = {"dev": best, "test": utility(best["threshold"], *chosen["test"]),
                            "test_always_answer": utility(0.0, *chosen["test"])}
    write_results(output, results)
    print_tables(results)


def print_tables(results: dict[str, Any]) -> None:
    print("\n| split | retriever | recall@1 | recall@5 | recall@10 | MRR@10 |\n|---|---|---:|---:|---:|---:|")
    for split, rows in results["retrieval"].items():
        for name, r in rows.items():
            print(f"| {split} | {name} | {r['recall@1']} | {r['recall@5']} | {r['recall@10']} | {r['mrr@10']} |")
    print("\n| split | reader input | EM | F1 |\n|---|---|---:|---:|")
    for split, rows in results["reading"].items():
        for name, r in rows.items():
            print(f"| {split} | {name} | {r['em']} | {r['f1']} |")
    if "threshold" in results:
        print("\nthreshold:", json.dumps(results["threshold"], indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stage", required=True)
    p = sub.add_parser("prepare", help="write the retriever's training data, configs and the knowledge base")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=1)
    s = sub.add_parser("score", help="retrieval recall, reading EM/F1 and the tuned threshold")
    s.add_argument("--work", type=Path, required=True)
    s.add_argument("--retriever", required=True, help="the fine-tuned retrieval run")
    s.add_argument("--reader", help="the question-answering run (without it: retrieval only)")
    s.add_argument("--top-k", type=int, nargs="+", default=[1, 3])
    s.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "xquad-open-qa.json"))
    s.add_argument("--limit", type=int, help="score only the first N questions of each split (a smoke test)")
    args = parser.parse_args()
    if args.stage == "prepare":
        prepare(args.work, args.epochs)
    else:
        score(args.work, args.retriever, args.reader, args.top_k, args.output, args.limit)


if __name__ == "__main__":
    main()
