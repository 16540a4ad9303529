"""tuneforge explain: integrated gradients and occlusion for a text's label and a sentence's entity, the HTML
page, report.html's worst errors explained, ERASER faithfulness, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from conftest import SENTENCES, make_config, write_conll
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main


@pytest.fixture(scope="module")
def intent_run(tmp_path_factory, tiny_model) -> Path:
    """A tiny intent classifier that learnt INTENTS; its test set holds one text with a gold label it cannot
    give (a worst error to explain)."""
    tmp = tmp_path_factory.mktemp("intents")
    train = write_csv(tmp / "train.csv", INTENTS * 4)
    test = write_csv(tmp / "test.csv", INTENTS + [("where is my card", "top_up")])
    config = text_config(tmp, tiny_model, train=train, dev=test, test=test)
    assert main(["train", str(config), "--set", "training.epochs=30", "--set", "training.lr=5e-3",
                 "--set", "model.dropout=0.0", "--set", "training.warmup_ratio=0"]) == 0
    return tmp / "runs" / "t"


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, tiny_model) -> Path:
    tmp = tmp_path_factory.mktemp("ner")
    data = {"train": write_conll(tmp / "train.conll", SENTENCES * 8), "dev": write_conll(tmp / "dev.conll", SENTENCES)}
    config = make_config(tmp, tiny_model, data, epochs=40, lr=5e-3, warmup_ratio=0)
    assert main(["train", str(config), "--set", "model.dropout=0.0"]) == 0
    return tmp / "runs" / "t"


def _probability(run, ids: list[int], label: str) -> float:
    with torch.inference_mode():
        batch = torch.tensor([ids])
        logits = run.model(input_ids=batch, attention_mask=torch.ones_like(batch)).logits[0]
    return float(torch.softmax(logits, -1)[run.task.labels.index(label)])


def test_explain_a_label_by_integrated_gradients_and_occlusion(intent_run, tmp_path, capsys):
    page = tmp_path / "why.html"
    assert main(["explain", str(intent_run), "where is my card", "--json", "--html", str(page)]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["answer"] == tuneforge.predict(intent_run, "where is my card")["label"] == "card_arrival"
    assert e["words"] == ["where", "is", "my", "card"]

    run = tuneforge.load_run(intent_run)
    ids = run.tokenizer("where is my card")["input_ids"]
    pad = run.tokenizer.pad_token_id
    full = _probability(run, ids, "card_arrival")
    assert e["probability"] == pytest.approx(full, abs=1e-5)
    # completeness: integrated gradients share out f(input) - f(baseline), the baseline being every word token
    # replaced by [PAD]
    baseline = [ids[0]] + [pad] * (len(ids) - 2) + [ids[-1]]
    assert sum(e["integrated_gradients"]) == pytest.approx(full - _probability(run, baseline, "card_arrival"),
                                                           abs=2e-3)
    # occlusion: the fall of the probability with the word's token replaced by [PAD]
    card = ids[:4] + [pad] + ids[5:]  # [CLS] where is my card [SEP]
    assert e["occlusion"][3] == pytest.approx(full - _probability(run, card, "card_arrival"), abs=1e-5)

    html = page.read_text()
    assert html.count("<span class=attr") == 8  # each word, once per method
    assert 'id=integrated-gradients' in html and "rgba(" in html


def test_explain_another_label_and_the_terminal_table(intent_run, capsys):
    assert main(["explain", str(intent_run), "how do I top up", "--label", "close_account"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("explained: close_account (probability ")
    assert "integrated-gradients  occlusion" in out and "\x1b[" not in out  # no colour codes when piped
    assert main(["explain", str(intent_run), "how do I top up", "--label", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: --label: 'nope' is not a label of this run")


def test_explain_an_entity_by_number_or_text(ner_run, capsys):
    assert tuneforge.predict(ner_run, "Carol met Dave at Acme")["entities"][1]["text"] == "Dave"
    assert main(["explain", str(ner_run), "Carol met Dave at Acme", "--entity", "2", "--json"]) == 0
    by_number = json.loads(capsys.readouterr().out)
    assert by_number["answer"] == "Dave (person)"
    assert by_number["words"] == ["Carol", "met", "Dave", "at", "Acme"]
    assert main(["explain", str(ner_run), "Carol met Dave at Acme", "--entity", "dave", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["integrated_gradients"] == pytest.approx(
        by_number["integrated_gradients"], abs=1e-6)
    assert main(["explain", str(ner_run), "Carol met Dave at Acme", "--entity", "Zed"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --entity: 'Zed' is not an entity the run finds") and err.count("\n") == 1


def test_report_html_explains_the_worst_errors(intent_run):
    report = json.loads((intent_run / "report.json").read_text())
    worst = report["test"]["worst_errors"]
    assert [(w["text"], w["gold"], w["predicted"]) for w in worst] == [("where is my card", "top_up", "card_arrival")]
    why = worst[0]["explanation"]
    assert why["answer"] == "card_arrival" and why["words"] == ["where", "is", "my", "card"]
    assert len(why["integrated_gradients"]) == len(why["occlusion"]) == 4
    html = (intent_run / "report.html").read_text()
    assert "why (integrated gradients)" in html and html.count("<span class=attr") == 4


def test_explain_errors_rewrites_an_older_report(intent_run, capsys):
    report_path = intent_run / "report.json"
    report = json.loads(report_path.read_text())
    saved = report["test"]["worst_errors"][0].pop("explanation")
    report_path.write_text(json.dumps(report))  # as a run trained before explanations were kept
    assert main(["explain", str(intent_run), "--errors"]) == 0
    assert "explained 1 worst error(s)" in capsys.readouterr().out
    again = json.loads(report_path.read_text())["test"]["worst_errors"][0]["explanation"]
    assert again["integrated_gradients"] == pytest.approx(saved["integrated_gradients"], abs=1e-4)


def test_explain_a_generation_run_is_refused(tmp_path, capsys, tiny_llama):
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"prompt": "hi", "completion": "hello"}) + "\n")
    run = tmp_path / "gen"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"task": "generation", "model": {"name": tiny_llama},
                                                      "data": {"train": str(data)}}))
    (run / "run.json").write_text(json.dumps({"status": "complete"}))
    page = tmp_path / "why.html"
    assert main(["explain", str(run), "hi", "--html", str(page)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run}: a generation run cannot be explained (explain takes ")
    assert err.count("\n") == 1 and not page.exists()


def test_faithfulness_ranks_the_word_the_model_reads_first():
    """A model whose probability is 1 while token 7 is present: ranking that word first deletes all of it."""
    from tuneforge.explain.faithfulness import erased, ranking
    from tuneforge.explain.target import Target

    def score(model, ids, mask):
        return ((ids == 7) & (mask == 1)).any(dim=1).float()

    target = Target([101, 5, 6, 7, 8, 102], [None, 0, 1, 2, 3, None], ["a", "b", "key", "d"], "x", 1.0, score, 0)
    assert ranking([0.1, 0.0, 0.9, -0.2]) == [2, 0, 1, 3]
    assert erased(None, target, [2, 0, 1, 3]) == (1.0, 0.0)  # deleting it always removes all; keeping it suffices
    comprehensiveness, sufficiency = erased(None, target, [3, 2, 0, 1])
    assert comprehensiveness == pytest.approx(0.2) and sufficiency == pytest.approx(0.8)  # only the 50% bin has it
