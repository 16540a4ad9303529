"""JSONL reader for labelled texts: one object per line with a text field and a label field.

The label is a string, or a list of strings for multi-label data.
"""

from __future__ import annotations

from tuneforge.data.examples import Problems, TextExample
from tuneforge.data.text_file import json_objects


def read_text_jsonl(
    path: str,
    problems: Problems,
    text_field: str,
    label_field: str,
    pair_field: str | None = None,
    labelled: bool = True,
) -> list[TextExample]:
    examples = []
    for number, record in json_objects(path, problems):
        example = record_example(record, f"{path}:{number}", text_field, label_field, pair_field, labelled)
        if isinstance(example, str):
            problems.add(number, example)
        else:
            examples.append(example)
    return examples


def record_example(
    record: dict, source: str, text_field: str, label_field: str, pair_field: str | None, labelled: bool
) -> TextExample | str:
    """The example in one record, or what is wrong with it."""
    text = record.get(text_field)
    if not isinstance(text, str) or not text.strip():
        return f"field '{text_field}' missing or empty"
    pair = None
    if pair_field:
        pair = record.get(pair_field)
        if not isinstance(pair, str) or not pair.strip():
            return f"field '{pair_field}' missing or empty"
    label = None
    if labelled:
        label = record.get(label_field)
        valid_list = isinstance(label, list) and all(isinstance(x, str) and x.strip() for x in label)
        if not (isinstance(label, str) and label.strip()) and not valid_list:
            return f"field '{label_field}' missing, empty or not a string / list of strings"
        label = label.strip() if isinstance(label, str) else [x.strip() for x in label]
    return TextExample(text.strip(), label, source, pair.strip() if pair else None)
