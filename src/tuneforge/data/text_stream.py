"""Unlabelled documents read as a stream: plain text (one document per line), JSONL (``data.text_field``: a
string, or a list of words joined with spaces) or CoNLL (one word per line in the first column: each sentence's
words joined with spaces), so a tagged corpus pretrains as it is, with no converted copy written beside it.

A ``Documents`` object names a file and which of its documents belong to a split; iterating it reads the
file again, one line at a time (``text_file.iter_lines``), so no split ever holds its text in memory. Blank
lines (and JSONL records whose text is blank) are not documents. Carved dev/test splits and
``data.train_limit`` are sets of document indices chosen by a seeded sample, as ``data/splits.py`` chooses.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from tuneforge.data.examples import Problems, ReadResult
from tuneforge.data.text_file import iter_json_objects, iter_lines
from tuneforge.errors import DataError

JSONL_SUFFIXES = (".jsonl", ".json")
CONLL_SUFFIXES = (".conll", ".iob", ".bio")
TEXT, JSONL, CONLL = "text", "jsonl", "conll"


@dataclass
class Document:
    text: str
    source: str  # "file:line"

    def where(self, word: int = 0) -> str:
        return self.source


@dataclass
class Documents:
    """The documents of one split of a file, re-read on every iteration."""

    path: str
    form: str  # TEXT, JSONL or CONLL
    text_field: str
    total: int  # documents in the whole file
    drop: frozenset[int] = frozenset()  # indices carved out into other splits
    keep: frozenset[int] | None = None  # only these indices (a carved split, or train_limit's sample)

    def __len__(self) -> int:
        return len(self.keep) if self.keep is not None else self.total - len(self.drop)

    def __iter__(self) -> Iterator[Document]:
        for index, document in enumerate(_documents(self.path, self.form, self.text_field, Problems(self.path, True))):
            if index in self.drop or (self.keep is not None and index not in self.keep):
                continue
            yield document

    def __getitem__(self, item: slice) -> list[Document]:
        """The first documents (``compare``'s speed check takes ``examples[:n]``)."""
        if not isinstance(item, slice) or item.start not in (None, 0) or item.step not in (None, 1):
            raise TypeError("Documents only take a leading slice [:n]")
        out = []
        for document in self:
            if item.stop is not None and len(out) >= item.stop:
                break
            out.append(document)
        return out


def _documents(path: str, form: str, field: str, problems: Problems) -> Iterator[Document]:
    if form == CONLL:
        yield from _conll_sentences(path)
        return
    if form == TEXT:
        for number, line in iter_lines(path):
            if line.strip():
                yield Document(line, f"{path}:{number}")
        return
    for number, record in iter_json_objects(path, problems):
        text = record.get(field)
        if isinstance(text, list) and all(isinstance(word, str) for word in text):
            text = " ".join(text)  # a token-classification record's words
        if not isinstance(text, str):
            problems.add(number, f"expected a string field '{field}' (data.text_field)" if text is None
                         else f"'{field}' must be a string or a list of strings, not {type(text).__name__}")
            continue
        if text.strip():
            yield Document(text, f"{path}:{number}")


def _conll_sentences(path: str) -> Iterator[Document]:
    """One document per sentence: the first column's words, as data/conll.py reads them, one line at a time."""
    words: list[str] = []
    start = 0
    for number, line in iter_lines(path):
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if words:
                yield Document(" ".join(words), f"{path}:{start}")
            words = []
            continue
        if not words:
            start = number
        words.append(columns[0])
    if words:
        yield Document(" ".join(words), f"{path}:{start}")


def form_of(path: str, fmt: str) -> str:
    if fmt in (JSONL, CONLL):
        return fmt
    if fmt != "auto":
        raise DataError(f"{path}: pretraining reads plain text (one document per line), JSONL or CoNLL (data.format "
                        f"auto, jsonl or conll), not {fmt}")
    suffix = PurePath(path).suffix.lower()
    return JSONL if suffix in JSONL_SUFFIXES else CONLL if suffix in CONLL_SUFFIXES else TEXT


def read_documents(path: str, data, strict: bool = True) -> ReadResult:
    """Check a file through (constant memory) and count its documents; an empty one is a one-line error."""
    problems = Problems(path, strict)
    form = form_of(path, data.format)
    total = sum(1 for _ in _documents(path, form, data.text_field, problems))
    if total == 0 and not problems.items:
        what = (f"no record with a non-empty '{data.text_field}' (data.text_field)" if form == JSONL
                else "only blank lines")
        problems.add(None, f"no documents: {what}")
    return ReadResult(Documents(path, form, data.text_field, total), problems.items)


def load_document_splits(data, strict: bool = True) -> dict[str, ReadResult]:
    """train / dev / test; a missing dev or test is a seeded sample of train's documents (test first)."""
    splits = {"train": read_documents(data.train, data, strict)}
    for name in ("dev", "test"):
        path = getattr(data, name)
        if path:
            splits[name] = read_documents(path, data, strict)
    train: Documents = splits["train"].examples
    carved: set[int] = set()
    for name in ("test", "dev"):
        fraction = getattr(data.split, name)
        if name in splits or fraction <= 0:
            continue
        free = [i for i in range(train.total) if i not in carved] if carved else range(train.total)
        k = max(1, round(train.total * fraction))
        if k >= len(free):
            raise DataError(f"{data.train}: {train.total} document(s) are too few to carve {fraction:.0%} out as "
                            f"{name}; give data.{name} instead")
        chosen = frozenset(random.Random(data.split.seed + (name == "dev")).sample(free, k))
        carved |= chosen
        splits[name] = ReadResult(Documents(train.path, train.form, train.text_field, train.total, keep=chosen))
    train.drop = frozenset(carved)
    limit = data.train_limit
    if limit is not None and len(train) > limit:
        rng, chosen_train = random.Random(data.split.seed), set()
        while len(chosen_train) < limit:
            i = rng.randrange(train.total)
            if i not in carved:
                chosen_train.add(i)
        train.keep = frozenset(chosen_train)
    return splits
