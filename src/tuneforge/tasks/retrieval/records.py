"""Reading retrieval data: query records (a query and its relevant passage) and passage collections.

A query record: ``{"query": ..., "positive": passage text}`` (or ``"positive_id"``: an id in the collection),
optionally ``"negatives": [texts]``. A passage line: ``{"id": ..., "text": ...}``; other fields (a title, a
document name, offsets) travel with the passage into predictions. Every problem names its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuneforge.data.examples import Problems, ReadResult
from tuneforge.data.text_file import json_objects
from tuneforge.errors import DataError


@dataclass
class QueryExample:
    query: str
    positive: str | None  # the relevant passage's text, or
    positive_id: str | None  # its id in the collection
    negatives: list[str] = field(default_factory=list)
    source: str = ""

    def where(self, word: int = 0) -> str:
        return self.source


@dataclass
class Passage:
    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)  # the line's other fields, returned with the passage
    source: str = ""


def read_queries(path: str, options: Any, strict: bool = True, labelled: bool = True) -> ReadResult:
    problems = Problems(path, strict)
    examples = []
    q, pos, pid, neg = (options.query_field, options.positive_field, options.positive_id_field,
                        options.negatives_field)
    for number, record in json_objects(path, problems):
        query = record.get(q)
        if not isinstance(query, str):
            problems.add(number, f"no '{q}' field (a string; task_options.query_field names it)")
            continue
        if not query.strip():
            problems.add(number, f"field '{q}' is empty")
            continue
        positive, positive_id = record.get(pos), record.get(pid)
        if positive_id is not None:
            positive_id = str(positive_id)
        if labelled and not (isinstance(positive, str) and positive.strip()) and not positive_id:
            problems.add(number, f"no '{pos}' (a non-empty passage text) or '{pid}' field: a query needs its "
                                 "relevant passage for training and scoring")
            continue
        negatives = record.get(neg, [])
        if not isinstance(negatives, list) or not all(isinstance(x, str) and x.strip() for x in negatives):
            problems.add(number, f"field '{neg}' must be a list of non-empty passage texts")
            continue
        examples.append(QueryExample(query, positive if isinstance(positive, str) else None, positive_id,
                                     negatives, f"{path}:{number}"))
    return ReadResult(examples, problems.items)


def read_passages(path: str, strict: bool = True) -> list[Passage]:
    """A collection: ids unique, texts non-empty. Without ``id`` a passage's id is its line number."""
    problems = Problems(path, strict)
    passages, seen = [], {}
    for number, record in json_objects(path, problems):
        text = record.get("text")
        if not isinstance(text, str):
            problems.add(number, "no 'text' field (the passage, a string)")
            continue
        if not text.strip():
            problems.add(number, "empty passage ('text' is blank)")
            continue
        pid = str(record.get("id", number))
        if pid in seen:
            problems.add(number, f"duplicate passage id {pid!r} (first on line {seen[pid]})")
            continue
        seen[pid] = number
        meta = {k: v for k, v in record.items() if k not in ("id", "text")}
        passages.append(Passage(pid, text, meta, f"{path}:{number}"))
    if not passages and strict:
        raise DataError(f"{path}: no passages")
    return passages


def split_collection(examples: list[QueryExample], passages: list[Passage] | None) -> tuple[list[Passage],
                                                                                            list[set[str]]]:
    """The collection a split is searched against, and each query's relevant ids in it.

    With a passages file: that collection; a positive given as text must be one of its passages. Without:
    the split's distinct positive and negative texts, ids by first appearance.
    """
    if passages is not None:
        by_text = {p.text: p.id for p in passages}
        ids = {p.id for p in passages}
        gold = []
        for e in examples:
            if e.positive_id is not None:
                if e.positive_id not in ids:
                    raise DataError(f"{e.source}: positive id {e.positive_id!r} is not in the passages file")
                gold.append({e.positive_id})
            elif e.positive in by_text:
                gold.append({by_text[e.positive]})
            else:
                raise DataError(f"{e.source}: its positive passage is not in the passages file (give "
                                "positive_id, or the passage's exact text)")
        return passages, gold
    collection: dict[str, Passage] = {}
    gold = []
    for e in examples:
        if e.positive is None:
            raise DataError(f"{e.source}: a positive_id needs task_options.passages (the collection it names)")
        for text in (e.positive, *e.negatives):
            if text not in collection:
                collection[text] = Passage(str(len(collection)), text)
        gold.append({collection[e.positive].id})
    return list(collection.values()), gold
