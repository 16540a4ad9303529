"""Personal data: check digits, pattern kinds, the NER run as Presidio recogniser, typed placeholders, check-data's
section, ``tuneforge redact`` (a copy, never in place; bad config: one line, exit 2, nothing written), the labelled
set redacted with nothing left, the server's logs, and memorisation of a generation run."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DATASETS, REPO, write_conll
from test_generation import gen_config, write_jsonl
from test_text_data import INTENTS, text_config, write_csv

from tuneforge.cli import main
from tuneforge.privacy.analyzer import PiiAnalyzer
from tuneforge.privacy.checks import iban_valid, luhn_valid
from tuneforge.privacy.patterns import FINDERS
from tuneforge.privacy.redaction import Numbering, redact_text

PATTERNS = list(FINDERS)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what came before (a training's progress bars) is not this command's output
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


class FakeNerRun:
    """A NER run's predict: the entities it was told about (the recogniser's plumbing, not a model's recall)."""

    def __init__(self, entities: dict[str, list[tuple[str, str, float]]]) -> None:
        self.entities, self.calls = entities, []

    def predict(self, texts: list[str]) -> list[dict]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            found = []
            for value, kind, score in self.entities.get("*", []):
                at = text.find(value)
                while at >= 0:
                    found.append({"type": kind, "start": at, "end": at + len(value), "text": value, "score": score})
                    at = text.find(value, at + 1)
            out.append({"text": text, "entities": found})
        return out


def kinds_found(text: str, analyzer: PiiAnalyzer) -> list[tuple[str, str]]:
    return [(s.kind, s.text_of(text)) for s in analyzer.analyze(text)]


# detection --------------------------------------------------------------------------------------

def test_check_digits_accept_real_numbers_and_refuse_one_changed_digit():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112") and not luhn_valid("411111")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("DE89370400440532013000")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")  # check digits
    assert not iban_valid("DE8937040044053201300")  # Germany's IBANs have 22 characters


def test_every_pattern_kind_is_found_and_look_alikes_are_not():
    analyzer = PiiAnalyzer(PATTERNS)
    text = ("Mail gonçalo.r@example.co.uk or call +44 20 7946 0958; card 4111-1111-1111-1111, IBAN "
            "GB82 WEST 1234 5698 7654 32 TO you, from 192.168.1.20 or 2001:db8::1, see https://bank.example.com/a?b=1.")
    assert kinds_found(text, analyzer) == [
        ("EMAIL", "gonçalo.r@example.co.uk"), ("PHONE", "+44 20 7946 0958"), ("CARD", "4111-1111-1111-1111"),
        ("IBAN", "GB82 WEST 1234 5698 7654 32"), ("IP", "192.168.1.20"), ("IP", "2001:db8::1"),
        ("URL", "https://bank.example.com/a?b=1")]
    lookalikes = ("Order 4111 1111 1111 1112 (fails Luhn), IBAN GB82 WEST 1234 5698 7654 33, 999.1.1.1, "
                  "at 10:30:15 on 12/03/2021 I paid $1,250.00, reference 88421934, version 2.13.4, "
                  "order 4918 0166 2879 4596")
    assert kinds_found(lookalikes, analyzer) == []


def test_a_ner_run_is_presidios_recogniser_its_types_mapped_and_weak_guesses_dropped():
    run = FakeNerRun({"*": [("Alice Smith", "person", 0.9), ("Acme", "corporation", 0.8), ("Paris", "location", 0.3),
                            ("iPhone", "product", 0.99)]})
    analyzer = PiiAnalyzer([*PATTERNS, "PERSON", "LOCATION", "ORGANIZATION"], run, min_score=0.5)
    texts = ["Alice Smith from Acme lives in Paris and owns an iPhone", "mail alice@acme.com"]
    found = analyzer.analyze_many(texts)
    assert [(s.kind, s.text_of(texts[0])) for s in found[0]] == [("PERSON", "Alice Smith"), ("ORGANIZATION", "Acme")]
    # the e-mail outranks the organisation inside it
    assert [(s.kind, s.text_of(texts[1])) for s in found[1]] == [("EMAIL", "alice@acme.com")]
    assert run.calls == [2]  # one batched call for the texts, not one per text


# redaction --------------------------------------------------------------------------------------

def test_placeholders_are_typed_and_people_keep_their_number_within_a_record():
    run = FakeNerRun({"*": [("Alice", "person", 0.9), ("Bob", "person", 0.9)]})
    analyzer = PiiAnalyzer(["PHONE", "EMAIL", "PERSON"], run)
    text = "Alice called Bob on +44 20 7946 0958, then alice wrote to bob@example.com and Alice again."
    numbering = Numbering()
    out = redact_text(text, analyzer.analyze(text), numbering)
    assert out == "<PERSON_1> called <PERSON_2> on <PHONE>, then alice wrote to <EMAIL> and <PERSON_1> again."
    # a new record numbers from 1 again
    assert redact_text("Bob", analyzer.analyze("Bob"), Numbering()) == "<PERSON_1>"


