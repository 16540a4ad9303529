"""A searchable collection: passages, their embeddings by one model, and the ways to search them.

- exact: every passage scored (a matrix product), up to about ``ANN_THRESHOLD`` passages;
- ann: FAISS's HNSW graph above that (recall against exact search is measured in benchmarks/ann_recall.py);
- bm25 (bm25s) and hybrid (dense and BM25 rankings fused by weighted reciprocal rank).

An index folder holds ``index.json`` (the model's fingerprint, sizes, kind), ``passages.jsonl``,
``embeddings.npy`` and, for ann, ``hnsw.faiss``. It is written to a temp folder and renamed, and it is refused
by a run whose model differs from the one that embedded it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tuneforge.errors import DataError
from tuneforge.tasks.retrieval.records import Passage

ANN_THRESHOLD = 100_000  # above this many passages, "auto" builds an HNSW graph
RRF_K = 60  # reciprocal rank fusion's constant (Cormack et al. 2009)
FORMAT = 1


def model_fingerprint(folder: str | Path) -> str:
    """A digest of a model folder's weights and configs: two models embed alike only if these agree."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.suffix in (".safetensors", ".json") and path.name != "report.json":
            digest.update(path.relative_to(folder).as_posix().encode())
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:32]


class PassageIndex:
    def __init__(self, passages: list[Passage], embeddings: np.ndarray, fingerprint: str, kind: str = "exact",
                 graph: Any = None) -> None:
        self.passages, self.embeddings, self.fingerprint, self.kind = passages, embeddings, fingerprint, kind
        self.graph = graph
        self._bm25 = None

    @classmethod
    def build(cls, passages: list[Passage], embeddings: np.ndarray, fingerprint: str, ann: str = "auto",
              hnsw_m: int = 32, ef_construction: int = 200) -> PassageIndex:
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        use_ann = ann == "hnsw" or (ann == "auto" and len(passages) > ANN_THRESHOLD)
        graph = _hnsw(embeddings, hnsw_m, ef_construction) if use_ann else None
        return cls(passages, embeddings, fingerprint, "hnsw" if use_ann else "exact", graph)

    # storage ----------------------------------------------------------------------------------
    def save(self, folder: str | Path, info: dict[str, Any] | None = None) -> None:
        """Write the index folder; ``info``: more keys for index.json (what a caller keys its reuse on)."""
        from tuneforge.util.atomic import atomic_dir

        with atomic_dir(folder) as tmp:
            np.save(tmp / "embeddings.npy", self.embeddings)
            with (tmp / "passages.jsonl").open("w", encoding="utf-8") as f:
                for p in self.passages:
                    f.write(json.dumps({"id": p.id, "text": p.text, **p.meta}, ensure_ascii=False) + "\n")
            if self.graph is not None:
                import faiss

                faiss.write_index(self.graph, str(tmp / "hnsw.faiss"))
            (tmp / "index.json").write_text(json.dumps(
                {"format": FORMAT, "kind": self.kind, "passages": len(self.passages),
                 "dimension": int(self.embeddings.shape[1]), "model_fingerprint": self.fingerprint, **(info or {})},
                indent=2) + "\n",
                encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path, fingerprint: str | None = None) -> PassageIndex:
        """The index in ``folder``; with ``fingerprint``, refused unless the same model embedded it."""
        from tuneforge.tasks.retrieval.records import read_passages

        folder = Path(folder)
        try:
            info = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{folder}: not a tuneforge index (index.json: {exc}); build one with "
                            "`tuneforge index RUN --input passages.jsonl --output INDEX`") from None
        if fingerprint is not None and info.get("model_fingerprint") != fingerprint:
            raise DataError(f"{folder}: the index was built with another model than this run's (model fingerprint "
                            f"{info.get('model_fingerprint')} != {fingerprint}); rebuild it with `tuneforge index`")
        embeddings = np.load(folder / "embeddings.npy", allow_pickle=False)
        passages = read_passages(str(folder / "passages.jsonl"))
        if len(passages) != len(embeddings):
            raise DataError(f"{folder}: {len(passages)} passages but {len(embeddings)} embeddings; rebuild the index")
        graph = None
        if info.get("kind") == "hnsw":
            import faiss

            graph = faiss.read_index(str(folder / "hnsw.faiss"))
        return cls(passages, embeddings, info.get("model_fingerprint", ""), info.get("kind", "exact"), graph)

    # search -----------------------------------------------------------------------------------
    def dense(self, queries: np.ndarray, k: int, ef_search: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosines) [queries, k] of the nearest passages, best first (ANN when the index has a graph)."""
        k = min(k, len(self.passages))
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self.graph is not None:
            self.graph.hnsw.efSearch = max(ef_search, k)
            scores, indices = self.graph.search(queries, k)
            return indices, scores
        return exact_top_k(self.embeddings, queries, k)

    def bm25(self):
        if self._bm25 is None:
            from tuneforge.tasks.retrieval.lexical import BM25

            self._bm25 = BM25([p.text for p in self.passages])
        return self._bm25

    def search(self, texts: Sequence[str], embeddings: np.ndarray | None, k: int, mode: str = "dense",
               hybrid_weight: float = 0.5) -> list[list[tuple[Passage, float]]]:
        """The top k passages of each query with their scores (cosine, BM25, or fused reciprocal rank)."""
        if mode == "bm25":
            indices, scores = self.bm25().search(texts, k)
        elif mode == "dense":
            indices, scores = self.dense(embeddings, k)
        else:
            depth = max(k, 100)
            dense_idx, _ = self.dense(embeddings, depth)
            lexical_idx, _ = self.bm25().search(texts, depth)
            indices, scores = fuse(dense_idx, lexical_idx, k, hybrid_weight)
        return [[(self.passages[i], float(s)) for i, s in zip(row, srow, strict=True) if i >= 0]
                for row, srow in zip(indices, scores, strict=True)]


def exact_top_k(matrix: np.ndarray, queries: np.ndarray, k: int, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Every row of ``matrix`` scored by dot product with each query; the top k, best first."""
    k = min(k, len(matrix))
    best_idx = np.zeros((len(queries), 0), dtype=np.int64)
    best = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(matrix), chunk):  # bounded memory however large the collection
        scores = queries @ matrix[start:start + chunk].T
        idx = np.argpartition(-scores, min(k, scores.shape[1]) - 1, axis=1)[:, :k] if scores.shape[1] > k \
            else np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
        best_idx = np.concatenate([best_idx, idx + start], axis=1)
        best = np.concatenate([best, np.take_along_axis(scores, idx, axis=1)], axis=1)
        if best.shape[1] > k:
            keep = np.argpartition(-best, k - 1, axis=1)[:, :k]
            best_idx, best = np.take_along_axis(best_idx, keep, 1), np.take_along_axis(best, keep, 1)
    order = np.argsort(-best, axis=1, kind="stable")
    return np.take_along_axis(best_idx, order, 1), np.take_along_axis(best, order, 1)


def fuse(dense: np.ndarray, lexical: np.ndarray, k: int, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted reciprocal rank fusion of two rankings per query: weight/(60+rank) + (1-weight)/(60+rank)."""
    rows, scores = [], []
    for d, b in zip(dense, lexical, strict=True):
        fused: dict[int, float] = {}
        for w, ranking in ((weight, d), (1 - weight, b)):
            for rank, i in enumerate(ranking, start=1):
                if i >= 0:
                    fused[int(i)] = fused.get(int(i), 0.0) + w / (RRF_K + rank)
        top = sorted(fused.items(), key=lambda x: -x[1])[:k]
        rows.append([i for i, _ in top] + [-1] * (k - len(top)))
        scores.append([s for _, s in top] + [0.0] * (k - len(top)))
    return np.asarray(rows, dtype=np.int64), np.asarray(scores, dtype=np.float32)


def _hnsw(embeddings: np.ndarray, m: int, ef_construction: int):
    import faiss

    graph = faiss.IndexHNSWFlat(embeddings.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = ef_construction
    graph.add(embeddings)
    return graph
