"""benchmarks/qa_cloze.py's --paragraphs reader: cloze questions on other text, and one-line errors on bad lines."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import qa_cloze  # noqa: E402


def test_paragraph_questions_blank_a_span_of_the_text_it_was_given(tmp_path):
    path = tmp_path / "abstracts.jsonl"
    path.write_text('{"text": "The model was released in 2019 by Google Research."}\n\n', encoding="utf-8")
    rows = qa_cloze.paragraph_questions(path, 100, random.Random(0))
    questions = {q for _, _, q in rows}
    assert "The model was released in when by Google Research?" in questions
    assert "The model was released in 2019 by who or what?" in questions
    assert {(title, context) for title, context, _ in rows} == {
        ("abstracts-1", "The model was released in 2019 by Google Research.")}
    assert len(qa_cloze.paragraph_questions(path, 1, random.Random(0))) == 1


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not JSON"),
    ('{"source": ["a list, not a text"]}', 'no "text" string'),
    ('["text"]', 'no "text" string'),
])
def test_a_bad_line_names_the_file_and_line(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Paris is in France."}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as err:
        qa_cloze.paragraph_questions(path, 10, random.Random(0))
    message = str(err.value)
    assert message.startswith(f"{path}:2: ") and problem in message and "\n" not in message


def test_main_writes_nothing_when_the_paragraphs_are_bad(tmp_path, monkeypatch):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    out = tmp_path / "out.json"
    monkeypatch.setattr(qa_cloze, "load_config", lambda path: type("C", (), {"task": "qa"})())
    monkeypatch.setattr(qa_cloze, "task_class", lambda task: type("T", (), {
        "load_splits": staticmethod(lambda cfg, strict: {"train": type("S", (), {"examples": []})()})}))
    monkeypatch.setattr(sys, "argv", ["qa_cloze.py", str(tmp_path), "--out", str(out), "--paragraphs", str(bad)])
    with pytest.raises(SystemExit, match="bad.jsonl:1: not JSON"):
        qa_cloze.main()
    assert list(tmp_path.iterdir()) == [bad]
