"""CSV reader for tagged sentences: a column of space-separated tokens and one of space-separated tags."""

from __future__ import annotations

import csv
import io

from tuneforge.data.examples import Problems, TaggedSentence
from tuneforge.data.text_file import read_lines


def read_csv(
    path: str, problems: Problems, tokens_field: str, tags_field: str, labelled: bool = True
) -> list[TaggedSentence]:
    lines = read_lines(path)
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = reader.fieldnames or []
    needed = [tokens_field, tags_field] if labelled else [tokens_field]
    missing = [name for name in needed if name not in header]
    if missing:
        problems.add(1, f"missing column(s) {', '.join(missing)}; the header has {', '.join(header)}")
        return []
    sentences = []
    for row in reader:
        number = reader.line_num
        tokens = (row.get(tokens_field) or "").split()
        if not tokens:
            problems.add(number, f"empty '{tokens_field}'")
            continue
        tags = (row.get(tags_field) or "").split() if labelled else []
        if labelled and len(tags) != len(tokens):
            problems.add(number, f"{len(tokens)} tokens but {len(tags)} tags")
            continue
        sentences.append(TaggedSentence(tokens, tags, f"{path}:{number}"))
    return sentences