def test_redact_writes_a_copy_and_a_config_that_trains_on_it(tmp_path, capsys):
    source = tmp_path / "data"
    source.mkdir()
    train = write_csv(source / "train.csv", [("call me on +44 20 7946 0958 please", "a"),
                                             ('my card 4111 1111 1111 1111, "quoted"\nsecond line', "b"),
                                             ("no personal data here", "a")] * 2)
    tagged = write_conll(source / "test.conll", [[("mail", "O"), ("jo@example.com", "B-person"), ("now", "O")]])
    before = train.read_bytes(), tagged.read_bytes()
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"task": "sequence-classification", "model": {"name": "minilm"},
                                      "data": {"train": "data/train.csv", "label_field": "category",
                                               "split": {"dev": 0.34, "seed": 3}}}), encoding="utf-8")
    code, out, err = run_cli(capsys, "redact", str(config), "--out", str(tmp_path / "red"))
    assert code == 0, err
    assert (train.read_bytes(), tagged.read_bytes()) == before  # the originals untouched
    red = (tmp_path / "red" / "train.csv").read_text(encoding="utf-8")
    assert "call me on <PHONE> please" in red and "my card <CARD>," in red and "7946" not in red
    assert red.count("\n") == train.read_text(encoding="utf-8").count("\n")  # the quoted newline kept, no row lost
    from tuneforge.config.loading import load_config

    cfg = load_config(tmp_path / "red" / "config.yaml")
    assert cfg.data.train == str((tmp_path / "red" / "train.csv").resolve()) and cfg.data.split.dev == 0.34
    assert cfg.output_dir == str(tmp_path / "runs")  # runs land where the original config's did
    summary = json.loads((tmp_path / "red" / "redaction.json").read_text())
    assert summary["splits"]["train"]["redacted"] == {"CARD": 2, "PHONE": 2}


def test_conll_tokens_are_replaced_one_for_one_so_the_tags_still_fit(tmp_path):
    from tuneforge.privacy.records import read_data_file
    from tuneforge.privacy.redaction import redact_records

    path = write_conll(tmp_path / "t.conll", [[("Ring", "O"), ("+44", "O"), ("20", "O"), ("7946", "O"), ("0958", "O"),
                                               ("Alice", "B-person"), ("Smith", "I-person")]])
    data = read_data_file(path, set())
    run = FakeNerRun({"*": [("Alice Smith", "person", 0.9)]})
    redact_records(data.records, PiiAnalyzer(["PHONE", "PERSON"], run))
    lines = data.render().strip().split("\n")
    assert lines == ["Ring\tO", "<PHONE>\tO", "<PHONE>\tO", "<PHONE>\tO", "<PHONE>\tO", "<PERSON_1>\tB-person",
                     "<PERSON_1>\tI-person"]


