"""CoNLL reader: token in the first column, tag in the last; space or tab separated.

A blank or whitespace-only line ends a sentence; ``-DOCSTART-`` lines are skipped.
"""

from __future__ import annotations

from tuneforge.data.examples import Problems, TaggedSentence
from tuneforge.data.text_file import read_lines


def read_conll(path: str, problems: Problems, labelled: bool = True) -> list[TaggedSentence]:
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0

    def flush() -> None:
        if tokens:
            sentences.append(TaggedSentence(list(tokens), list(tags), f"{path}:{start}", word_per_line=True))
        tokens.clear()
        tags.clear()

    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            flush()
            continue
        columns = line.split()
        if columns[0] == "-DOCSTART-":
            flush()
            continue
        if labelled and len(columns) < 2:
            problems.add(number, f"tag missing: expected a token and a tag, found only {columns[0]!r}")
            continue
        if not tokens:
            start = number
        tokens.append(columns[0])
        if labelled:
            tags.append(columns[-1])
    flush()
    return sentences
