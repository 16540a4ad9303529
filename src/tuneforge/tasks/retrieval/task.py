"""Retrieval: a bi-encoder fine-tuned on (query, passage) pairs with in-batch negatives (and, optionally,
hard negatives it mines itself), scored by recall@k, MRR@10 and nDCG@10 over a collection.

A batch of B queries is scored against its B positives and every hard negative: each query's positive is
its target and the rest are negatives (a positive shared by two queries is no negative of either). With
``symmetric``, each positive is also scored against the batch's queries. ``predict`` searches an index that
``tuneforge index`` built with the same model (``index.py``); without one, the configured passages file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from tuneforge.data.examples import ReadResult
from tuneforge.data.loading import load_splits
from tuneforge.errors import ConfigError, DataError
from tuneforge.tasks.base import TaskBase
from tuneforge.tasks.common.collate import padded_inputs
from tuneforge.tasks.retrieval.index import PassageIndex, exact_top_k, model_fingerprint
from tuneforge.tasks.retrieval.metrics import METRIC_NAMES, rank_of, ranking_scores
from tuneforge.tasks.retrieval.records import Passage, QueryExample, read_passages, read_queries, split_collection

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig

SEARCH_DEPTH = 100  # ranks beyond this count as not retrieved (recall@100 is the deepest metric)


@dataclass
class TextFeature:
    input_ids: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class PairFeature:
    query_ids: list[int]
    positive_ids: list[int]
    positive_key: int  # the positive's text identity: two queries sharing it are not each other's negatives
    negative_ids: list[list[int]] = field(default_factory=list)
    negative_keys: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.query_ids) + len(self.positive_ids) + sum(len(n) for n in self.negative_ids)


class Retrieval(TaskBase):
    name = "retrieval"

    def __init__(self, tokenizer, cfg: RunConfig, model_folder: str | Path | None = None) -> None:
        self.tokenizer, self.cfg, self.options = tokenizer, cfg, cfg.task_options
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.model_folder = model_folder  # whose weights an index must have been built with
        self._collection: list[Passage] | None = None
        self._index: PassageIndex | None = None

    # data -------------------------------------------------------------------------------------
    @staticmethod
    def read(path: str, cfg: RunConfig, strict: bool = True, labelled: bool = True) -> ReadResult:
        return read_queries(path, cfg.task_options, strict, labelled)

    @classmethod
    def load_splits(cls, cfg: RunConfig, strict: bool = True) -> dict[str, ReadResult]:
        return load_splits(cfg.data, strict, lambda p, _d, s: cls.read(p, cfg, s))

    @staticmethod
    def main_metric(cfg: RunConfig) -> str:
        return "mrr@10"

    @staticmethod
    def metric_names(cfg: RunConfig) -> tuple[str, ...]:
        return METRIC_NAMES

    def collection(self) -> list[Passage] | None:
        """The configured passages file (read once), or None."""
        if self._collection is None and self.options.passages:
            self._collection = read_passages(self.options.passages)
        return self._collection

    @classmethod
    def for_training(cls, tokenizer, cfg: RunConfig, splits: dict[str, ReadResult]) -> Retrieval:
        from tuneforge.models import resolve

        task = cls(tokenizer, cfg, resolve(cfg.model.name))
        for name in ("train", "dev", "test"):  # every positive must be findable before anything trains
            if name in splits:
                split_collection(splits[name].examples, task.collection())
        return task

    @classmethod
    def load(cls, tokenizer, cfg: RunConfig, folder: Path) -> Retrieval:
        return cls(tokenizer, cfg, folder)

    def save(self, folder: Path) -> None:
        """Nothing beyond the encoder: queries and passages are embedded alike, with no learnt head."""

    def recalibrated(self, cfg: RunConfig) -> Retrieval:
        return type(self)(self.tokenizer, cfg, self.model_folder)

    def summary(self) -> dict[str, Any]:
        return {"hard_negatives": self.options.hard_negatives, "scale": self.options.scale}

    # model ------------------------------------------------------------------------------------
    def build_model(self, name: str, dropout: float | None):
        from transformers import AutoConfig, AutoModel

        from tuneforge.models import load_pretrained
        from tuneforge.tasks.common.dropout import set_dropout
        from tuneforge.tasks.retrieval.model import BiEncoder

        config = set_dropout(load_pretrained(name, AutoConfig), dropout)
        return BiEncoder(load_pretrained(name, AutoModel, config=config, add_pooling_layer=False))

    def load_model(self, folder):
        from tuneforge.tasks.retrieval.model import BiEncoder

        return BiEncoder.from_pretrained(folder)

    def _ids(self, texts: list[str], query: bool) -> list[list[int]]:
        limit = (self.options.max_query_length or self.cfg.model.max_length) if query else self.cfg.model.max_length
        return self.tokenizer(texts, truncation=True, max_length=limit)["input_ids"] if texts else []

    def embed(self, model, texts: list[str], query: bool = False, batch_size: int = 128,
              batch_tokens: int | None = None) -> np.ndarray:
        """Normalized embeddings [texts, hidden] (float32), in order."""
        from tuneforge.engine.inference import predict_outputs

        if not texts:
            return np.zeros((0, model.config.hidden_size), dtype=np.float32)
        features = [TextFeature(ids) for ids in self._ids(texts, query)]
        return np.stack(predict_outputs(model, features, self._collate_texts, "embeddings", batch_size, batch_tokens))

    def _collate_texts(self, features: list[TextFeature]) -> dict[str, torch.Tensor]:
        return padded_inputs([f.input_ids for f in features], self.pad_id)

    # features and loss ------------------------------------------------------------------------
    def encode(self, examples: list[QueryExample], with_labels: bool = True) -> list[Any]:
        if not with_labels:
            return [TextFeature(ids) for ids in self._ids([e.query for e in examples], query=True)]
        passages, gold = split_collection(examples, self.collection())
        by_id = {p.id: i for i, p in enumerate(passages)}
        positives = [by_id[next(iter(g))] for g in gold]
        texts = [p.text for p in passages]
        keys = {t: i for i, t in enumerate(texts)}
        mined = self._mine(examples, texts, positives) if self.options.hard_negatives else [[] for _ in examples]
        query_ids, passage_ids = self._ids([e.query for e in examples], True), self._ids(texts, False)
        extra = sorted({t for e in examples for t in e.negatives if t not in keys})
        extra_ids = dict(zip(extra, self._ids(extra, False), strict=True))
        extra_keys = {t: len(keys) + i for i, t in enumerate(extra)}  # given negatives outside the collection
        features = []
        for row, e in enumerate(examples):
            negatives = [(passage_ids[i], i) for i in mined[row]]
            negatives += [(passage_ids[keys[t]], keys[t]) if t in keys else (extra_ids[t], extra_keys[t])
                          for t in e.negatives]
            features.append(PairFeature(query_ids[row], passage_ids[positives[row]], positives[row],
                                        [n for n, _ in negatives], [k for _, k in negatives]))
        return features

    def _mine(self, examples: list[QueryExample], texts: list[str], positives: list[int]) -> list[list[int]]:
        from tuneforge.tasks.retrieval.mining import mine_negatives
        from tuneforge.util.console import say

        o = self.options
        say(f"mining {o.hard_negatives} hard negative(s) per query among {len(texts)} passages")
        model = self.build_model(self.cfg.model.name, None)
        batching = self.cfg.eval_batching()
        queries = self.embed(model, [e.query for e in examples], True, **batching)
        return mine_negatives(queries, self.embed(model, texts, False, **batching), positives, o.hard_negatives,
                              o.mine_depth, self.cfg.training.seed)

    def collate(self, features: list[Any]) -> dict[str, torch.Tensor]:
        if isinstance(features[0], TextFeature):
            return self._collate_texts(features)
        queries = padded_inputs([f.query_ids for f in features], self.pad_id)
        passages = padded_inputs([f.positive_ids for f in features] + [n for f in features for n in f.negative_ids],
                                 self.pad_id)
        keys = [f.positive_key for f in features] + [k for f in features for k in f.negative_keys]
        return {"input_ids": queries["input_ids"], "attention_mask": queries["attention_mask"],
                "passage_input_ids": passages["input_ids"], "passage_attention_mask": passages["attention_mask"],
                "passage_keys": torch.tensor(keys, dtype=torch.long)}

    def count_items(self, batch: dict[str, torch.Tensor]) -> int:
        return len(batch["input_ids"])

    def compute_loss(self, model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        queries = model.embed(batch["input_ids"], batch["attention_mask"])
        passages = model.embed(batch["passage_input_ids"], batch["passage_attention_mask"])
        n = len(queries)
        keys = batch["passage_keys"]
        # Another query's passage with this query's positive text is the same passage, not a negative.
        same = keys[:n, None] == keys[None, :]
        same[torch.arange(n), torch.arange(n)] = False
        scores = (self.options.scale * queries @ passages.T).masked_fill(same, float("-inf"))
        target = torch.arange(n, device=scores.device)
        loss = F.cross_entropy(scores, target, reduction="sum")
        if self.options.symmetric:
            back = (self.options.scale * passages[:n] @ queries.T).masked_fill(same[:, :n].T, float("-inf"))
            loss = (loss + F.cross_entropy(back, target, reduction="sum")) / 2
        return loss, n

    # scores -----------------------------------------------------------------------------------
    def rank(self, model, examples: list[QueryExample], **batching: Any) -> tuple[list[int | None], list[Passage],
                                                                                    np.ndarray]:
        """Each query's rank of its positive in its split's collection (None beyond SEARCH_DEPTH), the
        collection, and the top indices [queries, depth]."""
        passages, gold = split_collection(examples, self.collection())
        passage_embeddings = self.embed(model, [p.text for p in passages], False, **batching)
        queries = self.embed(model, [e.query for e in examples], True, **batching)
        top, _ = exact_top_k(passage_embeddings, queries, SEARCH_DEPTH)
        ranks = [rank_of([passages[i].id for i in row], g) for row, g in zip(top, gold, strict=True)]
        return ranks, passages, top

    def evaluate(self, model, examples: list[QueryExample], tune: bool = False, **batching: Any) -> dict[str, Any]:
        ranks, passages, _ = self.rank(model, examples, **batching)
        return ranking_scores(ranks) | {"passages": len(passages)}

    def markdown(self, scores: dict[str, Any], title: str) -> str:
        rows = "".join(f"| {name} | {scores[name]:.4f} |\n" for name in METRIC_NAMES if name in scores)
        return (f"### {title}\n\n{scores.get('queries', 0)} queries against {scores.get('passages', 0)} "
                f"passages.\n\n| metric | value |\n|---|---:|\n{rows}")

    # use --------------------------------------------------------------------------------------
    @staticmethod
    def prediction_input(example: QueryExample) -> str:
        return example.query

    def index(self) -> PassageIndex | None:
        """The index predict searches: task_options.index (built by this run's model); None: search the passages
        file (embedded on first use)."""
        if self._index is None:
            o = self.options
            if o.index:
                self._index = PassageIndex.load(o.index, model_fingerprint(self.model_folder))
            elif not o.passages:
                raise ConfigError("retrieval predict needs an index: --index INDEX (build one with `tuneforge index "
                                  "RUN --input passages.jsonl --output INDEX`) or task_options.passages")
        return self._index

    def build_index(self, model, passages: list[Passage], ann: str = "auto", **batching: Any) -> PassageIndex:
        embeddings = self.embed(model, [p.text for p in passages], False, **batching)
        return PassageIndex.build(passages, embeddings, model_fingerprint(self.model_folder), ann)

    def predict_texts(self, model, texts: list[str], **batching: Any) -> list[dict[str, Any]]:
        if not texts:
            return []
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"input {i + 1}: an empty query")
        index = self.index()
        if index is None:  # no index: the configured passages, embedded now
            index = self._index = self.build_index(model, self.collection(), **batching)
        o = self.options
        embeddings = self.embed(model, texts, True, **batching) if o.search != "bm25" else None
        found = index.search(texts, embeddings, o.top_k, o.search, o.hybrid_weight)
        return [{"query": text, "passages": [{"id": p.id, "score": round(score, 4), "text": p.text, **p.meta}
                                             for p, score in hits]}
                for text, hits in zip(texts, found, strict=True)]
