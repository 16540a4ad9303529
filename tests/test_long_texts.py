"""#21: a classification text longer than model.max_length is never cut in silence: windowed (scored by the
mean over its windows), truncated and counted, or refused naming the record — per task_options.long_texts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_text_data import INTENTS, text_config, write_csv

import tuneforge
from tuneforge.config.loading import load_config
from tuneforge.data.examples import TextExample
from tuneforge.errors import DataError
from tuneforge.models import load_tokenizer
from tuneforge.tasks.sequence_classification import task as sc

LONG = " ".join(["my card has not arrived yet and I am waiting"] * 12)  # ~120 sub-words, max_length 32


def task_for(tmp_path, tiny_model, **options):
    config = text_config(tmp_path, tiny_model, train=write_csv(tmp_path / "train.csv", INTENTS))
    cfg = load_config(config, [f"task_options.{k}={v}" for k, v in options.items()])
    return sc.SequenceClassification(load_tokenizer(tiny_model), ["card_arrival", "close_account", "top_up"], cfg)


def test_a_long_text_becomes_overlapping_windows_and_a_short_one_stays_whole(tmp_path, tiny_model):
    task = task_for(tmp_path, tiny_model)
    features = task.encode([TextExample(LONG, "card_arrival", "a:1"), TextExample("where is my card", "card_arrival",
                                                                                  "a:2")])
    owners = [f.example for f in features]
    assert owners.count(0) > 3 and owners.count(1) == 1 and owners == sorted(owners)
    assert all(len(f.input_ids) <= 32 for f in features)
    assert all(f.label == 0 for f in features)  # every window trains on the text's label
    assert task.over_length == {"training": 1, "last": 1}
    # neighbouring windows share model.stride sub-words (capped at half the window)
    first, second = features[0].input_ids[1:-1], features[1].input_ids[1:-1]
    assert first[-15:] == second[:15]


def test_a_long_text_is_scored_by_the_mean_of_its_windows(tmp_path, tiny_model, monkeypatch):
    task = task_for(tmp_path, tiny_model)
    examples = [TextExample("where is my card", None, "a:1"), TextExample(LONG, None, "a:2")]
    n = len(task.encode(examples, with_labels=False))
    rows = [np.array([0.1 * i, 1 - 0.1 * i, 0.0]) for i in range(n)]
    monkeypatch.setattr(sc, "predict_probs", lambda *args, **kwargs: rows)
    probs = task.probabilities(None, examples)
    assert probs.shape == (2, 3)
    assert np.allclose(probs[0], rows[0]) and np.allclose(probs[1], np.mean(rows[1:], axis=0))


def test_truncate_keeps_the_first_window_and_counts(tmp_path, tiny_model):
    task = task_for(tmp_path, tiny_model, long_texts="truncate")
    features = task.encode([TextExample(LONG, "card_arrival", "a:1")], with_labels=False)
    assert len(features) == 1 and len(features[0].input_ids) == 32
    assert task.over_length["last"] == 1 and task.windows_per_text[0] > 3


def test_error_mode_names_the_record_before_any_run_is_written(tmp_path, tiny_model):
    train = write_csv(tmp_path / "train.csv", [*INTENTS, (LONG, "card_arrival")])
    config = text_config(tmp_path, tiny_model, train=train)
    with pytest.raises(DataError, match=r"train.csv:8: longer than model.max_length=32 sub-words \(1 such text"):
        tuneforge.train(config, ["task_options.long_texts=error"])
    assert not (tmp_path / "runs").exists()


def test_a_text_pair_that_leaves_no_room_is_one_line_naming_it(tmp_path, tiny_model):
    task = task_for(tmp_path, tiny_model)
    with pytest.raises(DataError, match=r"b:7: text_pair alone is \d+ sub-words"):
        task.encode([TextExample("short", None, "b:7", LONG)], with_labels=False)


def test_training_reports_long_texts_and_predict_says_how_it_read_them(tmp_path, tiny_model, capsys):
    train = write_csv(tmp_path / "train.csv", [*INTENTS, (LONG, "card_arrival")] * 2)
    dev = write_csv(tmp_path / "dev.csv", [*INTENTS, (LONG, "card_arrival")])
    run = tuneforge.train(text_config(tmp_path, tiny_model, train=train, dev=dev, test=dev))
    assert "2 of 14 training texts are longer than model.max_length=32 sub-words: windowed" in capsys.readouterr().err
    report = json.loads((run / "report.json").read_text())
    assert report["train_texts_over_max_length"] == 2 and report["long_texts"] == "window"
    assert report["test"]["texts_over_max_length"] == 1 and report["dev"]["texts_over_max_length"] == 1
    long, short = tuneforge.predict(run, [LONG, "where is my card"])
    assert long["windows"] > 3 and "windows" not in short


def test_embedding_classification_counts_the_training_texts_it_embeds_from_their_start(tmp_path, tiny_model, capsys):
    from test_prompting import DESCRIBED, embedding_config

    from tuneforge.tasks.embedding_classification.task import EmbeddingClassification

    cfg = load_config({**embedding_config(tmp_path, tiny_model, contrastive="descriptions"),
                       "data": {"train": "unused.csv"}})
    task = EmbeddingClassification(load_tokenizer(tiny_model), [s["name"] for s in DESCRIBED], cfg,
                                   cfg.task_options.labels)
    features = task.encode([TextExample(LONG, "card_arrival", "a:1"), TextExample("top up", "top_up", "a:2")])
    assert [len(f.input_ids) for f in features][0] == 32 and len(features) == 2
    assert task.summary()["train_texts_over_max_length"] == 1
    assert "1 of 2 training texts are longer than model.max_length=32" in capsys.readouterr().err
