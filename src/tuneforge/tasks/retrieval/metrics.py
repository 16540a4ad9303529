"""Ranking metrics for one relevant passage per query (or several): recall@k, MRR@10 and nDCG@10.

``ranks`` is, per query, the 1-based rank of its first relevant passage (None: not retrieved in the depth
searched), so every metric here is exact for binary relevance with one relevant passage, as in MS MARCO and
the DSTC7 response selection; with several relevant passages recall@k counts a hit when any is in the top k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RECALL_AT = (1, 5, 10, 100)
METRIC_NAMES = ("mrr@10", "ndcg@10", *(f"recall@{k}" for k in RECALL_AT))


def ranking_scores(ranks: Sequence[int | None], relevant: Sequence[int] | None = None) -> dict[str, float]:
    """The metrics of METRIC_NAMES, averaged over queries. ``relevant``: each query's number of relevant
    passages (1 if not given), for nDCG's ideal ranking; ``ranks`` then lists each query's relevant ranks."""
    n = len(ranks)
    if not n:
        return {name: 0.0 for name in METRIC_NAMES} | {"queries": 0}
    scores = {f"recall@{k}": sum(r is not None and r <= k for r in ranks) / n for k in RECALL_AT}
    scores["mrr@10"] = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    scores["ndcg@10"] = sum(1 / math.log2(r + 1) for r in ranks if r is not None and r <= 10) / n
    return {k: round(v, 4) for k, v in scores.items()} | {"queries": n}


def rank_of(ranked_ids: Sequence[str], gold: set[str]) -> int | None:
    """The 1-based rank of the first gold id in ``ranked_ids``, or None."""
    return next((i + 1 for i, pid in enumerate(ranked_ids) if pid in gold), None)
