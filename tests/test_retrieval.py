"""Retrieval: ranking metrics, the in-batch loss, exact/ANN/BM25/hybrid search, a trained run indexed and
searched from the command line, and bad input named in one line with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import DATASETS

from tuneforge.cli import main
from tuneforge.tasks.retrieval.index import PassageIndex, exact_top_k, fuse
from tuneforge.tasks.retrieval.metrics import rank_of, ranking_scores
from tuneforge.tasks.retrieval.records import Passage


def xquad_pairs(n: int) -> tuple[list[dict], list[dict]]:
    """(query records, passages) from XQuAD-en: each question's paragraph is its positive."""
    data = json.loads((DATASETS / "xquad" / "xquad.en.json").read_text(encoding="utf-8"))["data"]
    queries, passages = [], []
    for article in data:
        for paragraph in article["paragraphs"]:
            pid = f"p{len(passages)}"
            passages.append({"id": pid, "text": paragraph["context"], "title": article.get("title", "")})
            for qa in paragraph["qas"][:1]:
                queries.append({"query": qa["question"], "positive_id": pid})
            if len(queries) >= n:
                return queries, passages
    return queries, passages


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def retrieval_config(tmp_path: Path, model: str, **options) -> Path:
    queries, passages = xquad_pairs(24)
    cfg = {"name": "r", "task": "retrieval", "model": {"name": model, "max_length": 64},
           "data": {"train": str(write_jsonl(tmp_path / "train.jsonl", queries[:16])),
                    "dev": str(write_jsonl(tmp_path / "dev.jsonl", queries[16:]))},
           "task_options": {"passages": str(write_jsonl(tmp_path / "passages.jsonl", passages)), **options},
           "training": {"epochs": 1, "batch_size": 8, "lr": 1e-3, "seed": 1, "progress": False},
           "output_dir": str(tmp_path / "runs")}
    path = tmp_path / "retrieval.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


# metrics and search ---------------------------------------------------------------------------
def test_ranking_scores_by_hand():
    scores = ranking_scores([1, 3, None, 12])
    assert scores["recall@1"] == 0.25 and scores["recall@5"] == 0.5 and scores["recall@100"] == 0.75
    assert scores["mrr@10"] == pytest.approx((1 + 1 / 3) / 4, abs=1e-4)
    assert scores["ndcg@10"] == pytest.approx((1 + 1 / np.log2(4)) / 4, abs=1e-4)
    assert rank_of(["a", "b", "c"], {"c", "z"}) == 3 and rank_of(["a"], {"z"}) is None


def test_exact_top_k_matches_a_full_sort_across_chunks():
    rng = np.random.default_rng(0)
    matrix, queries = rng.normal(size=(1000, 16)).astype(np.float32), rng.normal(size=(5, 16)).astype(np.float32)
    idx, scores = exact_top_k(matrix, queries, 7, chunk=128)
    expected = np.argsort(-(queries @ matrix.T), axis=1)[:, :7]
    assert (idx == expected).all()
    assert np.allclose(scores, np.take_along_axis(queries @ matrix.T, expected, 1))


def test_hnsw_finds_what_exact_search_finds():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = [Passage(str(i), f"p{i}") for i in range(len(vectors))]
    ann = PassageIndex.build(passages, vectors, "f", ann="hnsw")
    exact = PassageIndex.build(passages, vectors, "f", ann="exact")
    assert ann.kind == "hnsw" and exact.kind == "exact"
    queries = vectors[:50] + 0.1 * rng.normal(size=(50, 32)).astype(np.float32)
    a, _ = ann.dense(queries, 10)
    e, _ = exact.dense(queries, 10)
    overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, e, strict=True)])
    assert overlap >= 0.95


def test_reciprocal_rank_fusion_weights_the_rankings():
    dense, lexical = np.array([[0, 1, 2]]), np.array([[2, 1, 0]])
    assert fuse(dense, lexical, 3, 1.0)[0][0].tolist() == [0, 1, 2]
    assert fuse(dense, lexical, 3, 0.0)[0][0].tolist() == [2, 1, 0]
    assert fuse(np.array([[0, 1]]), np.array([[1, 3]]), 2, 0.5)[0][0].tolist() == [1, 0]  # in both lists: first


def test_bm25_ranks_the_passage_sharing_the_rare_words_first():
    passages = [Passage("a", "The cat sat on the mat."), Passage("b", "Quarterly revenue of the bank rose."),
                Passage("c", "Dogs bark at night.")]
    index = PassageIndex.build(passages, np.eye(3, dtype=np.float32), "f")
    hits = index.search(["what did the bank's revenue do"], None, 2, mode="bm25")
    assert hits[0][0][0].id == "b"


