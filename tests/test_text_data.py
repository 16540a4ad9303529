"""Readers for labelled texts (CSV, JSONL, JSON splits, SemEval) and bad input for sentence-level tasks."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import DATASETS
from test_cli_errors import assert_clean_failure, run_cli

from tuneforge.cli import main
from tuneforge.config.loading import validate
from tuneforge.data.splits import carve_stratified
from tuneforge.tasks import task_class

INTENTS = [("where is my card", "card_arrival"), ("my card has not arrived yet", "card_arrival"),
           ("how do I top up", "top_up"), ("add money to my account", "top_up"),
           ("I want to close my account", "close_account"), ("please delete my account", "close_account")]


def write_csv(path, rows, header="text,category"):
    path.write_text(header + "\n" + "\n".join(f'"{t}",{label}' for t, label in rows) + "\n", encoding="utf-8")
    return path


def text_config(tmp_path, model: str, task="sequence-classification", **data) -> object:
    cfg = {"name": "t", "task": task, "model": {"name": model, "max_length": 32},
           "data": {"label_field": "category", **{k: str(v) for k, v in data.items()}},
           "training": {"epochs": 1, "batch_size": 4, "progress": False, "seed": 1},
           "output_dir": str(tmp_path / "runs")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_csv_quoted_newlines_keep_record_lines(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,category\r\n"first\r\nline",a\r\nsecond,b\r\n', encoding="utf-8")
    cfg = validate({"task": "sequence-classification", "data": {"train": str(path), "label_field": "category"}})
    examples = task_class(cfg.task).read(str(path), cfg).examples
    assert [(e.text, e.label) for e in examples] == [("first\nline", "a"), ("second", "b")]
    assert [e.source.rsplit(":", 1)[1] for e in examples] == ["2", "4"]


@pytest.mark.parametrize(
    ("rows", "header", "fragments"),
    [
        ([("where is my card", "card_arrival"), ("", "top_up")], "text,category", ["train.csv:3", "empty 'text'"]),
        ([("where is my card", "card_arrival")], "text,intent", ["train.csv:1", "missing column(s) category"]),
        ([("where is my card", "card_arrival"), ("top up", None)], "text,category", ["train.csv:3", "expected 2"]),
    ],
    ids=["empty-text", "missing-label-column", "row-without-label"],
)
def test_bad_csv(tmp_path, capsys, tiny_model, rows, header, fragments):
    train = tmp_path / "train.csv"
    train.write_text(header + "\n" + "\n".join(f'"{t}"' + (f",{label}" if label else "") for t, label in rows) + "\n")
    config = text_config(tmp_path, tiny_model, train=train)
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, *fragments)


def test_label_in_test_not_in_train(tmp_path, capsys, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS)
    test = write_csv(tmp_path / "test.csv", [*INTENTS[:2], ("lost my phone", "lost_phone")])
    config = text_config(tmp_path, tiny_model, train=train, test=test)
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, "test.csv:4", "'lost_phone'", "does not occur in the training data")


def test_relation_sentence_without_both_markers(tmp_path, capsys, tiny_model):
    train = tmp_path / "train.txt"
    train.write_text('1\t"The <e1>author</e1> of a <e2>keygen</e2>."\nProduct-Producer(e2,e1)\nComment:\n\n'
                     '2\t"A <e1>cup</e1> of tea."\nOther\nComment:\n\n', encoding="utf-8")
    config = text_config(tmp_path, tiny_model, task="relation-extraction", train=train)
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, "train.txt:5", "<e2>", "missing")


def test_semeval_reader_strips_only_outer_quotes():
    cfg = validate({"task": "relation-extraction", "data": {"train": "x", "format": "semeval"}})
    examples = task_class(cfg.task).read(str(DATASETS / "semeval2010_task8" / "TRAIN_FILE.TXT"), cfg).examples
    assert len(examples) == 8000
    assert examples[0].label == "Component-Whole(e2,e1)" and examples[0].text.startswith("The system as described")
    assert any('"' in e.text for e in examples)  # inner quotes kept


def test_json_splits_fragment(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"train": [["hi", "greet"]], "oos_train": [["xyz", "oos"]], "n": 3}))
    cfg = validate({"task": "sequence-classification", "data": {"train": f"{path}#train+oos_train"}})
    Task = task_class(cfg.task)
    assert [e.label for e in Task.read(cfg.data.train, cfg).examples] == ["greet", "oos"]
    with pytest.raises(Exception, match="no list 'val'"):
        Task.read(f"{path}#val", cfg)


def test_clinc150_full_counts():
    cfg = validate({"task": "sequence-classification", "task_options": {"out_of_scope_label": "oos"},
                    "data": {"train": str(DATASETS / "clinc150" / "data_full.json#train+oos_train")}})
    examples = task_class(cfg.task).read(cfg.data.train, cfg).examples
    assert len(examples) == 15100 and sum(e.label == "oos" for e in examples) == 100


def test_stratified_carve_keeps_label_shares():
    examples = [("a", i) for i in range(90)] + [("b", i) for i in range(10)]
    kept, carved = carve_stratified(examples, 0.1, seed=3, key=lambda e: e[0])
    assert sorted(e[0] for e in carved) == ["a"] * 9 + ["b"]
    assert carve_stratified(examples, 0.1, seed=3, key=lambda e: e[0]) == (kept, carved)


def test_check_data_reports_texts(tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", INTENTS)
    test = write_csv(tmp_path / "test.csv", [INTENTS[0], ("", "top_up"), ("new one", "nope")])
    config = text_config(tmp_path, "unused", train=train, test=test)
    code = main(["check-data", str(config), "--no-model", "--json"])
    assert code == 2  # problems found
    info = json.loads(capsys.readouterr().out)["splits"]["test"]
    assert info["unseen_labels"] == ["nope"] and info["shared_with_train"] == 1
    assert any("test.csv:3" in p and "empty 'text'" in p for p in info["malformed"])


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("train.jsonl", '{"text": "hi", "label": "greet"}\n{"text": "bye", \n', ["train.jsonl:2", "invalid JSON"]),
        ("train.jsonl", '{"text": "hi", "label": "greet"}\n{"text": "bye"}\n', ["train.jsonl:2", "field 'label'"]),
        ("train.jsonl", '{"text": "hi", "label": ["a", "b"]}\n', ["train.jsonl:1: a list", "multi_label is off"]),
        ("TRAIN.TXT", '1\t"A <e1>cup</e1> of <e2>tea</e2>."\n\n', ["TRAIN.TXT:2", "relation label missing"]),
        ("data.json#val", '{"train": [["hi", "greet"]]}', ["data.json", "no list 'val'"]),
    ],
    ids=["jsonl-invalid", "jsonl-no-label", "list-label-single", "semeval-no-label", "json-splits-no-list"],
)
def test_bad_text_files(tmp_path, capsys, tiny_model, name, content, fragments):
    path = tmp_path / name.split("#")[0]
    path.write_text(content, encoding="utf-8")
    task = "relation-extraction" if name.endswith(".TXT") else "sequence-classification"
    config = text_config(tmp_path, tiny_model, task=task, train=tmp_path / name)
    config.write_text(config.read_text().replace("label_field: category", "label_field: label"))
    code, err = run_cli(capsys, "train", str(config))
    assert_clean_failure(code, err, tmp_path, *fragments)


def test_compare_rejects_unknown_methods_before_training(tmp_path, capsys, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS)
    config = text_config(tmp_path, tiny_model, train=train)
    code, err = run_cli(capsys, "compare", str(config), "--methods", "full,lorra", "--output", str(tmp_path / "c"))
    assert code == 2 and "unknown method(s) lorra" in err and not (tmp_path / "c").exists()
