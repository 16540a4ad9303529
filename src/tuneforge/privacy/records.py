"""A data file as records of text fields, with line numbers, and the same file written back with new field values.

JSONL: every string in a record (at any depth), except the label and tag fields; a list of strings under the
tokens field is one text of space-joined tokens. CSV: every column but the label. CoNLL (token and tag
columns, sniffed from the file): each sentence's tokens. Any other text file: each line. A file read and
written back unchanged is the same data (JSONL and CSV re-serialised, CoNLL and text lines kept byte for byte).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneforge.errors import DataError

TAG = re.compile(r"^(?:O|[BIES]-\S+)$")


@dataclass
class TextField:
    name: str  # the field as a report names it: "text", "messages.content", "tokens"
    text: str
    path: tuple[Any, ...] = ()  # where it sits in a JSONL record / CSV row
    tokens: list[str] | None = None  # a text of space-joined tokens: redaction replaces whole tokens
    new: Any = None  # the value written back (a string, or a token list); None: unchanged

    def token_offsets(self) -> list[tuple[int, int]]:
        offsets, at = [], 0
        for token in self.tokens or []:
            offsets.append((at, at + len(token)))
            at += len(token) + 1
        return offsets


@dataclass
class Record:
    line: int  # 1-based line where the record starts
    fields: list[TextField] = field(default_factory=list)
    raw: Any = None  # the parsed JSON object, CSV row, CoNLL lines or text line


@dataclass
class DataFile:
    path: Path
    kind: str  # "jsonl", "csv", "conll", "lines"
    records: list[Record]
    header: list[str] | None = None  # CSV
    lines: list[str] | None = None  # CoNLL / text: the file's lines, rewritten in place
    problems: list[str] = field(default_factory=list)

    def render(self) -> str:
        return {"jsonl": _render_jsonl, "csv": _render_csv, "conll": _render_lines, "lines": _render_lines}[
            self.kind](self)


def read_data_file(path: str | Path, skip: set[str], tokens_field: str = "tokens", strict: bool = True) -> DataFile:
    """``skip``: field names not scanned (labels, tags). ``strict``: a malformed record fails (redact); otherwise
    it is listed in ``problems`` and left out of the scan (check-data reports it already)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        raise DataError(f"{path}: personal data is read from JSONL, CSV, CoNLL and text files, not a JSON document")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if suffix == ".jsonl":
        return _read_jsonl(path, text, skip, tokens_field, strict)
    if suffix == ".csv":
        return _read_csv(path, text, skip)
    lines = text.split("\n")
    if _looks_conll(lines):
        return _read_conll(path, lines)
    return DataFile(path, "lines", [Record(i + 1, [TextField("line", line, (i,))]) for i, line in enumerate(lines)
                                    if line.strip()], lines=lines)


# JSONL ------------------------------------------------------------------------------------------
def _read_jsonl(path: Path, text: str, skip: set[str], tokens_field: str, strict: bool) -> DataFile:
    records, problems = [], []
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            problem = f"{path}:{i + 1}: not a JSON object"
            if strict:
                raise DataError(problem)
            problems.append(problem)
            continue
        record = Record(i + 1, raw=obj)
        _walk(obj, (), record.fields, skip, tokens_field)
        records.append(record)
    return DataFile(path, "jsonl", records, problems=problems)


def _walk(value: Any, path: tuple[Any, ...], out: list[TextField], skip: set[str], tokens_field: str) -> None:
    name = ".".join(str(p) for p in path if isinstance(p, str))
    if path and isinstance(path[-1], str) and path[-1] in skip:
        return
    if isinstance(value, str):
        out.append(TextField(name, value, path))
    elif isinstance(value, dict):
        for key, child in value.items():
            _walk(child, (*path, key), out, skip, tokens_field)
    elif isinstance(value, list):
        if path and path[-1] == tokens_field and value and all(isinstance(v, str) for v in value):
            out.append(TextField(name, " ".join(value), path, tokens=list(value)))
            return
        for i, child in enumerate(value):
            _walk(child, (*path, i), out, skip, tokens_field)


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _render_jsonl(data: DataFile) -> str:
    out = []
    for record in data.records:
        for f in record.fields:
            if f.new is not None:
                _set(record.raw, f.path, f.new)
        out.append(json.dumps(record.raw, ensure_ascii=False))
    return "\n".join(out) + "\n"


# CSV --------------------------------------------------------------------------------------------
def _read_csv(path: Path, text: str, skip: set[str]) -> DataFile:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records, line = [], 2
    try:
        header = list(reader.fieldnames or [])
        for row in reader:
            fields = [TextField(col, value, (col,)) for col, value in row.items()
                      if isinstance(col, str) and col not in skip and isinstance(value, str)]
            records.append(Record(line, fields, raw=row))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not readable as CSV ({exc})") from None
    return DataFile(path, "csv", records, header=header)


def _render_csv(data: DataFile) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=data.header or [], lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for record in data.records:
        row = dict(record.raw)
        for f in record.fields:
            if f.new is not None:
                row[f.path[0]] = f.new
        writer.writerow(row)
    return buffer.getvalue()


# CoNLL and text lines ---------------------------------------------------------------------------
def _looks_conll(lines: list[str]) -> bool:
    """Token and tag columns: nearly every line of the file's start ends in a BIO tag."""
    sample = [ln for ln in lines[:400] if ln.strip() and not ln.startswith("-DOCSTART-")]
    tagged = sum(1 for ln in sample if len(ln.split()) >= 2 and TAG.match(ln.split()[-1]))
    return bool(sample) and tagged >= 0.9 * len(sample)


def _read_conll(path: Path, lines: list[str]) -> DataFile:
    records: list[Record] = []
    sentence: list[int] = []

    def close() -> None:
        if sentence:
            tokens = [lines[i].split()[0] for i in sentence]
            records.append(Record(sentence[0] + 1, [TextField("tokens", " ".join(tokens), tuple(sentence),
                                                              tokens=tokens)], raw=list(sentence)))
            sentence.clear()

    for i, line in enumerate(lines):
        if not line.strip() or line.startswith("-DOCSTART-"):
            close()
        else:
            sentence.append(i)
    close()
    return DataFile(path, "conll", records, lines=lines)


def _render_lines(data: DataFile) -> str:
    lines = list(data.lines or [])
    for record in data.records:
        for f in record.fields:
            if f.new is None:
                continue
            if f.tokens is None:
                lines[f.path[0]] = f.new
                continue
            for i, old, new in zip(f.path, f.tokens, f.new, strict=True):
                stripped = lines[i].lstrip()
                lead = lines[i][:len(lines[i]) - len(stripped)]
                lines[i] = lead + new + stripped[len(old):]  # the tag columns and their separator kept
    return "\n".join(lines)
