"""Sequence classification end to end: single-label, multi-label thresholds, out-of-scope, class weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from conftest import DATASETS
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.cli import main
from tuneforge.errors import DataError
from tuneforge.tasks.classification.out_of_scope import decide, oos_scores, tune_threshold


def test_train_evaluate_predict_intents(tmp_path, capsys, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS * 4)
    dev = write_csv(tmp_path / "dev.csv", INTENTS)
    config = text_config(tmp_path, tiny_model, train=train, dev=dev, test=dev)
    assert main(["train", str(config), "--set", "training.epochs=30", "--set", "training.lr=5e-3",
                 "--set", "model.dropout=0.0", "--set", "training.warmup_ratio=0"]) == 0
    run = tmp_path / "runs" / "t"
    assert "| card_arrival |" in (run / "report.md").read_text()  # the per-label table is in the report
    assert "test: accuracy 1.0000" in capsys.readouterr().out  # the terminal gets the headline scores
    report = json.loads((run / "report.json").read_text())
    assert report["test"]["accuracy"] == 1.0  # memorised six texts
    assert set(report["test"]) >= {"accuracy", "macro_f1", "micro_f1", "per_label", "confusion"}
    assert report["test"]["confusion"]["labels"] == ["card_arrival", "close_account", "top_up"]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["training"]["early_stopping"]["metric"] == "accuracy"  # the resolved selection metric is saved

    # model/ is a plain transformers sequence classifier with the label map
    from transformers import AutoModelForSequenceClassification

    plain = AutoModelForSequenceClassification.from_pretrained(run / "model").eval()
    assert plain.config.id2label[0] == "card_arrival"
    predictions = tuneforge.predict(run, ["where is my card", "please delete my account"])
    assert [p["label"] for p in predictions] == ["card_arrival", "close_account"]
    assert len(predictions[0]["top_k"]) == 3 and predictions[0]["top_k"][0]["label"] == "card_arrival"
    assert abs(sum(t["probability"] for t in predictions[0]["top_k"]) - 1) < 1e-3
    assert tuneforge.evaluate(run, dev)["accuracy"] == 1.0


def test_multi_label_thresholds_tuned_saved_and_reloaded(tmp_path, tiny_model):
    """A small real multi-label set: CLINC150 queries labelled with their domain and their intent."""
    data = json.loads((DATASETS / "clinc150" / "data_full.json").read_text())
    domains = json.loads((DATASETS / "clinc150" / "domains.json").read_text())
    domain_of = {intent: d for d, intents in domains.items() for intent in intents}
    keep = {"transfer", "balance", "timer", "alarm", "translate"}

    def write(split, path, per_intent):
        rows = [{"text": t, "labels": [domain_of[i], i]} for i in sorted(keep)
                for t in [t for t, j in data[split] if j == i][:per_intent]]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    train, dev = write("train", tmp_path / "train.jsonl", 30), write("val", tmp_path / "dev.jsonl", 10)
    config = text_config(tmp_path, tiny_model, train=train, dev=dev, test=dev, label_field="labels")
    run_dir = tuneforge.train(config, ["task_options.multi_label=true", "training.epochs=3", "training.lr=3e-3"])
    state = json.loads((run_dir / "model" / "task.json").read_text())
    run = tuneforge.load_run(run_dir)
    labels = run.labels
    assert len(state["label_thresholds"]) == len(labels) == 5 + len({domain_of[i] for i in keep})

    # the saved thresholds are exactly what tuning on dev gives for the final weights
    from tuneforge.tasks.classification.label_thresholds import tune_label_thresholds

    dev_examples = run.task.read(str(dev), run.config).examples
    probs = run.task.probabilities(run.model, dev_examples)
    gold = np.array([[float(label in e.labels) for label in labels] for e in dev_examples])
    assert state["label_thresholds"] == tune_label_thresholds(probs, gold)
    assert state["label_thresholds"] != [0.5] * len(labels)

    texts = [e.text for e in dev_examples[:20]]
    first = tuneforge.predict(run, texts)
    again = tuneforge.predict(tuneforge.load_run(run_dir), texts)
    assert first == again and all("labels" in p for p in first)
    expected = [[x for j, x in enumerate(labels) if row[j] >= state["label_thresholds"][j]] for row in probs[:20]]
    assert [p["labels"] for p in first] == expected


def test_out_of_scope_threshold_tuning_and_scores():
    labels = ["a", "b"]
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45], [0.6, 0.4], [0.52, 0.48]])
    gold = ["a", "b", "oos", "a", "oos"]
    best = tune_threshold(probs, gold, labels, "oos", "balanced")
    assert best["threshold"] == 0.6 and best["in_scope_accuracy"] == 1.0 and best["oos_recall"] == 1.0
    # with no in-scope accuracy to spare, the threshold may only reject what costs nothing
    costly = np.array([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45], [0.53, 0.47], [0.52, 0.48]])
    best = tune_threshold(costly, gold, labels, "oos", "in-scope-budget", budget=0.0)
    assert best["threshold"] == 0.53 and best["in_scope_accuracy"] == 1.0 and best["oos_recall"] == 0.5
    assert tune_threshold(costly, gold, labels, "oos", "in-scope-budget", budget=0.5)["oos_recall"] == 1.0
    predicted = decide(probs, labels, "oos", 0.6)
    assert predicted == ["a", "b", "oos", "a", "oos"]
    scores = oos_scores(gold, ["a", "oos", "oos", "a", "b"], "oos")
    assert scores["in_scope_accuracy"] == 2 / 3 and scores["oos_recall"] == 0.5 and scores["oos_precision"] == 0.5


def test_oos_threshold_run_saves_threshold_and_answers_oos(tmp_path, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS * 3)
    dev = write_csv(tmp_path / "dev.csv", [*INTENTS, ("what is the weather", "oos"), ("sing me a song", "oos")])
    config = text_config(tmp_path, tiny_model, train=train, dev=dev, test=dev)
    run_dir = tuneforge.train(config, ["task_options.out_of_scope_label=oos", "task_options.oos_threshold=auto"])
    run = tuneforge.load_run(run_dir)
    threshold = json.loads((run_dir / "model" / "task.json").read_text())["oos_threshold"]
    assert threshold is not None and run.labels == ["card_arrival", "close_account", "top_up"]
    report = json.loads((run_dir / "report.json").read_text())
    assert {"in_scope_accuracy", "oos_recall", "oos_precision"} <= set(report["test"])
    probs = run.task.probabilities(run.model, run.task.read(str(dev), run.config).examples)
    predictions = tuneforge.predict(run, [t for t, _ in INTENTS] + ["what is the weather", "sing me a song"])
    for p, row in zip(predictions, probs, strict=True):
        assert p["out_of_scope"] == (row.max() < threshold) and (p["label"] == "oos") == p["out_of_scope"]


def test_balanced_class_weights_change_the_loss(tmp_path, tiny_model):
    from tuneforge.config.loading import load_config
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_class

    train = write_csv(tmp_path / "train.csv", INTENTS[:2] * 5 + INTENTS[2:4])
    config = load_config(text_config(tmp_path, tiny_model, train=train), ["task_options.class_weights=balanced"])
    Task = task_class(config.task)
    examples = Task.read(str(train), config).examples
    task = Task.from_config(load_tokenizer(tiny_model), ["card_arrival", "top_up"], config, train_examples=examples)
    assert task.class_weights == [12 / (2 * 10), 12 / (2 * 2)]
    model = task.build_model(tiny_model, 0.0).eval()
    batch = task.collate(task.encode(examples))
    weighted, n = task.compute_loss(model, batch)
    task.class_weights = None
    plain, _ = task.compute_loss(model, batch)
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    weight = torch.tensor([0.6, 3.0])
    manual = torch.nn.functional.cross_entropy(logits, batch["labels"], weight=weight, reduction="sum")
    assert n == 12 and torch.allclose(weighted, manual) and not torch.allclose(weighted, plain)


def test_text_pairs_are_encoded_together_and_predicted(tmp_path, tiny_model):
    rows = [{"text": "a cat sat", "text_pair": "a cat sat", "label": "same"},
            {"text": "a cat sat", "text_pair": "the sun rose", "label": "different"},
            {"text": "buy milk", "text_pair": "buy milk", "label": "same"},
            {"text": "buy milk", "text_pair": "rain today", "label": "different"}]
    train = tmp_path / "pairs.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows * 3))
    config = text_config(tmp_path, tiny_model, train=train, label_field="label", text_pair_field="text_pair")
    run_dir = tuneforge.train(config, ["training.max_steps=2"])
    run = tuneforge.load_run(run_dir)
    [feature] = run.task.encode(run.task.read(str(train), run.config).examples[:1])
    assert feature.input_ids.count(run.tokenizer.sep_token_id) == 2 and 1 in feature.token_type_ids
    [result] = tuneforge.predict(run, [("a cat sat", "the sun rose")])
    assert result["text_pair"] == "the sun rose" and result["label"] in ("same", "different")
    # Each item on its own (#21): a pair after a pair-less item is not dropped, and a missing pair is named.
    alone = tuneforge.predict(run, [("buy milk", "rain today")])[0]
    with pytest.raises(DataError, match="input 1: this run classifies text pairs; give text_pair too"):
        tuneforge.predict(run, ["a cat sat", ("buy milk", "rain today")])
    both = tuneforge.predict(run, [("a cat sat", "the sun rose"), ("buy milk", "rain today")])
    assert both[1]["text_pair"] == "rain today" and both[1]["probability"] == alone["probability"]


def test_a_text_pair_for_a_single_text_run_or_an_ner_run_is_one_line(tmp_path, tiny_model, small_data):
    from conftest import make_config

    train = write_csv(tmp_path / "train.csv", INTENTS * 3)
    run = tuneforge.load_run(tuneforge.train(text_config(tmp_path, tiny_model, train=train),
                                             ["training.max_steps=1"]))
    with pytest.raises(DataError, match="input 2: this run classifies single texts"):
        tuneforge.predict(run, ["hello", ("hello", "there")])
    (tmp_path / "ner").mkdir()
    ner = tuneforge.load_run(tuneforge.train(make_config(tmp_path / "ner", tiny_model, small_data),
                                             ["training.max_steps=1"]))
    with pytest.raises(DataError, match="input 1: a token-classification run tags plain texts, not text pairs"):
        tuneforge.predict(ner, [("Alice lives in Paris", "pair")])


def test_calibrate_retunes_the_threshold_without_retraining(tmp_path, capsys, tiny_model):
    train = write_csv(tmp_path / "train.csv", INTENTS * 3)
    dev = write_csv(tmp_path / "dev.csv", [*INTENTS, ("what is the weather", "oos"), ("sing me a song", "oos")])
    config = text_config(tmp_path, tiny_model, train=train, dev=dev, test=dev)
    run_dir = tuneforge.train(config, ["task_options.out_of_scope_label=oos", "task_options.oos_threshold=auto",
                                       "training.max_steps=3"])
    weights = (run_dir / "model" / "model.safetensors").read_bytes()
    assert main(["calibrate", str(run_dir), "--set", "task_options.oos_calibration=balanced"]) == 0
    run = tuneforge.load_run(run_dir)
    examples = run.task.read(str(dev), run.config).examples
    probs = run.task.probabilities(run.model, examples)
    expected = tune_threshold(probs, [e.label for e in examples], run.labels, "oos", "balanced")
    assert json.loads((run_dir / "model" / "task.json").read_text())["oos_threshold"] == expected["threshold"]
    assert run.config.task_options.oos_calibration == "balanced"
    assert json.loads((run_dir / "report.json").read_text())["dev"]["oos_recall"] == expected["oos_recall"]
    assert (run_dir / "model" / "model.safetensors").read_bytes() == weights
    assert main(["calibrate", str(run_dir), "--set", "training.lr=1"]) == 2
    assert "only task_options" in capsys.readouterr().err
