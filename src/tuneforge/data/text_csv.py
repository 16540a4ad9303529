"""CSV reader for labelled texts: a header row, a text column, a label column (optionally a text pair).

Quoted fields may span lines (Banking77 has such texts), so the file is parsed with the csv module,
and each record is named by the line it starts on.
"""

from __future__ import annotations

import csv
import io

from tuneforge.data.examples import Problems, TextExample
from tuneforge.data.text_file import read_lines


def read_text_csv(
    path: str,
    problems: Problems,
    text_field: str,
    label_field: str,
    pair_field: str | None = None,
    labelled: bool = True,
    label_separator: str | None = None,
) -> list[TextExample]:
    lines = read_lines(path)
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = reader.fieldnames or []
    needed = [text_field] + ([label_field] if labelled else []) + ([pair_field] if pair_field else [])
    missing = [name for name in needed if name not in header]
    if missing:
        problems.add(1, f"missing column(s) {', '.join(missing)}; the header has {', '.join(header)}")
        return []
    examples = []
    start = reader.line_num + 1
    for row in reader:
        number, start = start, reader.line_num + 1
        if None in row or any(row.get(name) is None for name in needed):
            problems.add(number, f"expected {len(header)} columns ({', '.join(header)})")
            continue
        text = row[text_field].strip()
        if not text:
            problems.add(number, f"empty '{text_field}'")
            continue
        pair = row[pair_field].strip() if pair_field else None
        label = None
        if labelled:
            raw = row[label_field].strip()
            if not raw:
                problems.add(number, f"empty '{label_field}'")
                continue
            label = [x.strip() for x in raw.split(label_separator) if x.strip()] if label_separator else raw
        examples.append(TextExample(text, label, f"{path}:{number}", pair))
    return examples