@pytest.mark.skipif(not (DATASETS / "banking77").is_dir(), reason="needs ../shared/datasets")
def test_the_labelled_set_redacted_leaves_no_labelled_value_unmasked(tmp_path):
    """The benchmark's set (benchmarks/pii_set.py): no pattern value survives redaction; every name the NER
    recogniser reports is masked (how many it finds is the benchmark's person recall)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from pii_set import build

    records = build(600, 7)
    assert len(records) >= 500 and {p["type"] for r in records for p in r["pii"]} >= {*PATTERNS, "PERSON"}
    names = sorted({p["value"] for r in records for p in r["pii"] if p["type"] == "PERSON"}, key=len, reverse=True)
    run = FakeNerRun({"*": [(n, "person", 0.9) for n in names]})
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    from tuneforge.privacy.records import read_data_file
    from tuneforge.privacy.redaction import redact_records

    data = read_data_file(path, {"label", "pii", "source"})
    redact_records(data.records, PiiAnalyzer([*PATTERNS, "PERSON"], run))
    out = tmp_path / "red.jsonl"
    out.write_text(data.render(), encoding="utf-8")
    redacted = [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()]
    left = [(p["type"], p["value"]) for r, text in zip(records, redacted, strict=True) for p in r["pii"]
            if p["type"] in (*PATTERNS, "PERSON") and p["value"] in text]
    assert left == []


def test_bad_redaction_config_is_one_line_exit_2_and_nothing_is_written(tmp_path, capsys):
    write_csv(tmp_path / "train.csv", INTENTS)
    for privacy, fragment in [({"entities": ["EMAIL", "PASSPORT"]}, "'privacy.entities.1'"),
                              ({"entities": ["PERSON"]}, "set privacy.ner_run"),
                              ({"ner_run": "no-such-run"}, "no-such-run")]:
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"task": "sequence-classification", "privacy": privacy,
                                          "data": {"train": "train.csv", "label_field": "category"}}))
        code, out, err = run_cli(capsys, "redact", str(config), "--out", str(tmp_path / "red"))
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and fragment in err, err
        assert not (tmp_path / "red").exists() and not list(tmp_path.glob(".red*"))
    (tmp_path / "red").mkdir()
    (tmp_path / "red" / "keep.txt").write_text("mine")
    config.write_text(yaml.safe_dump({"task": "sequence-classification",
                                      "data": {"train": "train.csv", "label_field": "category"}}))
    code, out, err = run_cli(capsys, "redact", str(config), "--out", str(tmp_path / "red"))
    assert code == 2 and "already exists" in err and [p.name for p in (tmp_path / "red").iterdir()] == ["keep.txt"]


# check-data ---------------------------------------------------------------------------------------

def test_check_data_reports_personal_data_per_split_and_field_with_masked_values(tmp_path, capsys):
    write_jsonl(tmp_path / "train.jsonl", [{"text": "hi", "label": "a"},
                                           {"text": "mail me at jo.doe@example.com", "label": "b"},
                                           {"text": "ok", "note": "card 4111 1111 1111 1111", "label": "a"},
                                           {"text": "mail ann@example.org", "label": "a"}])
    write_jsonl(tmp_path / "test.jsonl", [{"text": "nothing", "label": "a"}])
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"task": "sequence-classification",
                                      "data": {"train": "train.jsonl", "test": "test.jsonl"}}))
    code, out, err = run_cli(capsys, "check-data", str(config), "--no-model", "--json")
    pii = json.loads(out)["pii"]
    train = pii["splits"]["train"]
    assert train["found"] == 3 and train["fields"]["text"]["EMAIL"] == {
        "count": 2, "lines": [2, 4], "examples": ["j*.***@*******.***", "a**@*******.***"]}
    assert train["fields"]["note"]["CARD"]["lines"] == [3]
    assert pii["splits"]["test"]["found"] == 0
    code, out, err = run_cli(capsys, "check-data", str(config), "--no-model")
    assert "text: EMAIL 2 (e.g. line 2 'j*.***@*******.***', line 4 'a**@*******.***')" in out
    assert "jo.doe" not in out and "4111 1111" not in out


# the server's logs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def intent_run(tmp_path_factory, tiny_model) -> Path:
    import tuneforge

    tmp = tmp_path_factory.mktemp("privacy-intent")
    data = write_csv(tmp / "train.csv", INTENTS * 2)
    return tuneforge.train(text_config(tmp, tiny_model, train=data, dev=data), ["name=intent"])


def test_the_server_logs_no_request_text_unless_asked_and_then_redacted(intent_run, caplog):
    from fastapi.testclient import TestClient

    from tuneforge.serve.app import create_app
    from tuneforge.serve.settings import ServeSettings

    secret = "my card 4111 1111 1111 1111 and mail jo@example.com"
    for log_texts in (False, True):
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            app = create_app(ServeSettings(runs=[f"intent={intent_run}"], log_texts=log_texts))
            with TestClient(app) as c:
                answer = c.post("/v1/models/intent/predict",
                                json={"inputs": [secret, {"text": "call +44 20 7946 0958"}]})
        assert answer.status_code == 200
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "4111" not in logged and "jo@example.com" not in logged and "7946" not in logged
        if log_texts:
            assert 'predict intent: ["my card <CARD> and mail <EMAIL>", "call <PHONE>"]' in logged
        else:
            assert "predict intent" not in logged


# memorisation -------------------------------------------------------------------------------------

def test_memorisation_is_the_share_of_training_pii_a_run_completes(tmp_path, tiny_llama, intent_run, capsys):
    from tuneforge.api import train
    from tuneforge.privacy.memorisation import memorisation
    from tuneforge.runs.directory import load_run

    pairs = [{"prompt": f"How do I reach office {i}?", "completion": "Call us on +44 20 7946 0958 any time."}
             for i in range(8)]
    data = {"train": write_jsonl(tmp_path / "train.jsonl", pairs)}
    common = {"method": "full", "task_options": {"eval_examples": 2, "metrics": ["chrf"]},
              "inference": {"decoding": {"max_new_tokens": 2}}}
    barely = train(gen_config(tmp_path, tiny_llama, data, name="barely", **common,
                              training={"max_steps": 1, "lr": 1e-6}))
    learnt = train(gen_config(tmp_path, tiny_llama, data, name="learnt", **common,
                              training={"max_steps": 250, "lr": 1e-2, "batch_size": 8, "batch_tokens": None,
                                        "epochs": 1000, "eval_every": 1000, "checkpoint_every": 1000}))
    before, after = memorisation(load_run(barely)), memorisation(load_run(learnt))
    assert before["strings"] == after["strings"] == 8  # one phone number per training reply
    assert before["share"] == 0.0 and after["share"] == 1.0 and after["by_kind"] == {
        "PHONE": {"strings": 8, "memorised": 8}}
    assert after["examples"][0] == {"kind": "PHONE", "value": "+** ** **** ****"}
    code, out, err = run_cli(capsys, "memorisation", str(intent_run))
    assert code == 2 and len(err.splitlines()) == 1 and "a generation run, not a sequence-classification run" in err
