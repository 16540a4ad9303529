"""Hard negatives: for each training query, passages the model ranks high that are not its positive.

Mined once, before training, by the model as it starts (the pretrained encoder, or a fine-tuned one given
as ``model.name``: a second run then mines with the first's model, as ANCE and RocketQA iterate). The very
top non-positive is skipped: in real collections it is often a relevant passage nobody labelled.
"""

from __future__ import annotations

import numpy as np

from tuneforge.tasks.retrieval.index import exact_top_k


def mine_negatives(query_embeddings: np.ndarray, passage_embeddings: np.ndarray, gold: list[int], per_query: int,
                   depth: int, seed: int) -> list[list[int]]:
    """Per query, ``per_query`` passage indices drawn (seeded) from its top ``depth`` that are not its gold."""
    rng = np.random.default_rng(seed)
    top, _ = exact_top_k(passage_embeddings, query_embeddings, depth + 1)
    out = []
    for row, positive in zip(top, gold, strict=True):
        candidates = [int(i) for i in row if i != positive][1:depth]
        take = min(per_query, len(candidates))
        out.append(sorted(rng.choice(candidates, size=take, replace=False).tolist()) if take else [])
    return out
