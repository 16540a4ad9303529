"""One JSON file that maps split names to lists of examples (CLINC150's ``data_full.json``).

The path selects lists with a fragment: ``data_full.json#train+oos_train``. Each item is a
``[text, label]`` pair or an object with the configured text / label fields.
"""

from __future__ import annotations

from tuneforge.data.examples import Problems, TextExample
from tuneforge.data.text_file import read_json
from tuneforge.data.text_jsonl import record_example
from tuneforge.errors import DataError


def read_json_splits(
    path: str, problems: Problems, text_field: str, label_field: str, pair_field: str | None, labelled: bool = True
) -> list[TextExample]:
    file, _, selector = path.partition("#")
    name, data = read_json(file)
    if not isinstance(data, dict):
        raise DataError(f"{name}: expected a JSON object mapping split names to lists")
    if not selector:
        raise DataError(f"{name}: say which lists to read with '#', e.g. {file}#{'+'.join(list(data)[:2])} "
                        f"(lists: {', '.join(data)})")
    examples = []
    for key in selector.split("+"):
        items = data.get(key)
        if not isinstance(items, list):
            lists = ", ".join(k for k, v in data.items() if isinstance(v, list))
            raise DataError(f"{name}: no list '{key}' (lists: {lists})")
        for index, item in enumerate(items):
            source = f"{name}#{key}[{index}]"
            if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
                item = {text_field: item[0], label_field: item[1]}
            if not isinstance(item, dict):
                problems.add(None, f"{key}[{index}]: expected [text, label] or an object")
                continue
            example = record_example(item, source, text_field, label_field, pair_field, labelled)
            if isinstance(example, str):
                problems.add(None, f"{key}[{index}]: {example}")
            else:
                examples.append(example)
    return examples
