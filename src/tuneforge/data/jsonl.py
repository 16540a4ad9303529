"""JSONL reader for tagged sentences: one object per line with a tokens list and a tags list."""

from __future__ import annotations

from tuneforge.data.examples import Problems, TaggedSentence
from tuneforge.data.text_file import json_objects


def read_jsonl(
    path: str, problems: Problems, tokens_field: str, tags_field: str, labelled: bool = True
) -> list[TaggedSentence]:
    sentences = []
    for number, record in json_objects(path, problems):
        tokens = record.get(tokens_field)
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t.strip() for t in tokens):
            problems.add(number, f"field '{tokens_field}' must be a list of non-empty strings")
            continue
        tags: list[str] = []
        if labelled:
            tags = record.get(tags_field)
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                problems.add(number, f"field '{tags_field}' missing or not a list of strings")
                continue
            if len(tags) != len(tokens):
                problems.add(number, f"{len(tokens)} tokens but {len(tags)} tags")
                continue
        if tokens:
            sentences.append(TaggedSentence(tokens, tags, f"{path}:{number}"))
    return sentences
