"""Typed placeholders for personal data: ``<PHONE>``, ``<PERSON_1>`` (the same person the same number within a
record), written to a new copy, never over the original."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneforge.errors import DataError
from tuneforge.privacy.entities import ENTITY_TYPES
from tuneforge.privacy.records import DataFile, Record, TextField
from tuneforge.privacy.spans import Span
from tuneforge.util.atomic import write_text


class Numbering:
    """Numbers of the numbered kinds within one record: the same value (case and spacing aside) keeps its number."""

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, str], int] = {}

    def placeholder(self, kind: str, value: str) -> str:
        entity = ENTITY_TYPES[kind]
        if not entity.numbered:
            return entity.placeholder()
        key = (kind, " ".join(value.lower().split()))
        if key not in self.numbers:
            self.numbers[key] = 1 + sum(1 for k in self.numbers if k[0] == kind)
        return entity.placeholder(self.numbers[key])


def redact_text(text: str, spans: list[Span], numbering: Numbering | None = None) -> str:
    """``text`` with each (non-overlapping) span replaced by its placeholder."""
    numbering = numbering or Numbering()
    names = [numbering.placeholder(s.kind, s.text_of(text)) for s in spans]  # numbered in reading order
    out = text
    for span, name in sorted(zip(spans, names, strict=True), key=lambda p: -p[0].start):
        out = out[:span.start] + name + out[span.end:]
    return out


def redact_field(field: TextField, spans: list[Span], numbering: Numbering) -> None:
    """Set ``field.new``: a text with placeholders, or for tokens each token a span touches replaced by the span's
    placeholder (the token count, so the tags, unchanged)."""
    if not spans:
        return
    if field.tokens is None:
        field.new = redact_text(field.text, spans, numbering)
        return
    names = [numbering.placeholder(s.kind, s.text_of(field.text)) for s in spans]
    tokens = list(field.tokens)
    for i, (start, end) in enumerate(field.token_offsets()):
        for span, name in zip(spans, names, strict=True):
            if start < span.end and span.start < end:
                tokens[i] = name
                break
    field.new = tokens


def redact_records(records: list[Record], analyzer: Any) -> dict[str, int]:
    """Redact every field of ``records`` in place (``TextField.new``); the count of findings by kind."""
    fields = [(record, f) for record in records for f in record.fields]
    found = analyzer.analyze_many([f.text for _, f in fields])
    counts: dict[str, int] = {}
    numbering, current = Numbering(), None
    for (record, f), spans in zip(fields, found, strict=True):
        if record is not current:
            numbering, current = Numbering(), record
        redact_field(f, spans, numbering)
        for span in spans:
            counts[span.kind] = counts.get(span.kind, 0) + 1
    return counts


def write_redacted(data: DataFile, out: str | Path) -> None:
    """The redacted file, written through a temp file and a rename; never the source itself."""
    out = Path(out)
    if out.exists() and out.resolve() == data.path.resolve():
        raise DataError(f"{out}: redact writes a copy; it never rewrites the original in place")
    write_text(out, data.render())


