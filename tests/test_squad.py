"""SQuAD reader (every bad record is a one-line error naming it), article-level carving, and SQuAD metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tuneforge.config.schema import DataConfig
from tuneforge.data.splits import carve_groups
from tuneforge.data.squad import load_qa_splits, read_squad
from tuneforge.errors import DataError
from tuneforge.tasks.question_answering.squad_metrics import exact_match, f1, normalize_answer, squad_scores

XQUAD_EN = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "xquad" / "xquad.en.json"

CONTEXT = "Super Bowl 50 was played in Denver, Colorado, on February 7, 2016."
FEB = CONTEXT.index("February")


def squad(*qas: dict, context: str = CONTEXT, version: str = "1.1", title: str = "Super_Bowl_50") -> dict:
    return {"version": version, "data": [{"title": title, "paragraphs": [{"context": context, "qas": list(qas)}]}]}


def qa(qid: str, question: str = "Where?", answers: list | None = None, **extra) -> dict:
    if answers is None:
        answers = [{"text": "Denver", "answer_start": CONTEXT.index("Denver")}]
    return {"id": qid, "question": question, "answers": answers, **extra}


def write(tmp_path: Path, data: dict, name: str = "train.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return str(path)


def test_reads_v1_file(tmp_path):
    path = write(tmp_path, squad(qa("q1"), qa("q2", "When?", [{"text": "February 7, 2016", "answer_start": FEB},
                                                               {"text": "February 7", "answer_start": FEB}])))
    result = read_squad(path)
    assert [e.id for e in result.examples] == ["q1", "q2"]
    first, second = result.examples
    assert first.context == CONTEXT and first.title == "Super_Bowl_50" and not first.is_impossible
    assert [(a.text, a.start) for a in second.answers] == [("February 7, 2016", FEB), ("February 7", FEB)]
    assert second.source == f"{path}: data[0].paragraphs[0].qas[1] (id q2)"
    assert result.problems == []


def test_reads_v2_file_with_unanswerable_questions(tmp_path):
    impossible = qa("q2", "Who lost?", [], is_impossible=True,
                    plausible_answers=[{"text": "Colorado", "answer_start": 36}])  # plausible spans are ignored
    path = write(tmp_path, squad(qa("q1", is_impossible=False), impossible, version="v2.0"))
    examples = read_squad(path).examples
    assert [(e.id, e.is_impossible, len(e.answers)) for e in examples] == [("q1", False, 1), ("q2", True, 0)]
    # "auto" also recognizes v2 by is_impossible when the version field does not say so
    path = write(tmp_path, squad(qa("q1"), impossible, version="1.1"), "auto.json")
    assert read_squad(path).examples[1].is_impossible


def test_v2_question_marked_impossible_with_answers_is_an_error(tmp_path):
    path = write(tmp_path, squad(qa("q1", is_impossible=True), version="v2.0"))
    with pytest.raises(DataError, match=r"data\[0\]\.paragraphs\[0\]\.qas\[0\] \(id q1\): is_impossible is true"):
        read_squad(path)


def test_unlabelled_file_needs_no_answers(tmp_path):
    path = write(tmp_path, squad({"id": "q1", "question": "Where?"}))
    with pytest.raises(DataError, match="'answers' missing"):
        read_squad(path)
    assert read_squad(path, labelled=False).examples[0].answers == []


def test_xquad_english():
    result = read_squad(str(XQUAD_EN))
    assert len(result.examples) == 1190
    assert len({e.title for e in result.examples}) == 48
    assert result.problems == []
    example = result.examples[0]
    answer = example.answers[0]
    assert example.context[answer.start : answer.start + len(answer.text)] == answer.text


BAD = {
    "answer text does not match the context at its offset": (
        qa("q9", answers=[{"text": "Denver", "answer_start": 18}]),
        r"qas\[0\] \(id q9\): answer 'Denver' does not match the context at offset 18 \(context there: 'played'\)"
        r"; the text occurs at offset 28",
    ),
    "offset past the end of the context": (
        qa("q9", answers=[{"text": "Denver", "answer_start": len(CONTEXT)}]),
        r"qas\[0\] \(id q9\): answer 'Denver' at offset 66 lies outside the context \(66 characters\)",
    ),
    "negative offset": (
        qa("q9", answers=[{"text": "Denver", "answer_start": -1}]),
        r"qas\[0\] \(id q9\): answer 'Denver' at offset -1 lies outside the context",
    ),
    "question without answers in v1.1 mode": (
        qa("q9", answers=[]),
        r"qas\[0\] \(id q9\): question has no answers; set task_options.squad_version: \"2.0\"",
    ),
    "empty question": (qa("q9", question="  "), r"qas\[0\] \(id q9\): question is empty"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_record_is_a_one_line_error_naming_file_and_record(tmp_path, case):
    record, message = BAD[case]
    path = write(tmp_path, squad(record))
    with pytest.raises(DataError) as error:
        read_squad(path)
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: data[0].paragraphs[0].qas[0] (id q9): ")
    assert re.search(message, text), text


def test_empty_context_names_the_paragraph(tmp_path):
    path = write(tmp_path, squad(qa("q1"), context=" \n "))
    with pytest.raises(DataError) as error:
        read_squad(path)
    assert str(error.value) == f"{path}: data[0].paragraphs[0]: context is empty"


def test_answer_with_newline_stays_one_line(tmp_path):
    context = "line one\nline two"
    path = write(tmp_path, squad(qa("q1", answers=[{"text": "one\nline", "answer_start": 0}]), context=context))
    with pytest.raises(DataError) as error:
        read_squad(path)
    assert "\n" not in str(error.value) and "'one\\nline'" in str(error.value)


def test_duplicate_ids_and_wrong_types(tmp_path):
    path = write(tmp_path, squad(qa("q1"), qa("q1")))
    with pytest.raises(DataError, match=r"qas\[1\] \(id q1\): duplicate question id \(first at data\[0\]"):
        read_squad(path)
    path = write(tmp_path, squad(qa("q1", answers=[{"text": "Denver", "answer_start": "28"}])))
    with pytest.raises(DataError, match="answer_start must be an integer"):
        read_squad(path)


def test_non_strict_collects_problems_and_skips_bad_records(tmp_path):
    bad = qa("q2", answers=[{"text": "Denver", "answer_start": 0}])
    path = write(tmp_path, squad(qa("q1"), bad, qa("q3", answers=[])))
    result = read_squad(path, strict=False)
    assert [e.id for e in result.examples] == ["q1"]
    assert len(result.problems) == 2
    assert all(p.startswith(f"{path}: data[0].paragraphs[0].qas[") and "\n" not in p for p in result.problems)


def test_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_squad(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"data": [\n  {"title": "x",,}\n]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json:2: invalid JSON"):
        read_squad(str(broken))


def test_version_forced_to_1_1_rejects_unanswerable(tmp_path):
    path = write(tmp_path, squad(qa("q1"), qa("q2", answers=[], is_impossible=True), version="v2.0"))
    assert len(read_squad(path).examples) == 2
    with pytest.raises(DataError, match="qas\\[1\\].*question has no answers"):
        read_squad(path, version="1.1")


def test_carve_groups_keeps_groups_whole_and_is_deterministic():
    examples = [(f"title{t}", q) for t in range(20) for q in range(t % 5 + 1)]  # 20 groups of 1..5
    kept, carved = carve_groups(examples, 0.2, seed=3, key=lambda e: e[0])
    assert {e[0] for e in kept}.isdisjoint({e[0] for e in carved})
    assert sorted(kept + carved) == sorted(examples)
    assert abs(len(carved) - 0.2 * len(examples)) <= 3
    assert kept == [e for e in examples if e in kept]  # original order
    assert carve_groups(examples, 0.2, seed=3, key=lambda e: e[0]) == (kept, carved)
    assert carve_groups(examples, 0.2, seed=4, key=lambda e: e[0])[1] != carved
    # at least one group, never all
    assert len({e[0] for e in carve_groups(examples, 0.001, 0, lambda e: e[0])[1]}) == 1
    two = [("a", 1), ("b", 2)]
    assert carve_groups(two, 0.49, 0, lambda e: e[0])[0] != []
    with pytest.raises(DataError, match="one group"):
        carve_groups([("a", 1), ("a", 2)], 0.2, 0, lambda e: e[0])


def test_load_qa_splits_carves_by_article(tmp_path):
    articles = [squad(*[qa(f"{a}-{q}") for q in range(a % 3 + 2)], title=f"article{a}")["data"][0] for a in range(30)]
    path = write(tmp_path, {"version": "1.1", "data": articles})
    cfg = DataConfig(train=path, split={"dev": 0.2, "test": 0.2, "seed": 5})
    splits = load_qa_splits(cfg, "auto")
    titles = {name: {e.title for e in result.examples} for name, result in splits.items()}
    assert set(titles) == {"train", "dev", "test"} and all(titles.values())
    assert titles["train"].isdisjoint(titles["dev"]) and titles["train"].isdisjoint(titles["test"])
    assert titles["dev"].isdisjoint(titles["test"])
    assert sum(len(r.examples) for r in splits.values()) == sum(a % 3 + 2 for a in range(30))


def test_normalize_answer_like_the_official_script():
    assert normalize_answer("The  Cat!") == "cat"
    assert normalize_answer("An apple, a day.") == "apple day"
    assert normalize_answer("theater") == "theater"  # articles only as whole words
    assert exact_match("The  Cat!", "cat") == 1.0
    assert exact_match("the cat sat", "cat") == 0.0


def test_f1_partial_overlap():
    # pred tokens: denver colorado; gold tokens: denver broncos colorado -> 2 common
    # precision 2/2, recall 2/3, F1 = 2 * 1 * 2/3 / (1 + 2/3) = 0.8
    assert f1("Denver, Colorado", "the Denver Broncos Colorado") == pytest.approx(0.8)
    assert f1("Broncos", "Denver") == 0.0
    assert f1("", "") == 1.0 and f1("", "Denver") == 0.0 and f1("Denver", "") == 0.0


def test_squad_scores_take_the_best_gold_and_split_v2():
    scores = squad_scores([["Denver", "Denver, Colorado"], ["February 7, 2016"]], ["Denver Colorado", "2016"])
    assert scores["exact_match"] == pytest.approx(0.5)  # "denver colorado" matches the second gold exactly
    assert scores["f1"] == pytest.approx((1.0 + 0.5) / 2)  # pred "2016": P 1, R 1/3 -> F1 0.5
    assert scores["examples"] == 2 and "no_answer_accuracy" not in scores

    v2 = squad_scores([["Denver"], [], [""], ["Denver"]], ["Denver", "", "Denver", ""])
    assert v2["exact_match"] == pytest.approx(0.5) and v2["f1"] == pytest.approx(0.5)
    assert v2["has_answer_examples"] == 2 and v2["has_answer_exact_match"] == pytest.approx(0.5)
    assert v2["has_answer_f1"] == pytest.approx(0.5)
    assert v2["no_answer_examples"] == 2 and v2["no_answer_accuracy"] == pytest.approx(0.5)
