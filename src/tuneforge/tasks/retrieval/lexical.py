"""BM25 over a collection, from bm25s (the lexical baseline, and the other half of hybrid search)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class BM25:
    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self._bm25s = bm25s
        self.size = len(texts)
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False),
                             show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every passage for one query, in collection order."""
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices [queries, k], scores [queries, k]) of the top k passages, best first."""
        k = min(k, self.size)
        rows = [self.scores(q) for q in queries]
        top = np.stack([_top(r, k) for r in rows]) if rows else np.zeros((0, k), dtype=np.int64)
        return top, np.stack([r[t] for r, t in zip(rows, top, strict=True)]) if rows else np.zeros((0, k))


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.argsort(-scores[part], kind="stable")]
