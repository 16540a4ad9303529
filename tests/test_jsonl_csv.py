from __future__ import annotations

import pytest

from tuneforge.config.schema import DataConfig
from tuneforge.data.loading import read_tagged
from tuneforge.errors import DataError


def read(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_tagged(str(path), DataConfig(train=str(path)))


def test_jsonl_reads_tokens_and_tags(tmp_path):
    result = read(tmp_path, "d.jsonl", '{"tokens": ["Alice", "runs"], "tags": ["B-per", "O"]}\n\n'
                                       '{"tokens": ["Bob"], "tags": ["B-per"]}\n')
    assert [s.tokens for s in result.examples] == [["Alice", "runs"], ["Bob"]]
    assert result.examples[1].where() == f"{tmp_path / 'd.jsonl'}:3"


@pytest.mark.parametrize(("text", "fragment"), [
    ('{"tokens": ["a"], "tags": ["O"]}\n{"tokens": ["a"\n', "d.jsonl:2: invalid JSON"),
    ('{"tokens": ["a", "b"], "tags": ["O"]}\n', "d.jsonl:1: 2 tokens but 1 tags"),
    ('{"words": ["a"], "tags": ["O"]}\n', "d.jsonl:1: field 'tokens' must be a list"),
    ('{"tokens": ["a"], "tags": ["O"]}\n{"tokens": ["b"], "tags": ["I-x"], "x": 1}\n{"tokens": ["c"], "tags": ["P"]}\n',
     "d.jsonl:3: tag 'P' is not O, B-TYPE or I-TYPE"),
])
def test_jsonl_bad_input_names_line(tmp_path, text, fragment):
    with pytest.raises(DataError, match=fragment.replace(".", r"\.")):
        read(tmp_path, "d.jsonl", text)


def test_csv_reads_rows(tmp_path):
    result = read(tmp_path, "d.csv", "tokens,tags\nAlice runs,B-per O\n")
    assert result.examples[0].tags == ["B-per", "O"]


@pytest.mark.parametrize(("text", "fragment"), [
    ("words,tags\na,O\n", "d.csv:1: missing column(s) tokens"),
    ("tokens,tags\na b,O O\n,O\n", "d.csv:3: empty 'tokens'"),
    ("tokens,tags\na b,O\n", "d.csv:2: 2 tokens but 1 tags"),
])
def test_csv_bad_input_names_row(tmp_path, text, fragment):
    with pytest.raises(DataError) as err:
        read(tmp_path, "d.csv", text)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\u2029", "\x0c"])
def test_only_newline_ends_a_line(tmp_path, separator):
    """A JSON string or a CoNLL token may hold U+2028, NEL and the like; they must not split the record."""
    from tuneforge.data.text_file import read_lines

    path = tmp_path / "lines.txt"
    path.write_text(f'{{"text": "a{separator}b"}}\r\nsecond\n', encoding="utf-8")
    assert read_lines(str(path)) == [f'{{"text": "a{separator}b"}}', "second"]