# the loss -------------------------------------------------------------------------------------
class FixedEmbeddings(torch.nn.Module):
    """embed() returns the rows of a fixed table picked by input_ids[:, 0]."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table

    def embed(self, input_ids, attention_mask):
        return torch.nn.functional.normalize(self.table[input_ids[:, 0]], dim=-1)


def test_a_positive_shared_by_two_queries_is_no_negative_of_either(tmp_path, tiny_model):
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.retrieval.task import Retrieval

    cfg = load_config(retrieval_config(tmp_path, tiny_model, symmetric=False))
    task = Retrieval(load_tokenizer(tiny_model), cfg)
    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.05]])  # queries 0 and 1 point at passage rows 0 / 1
    batch = {"input_ids": torch.tensor([[0], [0]]), "attention_mask": torch.ones(2, 1, dtype=torch.long),
             "passage_input_ids": torch.tensor([[2], [2]]), "passage_attention_mask": torch.ones(2, 1),
             "passage_keys": torch.tensor([7, 7])}  # both queries' positive is the same passage
    loss, n = task.compute_loss(FixedEmbeddings(table), batch)
    assert n == 2 and loss.item() == pytest.approx(0.0, abs=1e-6)  # without the mask: 2 * log 2
    batch["passage_keys"] = torch.tensor([7, 8])
    assert task.compute_loss(FixedEmbeddings(table), batch)[0].item() == pytest.approx(2 * np.log(2), abs=1e-4)


def test_training_steps_raise_the_training_queries_mrr(tmp_path, tiny_model):
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.retrieval.task import Retrieval

    cfg = load_config(retrieval_config(tmp_path, tiny_model))
    splits = Retrieval.load_splits(cfg)
    task = Retrieval.for_training(load_tokenizer(tiny_model), cfg, splits)
    torch.manual_seed(0)
    model = task.build_model(tiny_model, 0.0)
    train = splits["train"].examples
    before = task.evaluate(model, train)["mrr@10"]
    features = task.encode(train)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(15):
        loss, n = task.compute_loss(model, task.collate(features))
        optimizer.zero_grad()
        (loss / n).backward()
        optimizer.step()
    assert task.evaluate(model, train)["mrr@10"] > before + 0.2


# a run from the command line ------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    tmp = tmp_path_factory.mktemp("retrieval")
    config = retrieval_config(tmp, tiny_model, hard_negatives=2, mine_depth=5)
    assert main(["train", str(config)]) == 0
    run = next((tmp / "runs").iterdir())
    return tmp, config, run


def test_a_trained_run_reports_ranking_metrics_beside_the_untrained_model(trained):
    _, _, run = trained
    report = json.loads((run / "report.json").read_text())
    assert set(report["dev"]) >= {"mrr@10", "ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100"}
    assert report["dev"]["queries"] == 8 and report["dev"]["passages"] > 20
    assert "mrr@10" in report["zero_shot"]["dev"]


def test_index_then_predict_returns_the_exact_search_top_passages(trained, capsys):
    tmp, _, run = trained
    index = tmp / "index"
    assert main(["index", str(run), "--input", str(tmp / "passages.jsonl"), "--output", str(index)]) == 0
    assert json.loads((index / "index.json").read_text())["passages"] == len(
        (tmp / "passages.jsonl").read_text().splitlines())
    capsys.readouterr()
    query = json.loads((tmp / "dev.jsonl").read_text().splitlines()[0])["query"]
    assert main(["predict", str(run), query, "--index", str(index), "--set", "task_options.top_k=3"]) == 0
    answer = json.loads(capsys.readouterr().out)
    from tuneforge.runs.directory import load_run

    loaded = load_run(run)
    ranked, passages, top = loaded.task.rank(loaded.model, loaded.task.read(str(tmp / "dev.jsonl"), loaded.config)
                                             .examples[:1])
    assert [p["id"] for p in answer["passages"]] == [passages[i].id for i in top[0][:3]]
    assert answer["passages"][0]["title"]  # the passage's other fields travel with it
    assert main(["index", str(run), "--input", str(tmp / "passages.jsonl"), "--output", str(index)]) == 2


# bad input: one line, exit 2, nothing written -------------------------------------------------
@pytest.mark.parametrize(("lines", "message"), [
    ([{"id": "1", "text": "a"}, {"id": "1", "text": "b"}],
     "passages.jsonl:2: duplicate passage id '1' (first on line 1)"),
    ([{"id": "1", "text": "a"}, {"id": "2", "text": "  "}], "passages.jsonl:2: empty passage ('text' is blank)"),
])
def test_bad_passage_files_are_refused_by_line(trained, tmp_path, capsys, lines, message):
    _, _, run = trained
    bad = write_jsonl(tmp_path / "passages.jsonl", lines)
    assert main(["index", str(run), "--input", str(bad), "--output", str(tmp_path / "idx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(message) and len(err.splitlines()) == 1
    assert not any(p.name.startswith((".idx", "idx")) for p in tmp_path.iterdir())


def test_a_query_file_without_a_query_field(trained, tmp_path, capsys):
    _, _, run = trained
    bad = write_jsonl(tmp_path / "queries.jsonl", [{"question": "where?"}])
    assert main(["predict", str(run), "--input", str(bad), "--output", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert "queries.jsonl:1" in err and "'query'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.jsonl").exists()


def test_an_index_built_with_another_model_is_refused(trained, tmp_path, capsys, tiny_model):
    tmp, config, run = trained
    other_cfg = yaml.safe_load(config.read_text())
    other_cfg["training"]["seed"] = 2
    other_cfg["task_options"]["hard_negatives"] = 0
    other_cfg["output_dir"] = str(tmp_path / "runs")
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other_cfg))
    assert main(["train", str(tmp_path / "other.yaml")]) == 0
    other = next((tmp_path / "runs").iterdir())
    index = tmp_path / "index"
    assert main(["index", str(other), "--input", str(tmp / "passages.jsonl"), "--output", str(index)]) == 0
    capsys.readouterr()
    out = tmp_path / "answers.jsonl"
    assert main(["predict", str(run), "where?", "--index", str(index), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "built with another model than this run's" in err and len(err.splitlines()) == 1
    assert not out.exists()
