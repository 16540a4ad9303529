"""train → run directory → evaluate → predict, through the CLI, as a user would."""

from __future__ import annotations

import json

import torch
from conftest import WNUT, make_config

from tuneforge.cli import main


def test_train_evaluate_predict(tmp_path, capsys, tiny_model, small_data):
    config = make_config(tmp_path, tiny_model, small_data, epochs=60, lr=5e-3, warmup_ratio=0.0,
                         weight_decay=0.0, restore_best=False)
    assert main(["train", str(config), "--set", "model.dropout=0.0"]) == 0
    run = tmp_path / "runs" / "t"
    out = capsys.readouterr().out
    assert out.startswith("dev: f1 ") and str(run / "report.md") in out  # a summary; the report is in report.md
    report_md = (run / "report.md").read_text()
    assert "Entity-level, strict IOB2" in report_md and "Token accuracy (secondary" in report_md
    for name in ("config.yaml", "metrics.jsonl", "report.json", "report.md", "run.json",
                 "model/model.safetensors", "model/labels.json", "model/tokenizer.json"):
        assert (run / name).is_file(), name
    assert not (run / "checkpoints").exists()
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and set(info["versions"]) == {"python", "torch", "transformers", "tuneforge"}
    report = json.loads((run / "report.json").read_text())
    assert report["test"]["f1"] == 1.0  # memorised 4 distinct sentences
    assert set(report["test"]["per_type"]) == {"person", "location", "corporation"}
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("split") == "dev" for r in log) and all("padding_fraction" in r for r in log if "loss" in r)

    # model/ loads with plain transformers and gives the same logits as tuneforge's own run
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    import tuneforge

    plain = AutoModelForTokenClassification.from_pretrained(run / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    ours = tuneforge.load_run(run)
    batch = tokenizer(["Alice lives in Paris ."], return_tensors="pt")
    with torch.inference_mode():
        assert torch.allclose(plain(**batch).logits, ours.model(**batch).logits)
    assert plain.config.id2label[1] == json.loads((run / "model" / "labels.json").read_text())[1]

    assert main(["evaluate", str(run), "--data", str(small_data["test"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] == 1.0

    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"text": "Later, Alice lives in Paris ."}) + "\n\n"
                      + json.dumps({"text": ""}) + "\n", encoding="utf-8")
    assert main(["predict", str(run), "Bob Smith works at Acme", "--input", str(inputs),
                 "--output", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["text"] for r in rows] == ["Bob Smith works at Acme", "Later, Alice lives in Paris .", ""]
    found = {(e["type"], e["text"]) for e in rows[0]["entities"] + rows[1]["entities"]}
    assert {("person", "Bob Smith"), ("corporation", "Acme"), ("person", "Alice"), ("location", "Paris")} <= found
    for row in rows:
        for e in row["entities"]:
            assert row["text"][e["start"]:e["end"]] == e["text"] and 0 < e["score"] <= 1
    assert rows[2]["entities"] == []


def test_bundled_minilm_on_wnut17_slice(tmp_path, capsys):
    """The bundled encoder trains a few steps on real WNUT-17 data and reports entity-level scores."""
    lines = (WNUT / "wnut17train.conll").read_text(encoding="utf-8").split("\n")
    train = tmp_path / "train.conll"
    train.write_text("\n".join(lines[:1500]) + "\n", encoding="utf-8")
    data = {"train": train, "dev": WNUT / "emerging.dev.conll"}
    config = make_config(tmp_path, "minilm", data, max_steps=6, eval_every=3, batch_size=8, lr=1e-4)
    assert main(["train", str(config), "--set", "model.max_length=128", "--set", "model.stride=32"]) == 0
    report = json.loads((tmp_path / "runs" / "t" / "report.json").read_text())
    assert report["training"]["steps"] == 6
    assert (report["training"]["device"], report["training"]["processes"]) == ("cpu", 1)
    assert 0.0 <= report["dev"]["f1"] <= 1.0 and report["dev"]["entities"] == 836
