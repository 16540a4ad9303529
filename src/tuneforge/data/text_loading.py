"""Read labelled texts (CSV, JSONL, JSON splits, SemEval) and check their labels across splits."""

from __future__ import annotations

from collections import Counter
from pathlib import PurePath
from typing import TYPE_CHECKING

from tuneforge.data.examples import Problems, ReadResult, TextExample
from tuneforge.data.json_splits import read_json_splits
from tuneforge.data.semeval import read_semeval
from tuneforge.data.text_csv import read_text_csv
from tuneforge.data.text_jsonl import read_text_jsonl
from tuneforge.errors import DataError

if TYPE_CHECKING:
    from tuneforge.config.schema import DataConfig


def detect_text_format(path: str, declared: str) -> str:
    if declared != "auto":
        return declared
    if "#" in PurePath(path).name:
        return "json-splits"
    suffix = PurePath(path).suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".txt":
        return "semeval"
    if suffix == ".csv":
        return "csv"
    raise DataError(f"{path}: cannot tell the format from the name; set data.format (csv, jsonl, json-splits, semeval)")


def read_texts(path: str, cfg: DataConfig, strict: bool = True, labelled: bool = True,
               multi_label: bool = False) -> ReadResult:
    """One file of labelled texts; in strict mode the first problem raises a DataError naming file and line."""
    problems = Problems(path, strict)
    fmt = detect_text_format(path, cfg.format)
    pair = cfg.text_pair_field
    if fmt == "csv":
        separator = cfg.label_separator if multi_label else None
        examples = read_text_csv(path, problems, cfg.text_field, cfg.label_field, pair, labelled, separator)
    elif fmt == "jsonl":
        examples = read_text_jsonl(path, problems, cfg.text_field, cfg.label_field, pair, labelled)
    elif fmt == "json-splits":
        examples = read_json_splits(path, problems, cfg.text_field, cfg.label_field, pair, labelled)
    elif fmt == "semeval":
        examples = read_semeval(path, problems, labelled)
    else:
        raise DataError(f"{path}: format '{fmt}' holds tagged words, not labelled texts; use csv, jsonl, "
                        "json-splits or semeval for this task")
    for example in list(examples):
        if labelled and multi_label and isinstance(example.label, str):
            example.label = [example.label]
        elif labelled and not multi_label and isinstance(example.label, list):
            if problems.strict:
                raise DataError(f"{example.source}: a list of labels, but task_options.multi_label is off")
            problems.items.append(f"{example.source}: a list of labels, but task_options.multi_label is off")
            examples.remove(example)
    if not examples and not problems.items:
        problems.add(None, "no examples found")
    return ReadResult(examples, problems.items)


def text_label_set(examples: list[TextExample], extra: str | None = None) -> list[str]:
    """Sorted labels seen in training (plus ``extra``, e.g. the out-of-scope label, if given)."""
    labels = {label for e in examples for label in e.labels}
    if extra:
        labels.add(extra)
    return sorted(labels)


def check_unseen_texts(split: str, result: ReadResult, labels: list[str], allowed: str | None = None) -> None:
    known = set(labels) | ({allowed} if allowed else set())
    for example in result.examples:
        for label in example.labels:
            if label not in known:
                raise DataError(f"{example.where()}: label {label!r} in the {split} set does not occur in the "
                                f"training data ({len(labels)} known labels)")


def label_counts(examples: list[TextExample]) -> Counter:
    return Counter(label for e in examples for label in e.labels)
