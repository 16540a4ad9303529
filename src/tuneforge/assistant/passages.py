"""Documents cut into passages the retriever indexes and the reader reads, each keeping where it came from.

A passage is whole paragraphs (runs of lines between blank lines) packed up to ``max_chars``; a longer
paragraph is cut at word boundaries into windows that overlap by about ``overlap_chars``, so an answer that
straddles a cut is whole in one of them. A passage's text is exactly ``document.text[start:end]``: an answer's
offsets in the passage plus ``start`` are its offsets in the document.
"""

from __future__ import annotations

import re

from tuneforge.assistant.documents import Document
from tuneforge.tasks.retrieval.records import Passage

_PARAGRAPH = re.compile(r"(?:[^\n]|\n(?![ \t\r]*\n))+")  # text up to the next blank line


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, leading and trailing whitespace left out."""
    spans = []
    for m in _PARAGRAPH.finditer(text):
        chunk = m.group()
        if chunk.strip():
            start = m.start() + len(chunk) - len(chunk.lstrip())
            spans.append((start, m.start() + len(chunk.rstrip())))
    return spans


def windows(text: str, start: int, end: int, max_chars: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) windows of at most ``max_chars`` covering text[start:end], cut after whitespace where
    there is some in the window's second half, each starting about ``overlap`` characters before the last end."""
    out = []
    while True:
        stop = min(start + max_chars, end)
        if stop < end:
            cut = max(text.rfind(" ", start + max_chars // 2, stop), text.rfind("\n", start + max_chars // 2, stop))
            stop = cut if cut > start else stop
        piece = text[start:stop].rstrip()
        out.append((start, start + len(piece)))
        if stop >= end:
            return out
        nxt = max(stop - overlap, start + 1)
        space = text.find(" ", nxt, stop)  # begin the next window at a word
        nxt = space + 1 if space != -1 else nxt
        while nxt < end and text[nxt].isspace():
            nxt += 1
        start = nxt


def split_document(document: Document, max_chars: int, overlap: int) -> list[Passage]:
    spans: list[tuple[int, int]] = []
    group: tuple[int, int] | None = None
    for s, e in paragraphs(document.text):
        if group is not None and e - group[0] <= max_chars:
            group = (group[0], e)
            continue
        if group is not None:
            spans.append(group)
            group = None
        if e - s > max_chars:
            spans += windows(document.text, s, e, max_chars, overlap)
        else:
            group = (s, e)
    if group is not None:
        spans.append(group)
    return [Passage(f"{document.name}#{s}", document.text[s:e], {"document": document.name, "start": s, "end": e})
            for s, e in spans]


def split_documents(documents: list[Document], max_chars: int, overlap: int) -> list[Passage]:
    return [p for d in documents for p in split_document(d, max_chars, overlap)]
