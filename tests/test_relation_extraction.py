"""Relation extraction: entity markers, the marker head, the official SemEval score, save and reload."""

from __future__ import annotations

import dataclasses
import json

import torch
from test_text_data import text_config

import tuneforge
from tuneforge.tasks.relation_extraction.metrics import relation_scores

SENTENCES = [
    ('The <e1>author</e1> of a keygen uses a <e2>disassembler</e2>.', "Instrument-Agency(e2,e1)"),
    ('The <e1>company</e1> fabricates plastic <e2>chairs</e2>.', "Product-Producer(e1,e2)"),
    ('The <e1>child</e1> was wrapped into the <e2>cradle</e2>.', "Other"),
    ('A <e1>cup</e1> made by the <e2>potter</e2> broke.', "Product-Producer(e1,e2)"),
]


def write_semeval(path, rows, start=1):
    path.write_text("".join(f'{start + i}\t"{t}"\r\n{label}\r\nComment:\r\n\r\n' for i, (t, label) in enumerate(rows)),
                    encoding="utf-8")
    return path


def test_official_score_is_direction_aware_macro_f1_without_other():
    gold = ["A(e1,e2)", "A(e1,e2)", "B(e2,e1)", "Other", "Other"]
    pred = ["A(e1,e2)", "A(e2,e1)", "B(e2,e1)", "B(e1,e2)", "Other"]
    scores = relation_scores(gold, pred)
    # A: 1 correct, 2 predicted as A (either direction), 2 gold → P=R=0.5; B: 1 correct, 2 predicted, 1 gold
    assert scores["per_relation"]["A"]["f1"] == 0.5
    assert abs(scores["per_relation"]["B"]["f1"] - 2 / 3) < 1e-9
    assert abs(scores["official_f1"] - (0.5 + 2 / 3) / 2) < 1e-9
    assert set(scores["per_relation"]) == {"A", "B"} and "Other" in scores["per_label"]


def test_train_reload_predict_relations(tmp_path, tiny_model):
    train = write_semeval(tmp_path / "TRAIN.TXT", SENTENCES * 4)
    test = write_semeval(tmp_path / "TEST.TXT", SENTENCES, start=100)
    config = text_config(tmp_path, tiny_model, task="relation-extraction", train=train, dev=test, test=test)
    run_dir = tuneforge.train(config, ["training.epochs=25", "training.lr=5e-3", "model.dropout=0.0",
                                       "training.warmup_ratio=0"])
    report = json.loads((run_dir / "report.json").read_text())
    assert report["test"]["official_f1"] == 1.0 and report["test"]["accuracy"] == 1.0
    assert report["test"]["worst_errors"] == []
    model_dir = run_dir / "model"
    assert (model_dir / "relation_head.safetensors").is_file()

    run = tuneforge.load_run(run_dir)
    text, _ = SENTENCES[0]
    [result] = tuneforge.predict(run, [text])
    assert result["label"] == "Instrument-Agency(e2,e1)"
    assert (result["relation"], result["head"], result["tail"]) == ("Instrument-Agency", "disassembler", "author")

    # a wrong answer is kept with its marked sentence, for report.html's worst errors
    examples = run.task.read(str(test), run.config).examples
    relabelled = [dataclasses.replace(examples[0], label="Other"), *examples[1:]]
    [error] = run.task.evaluate(run.model, relabelled)["worst_errors"]
    assert error["text"] == examples[0].text and "<e1>" in error["text"]
    assert (error["gold"], error["predicted"]) == ("Other", examples[0].label)

    # The encoder folder loads with plain transformers; the markers are single added tokens
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.convert_tokens_to_ids("<e1>") in ids and tokenizer.convert_tokens_to_ids("</e2>") in ids
    encoder = AutoModel.from_pretrained(model_dir).eval()
    assert encoder.get_input_embeddings().num_embeddings == len(tokenizer)
    batch = run.task.collate(run.task.encode(run.task.read(str(test), run.config).examples[:1]))
    with torch.no_grad():
        hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        ours = run.model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    pooled = torch.cat([hidden[0, batch["e1_index"][0]], hidden[0, batch["e2_index"][0]]])
    assert torch.allclose(run.model.classifier(pooled), ours[0], atol=1e-5)


def test_long_sentence_is_cropped_around_the_entities(tmp_path, tiny_model):
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_class

    filler = " ".join(["word"] * 60)
    text = f"{filler} the <e1>cup</e1> and the <e2>potter</e2> {filler}"
    train = write_semeval(tmp_path / "TRAIN.TXT", [(text, "Other")])
    cfg = load_config(text_config(tmp_path, tiny_model, task="relation-extraction", train=train))
    Task = task_class(cfg.task)
    task = Task.from_config(load_tokenizer(tiny_model), ["Other"], cfg)
    [feature] = task.encode(Task.read(str(train), cfg).examples)
    assert len(feature) == 32
    tokens = task.tokenizer.convert_ids_to_tokens(feature.input_ids)
    assert tokens[feature.e1] == "<e1>" and tokens[feature.e2] == "<e2>" and "potter" in tokens


def test_lora_on_the_marker_head_saves_and_reloads(tmp_path, tiny_model):
    train = write_semeval(tmp_path / "TRAIN.TXT", SENTENCES * 2)
    config = text_config(tmp_path, tiny_model, task="relation-extraction", train=train, dev=train)
    run_dir = tuneforge.train(config, ["method=lora", "training.epochs=2"])
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in (run_dir / "model").iterdir()}
    report = json.loads((run_dir / "report.json").read_text())
    assert report["training"]["trainable_parameters"] < 0.2 * report["training"]["total_parameters"]
    assert tuneforge.evaluate(tuneforge.load_run(run_dir), train) == report["dev"]  # the head came back too
    assert tuneforge.evaluate(tuneforge.load_run(run_dir, merge=False), train) == report["dev"]
