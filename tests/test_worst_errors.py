"""Worst errors kept in the scores (sequence and token classification) and the out-of-scope trade-off curve."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from tuneforge.config.loading import validate
from tuneforge.data.examples import TaggedSentence, TextExample
from tuneforge.tasks.classification.out_of_scope import decide, oos_curve, oos_scores, tune_threshold
from tuneforge.tasks.classification.worst_errors import entity_errors, multi_label_errors, single_label_errors
from tuneforge.tasks.sequence_classification.task import SequenceClassification
from tuneforge.tasks.token_classification.task import TokenClassification

TOKENIZER = SimpleNamespace(pad_token_id=0)  # evaluate never tokenizes once probabilities are given


def texts(*rows) -> list[TextExample]:
    return [TextExample(text, label, f"t.csv:{i + 2}", pair) for i, (text, label, pair) in enumerate(rows)]


def sequence_task(monkeypatch, probs: np.ndarray, labels: list[str], **options) -> SequenceClassification:
    cfg = validate({"task": "sequence-classification", "data": {"train": "t.csv"}, "task_options": options})
    task = SequenceClassification(TOKENIZER, labels, cfg)
    monkeypatch.setattr(task, "probabilities", lambda model, examples, **_: probs)
    return task


def test_single_label_errors_most_confident_first(monkeypatch):
    examples = texts(("right", "a", None), ("<b>sure</b> & wrong", "a", None), ("unsure", "b", "its pair"),
                     ("tied", "b", None), ("tied later", "a", None))
    probs = np.array([[0.9, 0.1], [0.12345, 0.87655], [0.6, 0.4], [0.7, 0.3], [0.3, 0.7]])
    scores = sequence_task(monkeypatch, probs, ["a", "b"]).evaluate(None, examples)
    assert scores["accuracy"] == 0.2
    assert scores["worst_errors"] == [
        {"text": "<b>sure</b> & wrong", "gold": "a", "predicted": "b", "probability": 0.8766},
        {"text": "tied", "gold": "b", "predicted": "a", "probability": 0.7},
        {"text": "tied later", "gold": "a", "predicted": "b", "probability": 0.7},  # a tie keeps input order
        {"text": "unsure", "text_pair": "its pair", "gold": "b", "predicted": "a", "probability": 0.6},
    ]
    assert "oos_curve" not in scores  # no threshold was tuned
    json.dumps(scores)  # report.json takes it as it is


def test_single_label_errors_keep_the_top_twenty():
    examples = texts(*[(f"text {i}", "a", None) for i in range(30)])
    probs = np.array([[0.0, 0.5 + i / 100] for i in range(30)])
    errors = single_label_errors(examples, ["b"] * 30, probs)
    assert [e["text"] for e in errors] == [f"text {i}" for i in range(29, 9, -1)]
    assert single_label_errors(examples[:0], [], np.zeros((0, 2))) == []


def test_multi_label_errors_most_labels_wrong_first(monkeypatch):
    examples = texts(("one off", ["x", "y"], None), ("right", ["x"], None), ("all wrong", ["z", "x"], None),
                     ("missed", ["y"], None))
    probs = np.array([[0.9, 0.1, 0.2], [0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.1]])
    task = sequence_task(monkeypatch, probs, ["x", "y", "z"], multi_label=True)
    assert task.evaluate(None, examples)["worst_errors"] == [
        {"text": "all wrong", "gold": ["x", "z"], "predicted": ["y"]},  # 3 labels wrong; label order
        {"text": "one off", "gold": ["x", "y"], "predicted": ["x"]},
        {"text": "missed", "gold": ["y"], "predicted": []},
    ]
    assert multi_label_errors(examples[1:2], [["x"]], ["x", "y", "z"]) == []


def test_entity_errors_most_wrong_entities_first(monkeypatch):
    labels = ["O", "B-loc", "I-loc", "B-per", "I-per"]
    sentences = [TaggedSentence(["Bob", "in", "Paris"], ["B-per", "O", "B-loc"], "t:1"),
                 TaggedSentence(["<New>", "York", "&", "Ann"], ["B-loc", "I-loc", "O", "B-per"], "t:5"),
                 TaggedSentence(["Ann", "ran"], ["B-per", "O"], "t:10"),
                 TaggedSentence(["Rome"], ["B-loc"], "t:13")]
    predicted = [["B-per", "O", "B-per"],  # Paris: loc missed, per invented (2 wrong)
                 ["B-loc", "O", "O", "B-loc"],  # New York cut short, Ann's type wrong (4 wrong)
                 ["B-per", "O"],  # right
                 ["O"]]  # Rome missed (1 wrong)
    task = TokenClassification(TOKENIZER, labels, max_length=32, stride=8)
    monkeypatch.setattr(task, "word_predictions",
                        lambda model, s, **_: [(tags, [1.0] * len(tags)) for tags in predicted])
    scores = task.evaluate(None, sentences)
    assert scores["worst_errors"] == [
        {"tokens": ["<New>", "York", "&", "Ann"], "gold": [["loc", 0, 2], ["per", 3, 4]],
         "predicted": [["loc", 0, 1], ["loc", 3, 4]]},
        {"tokens": ["Bob", "in", "Paris"], "gold": [["per", 0, 1], ["loc", 2, 3]],
         "predicted": [["per", 0, 1], ["per", 2, 3]]},
        {"tokens": ["Rome"], "gold": [["loc", 0, 1]], "predicted": []},
    ]
    assert scores["f1"] == pytest.approx(2 * (2 / 5) * (2 / 6) / (2 / 5 + 2 / 6))  # the scores are still there
    assert entity_errors(sentences[2:3], [["B-per", "O"]]) == []


# the out-of-scope trade-off ---------------------------------------------------------------------------------
LABELS = ["a", "b"]
PROBS = np.array([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45], [0.6, 0.4], [0.52, 0.48]])
GOLD = ["a", "b", "oos", "a", "oos"]
# by hand (exact: counts over counts): an input is out of scope below the threshold;
# in scope: a (0.9), b (0.8), a (0.6); oos: 0.55, 0.52
HAND = [(0.0, 1.0, 0.0), (0.52, 1.0, 0.0), (0.55, 1.0, 0.5), (0.6, 1.0, 1.0), (0.8, 2 / 3, 1.0), (0.9, 1 / 3, 1.0)]


def points(curve):
    return [(p["threshold"], p["in_scope_accuracy"], p["oos_recall"]) for p in curve]


def test_oos_curve_by_hand():
    curve = oos_curve(PROBS, GOLD, LABELS, "oos")
    assert points(curve) == HAND
    assert curve[0] == {"threshold": 0.0, "in_scope_accuracy": 1.0, "oos_recall": 0.0}  # 0: everything in scope
    assert all(type(v) is float for p in curve for v in p.values())  # plain floats for report.json
    # thinned evenly through the thresholds, the ends and the chosen threshold kept
    thinned = oos_curve(PROBS, GOLD, LABELS, "oos", chosen=0.6, points=3)
    assert points(thinned) == [HAND[0], HAND[2], HAND[3], HAND[5]]
    assert len(oos_curve(np.random.default_rng(0).dirichlet([1, 1, 1], 500), ["oos", "a"] * 250,
                         ["a", "b", "c"], "oos")) == 50


def test_oos_curve_with_out_of_scope_as_a_trained_class():
    # labels a, oos: the second input is answered oos at any threshold; the third is never caught (0.8 is the
    # highest threshold tried, and an input is rejected only below it)
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.8, 0.2]])
    curve = oos_curve(probs, ["a", "oos", "oos"], ["a", "oos"], "oos")
    assert points(curve) == [(0.0, 1.0, 0.5), (0.6, 1.0, 0.5), (0.7, 1.0, 0.5), (0.8, 0.0, 0.5)]


def reference_tune(probs, gold, labels, oos, objective, budget):
    """tune_threshold as it was: decide and score at every candidate threshold."""
    floor = oos_scores(gold, decide(probs, labels, oos, None), oos)["in_scope_accuracy"] - budget
    best = None
    for threshold in np.unique(np.concatenate([probs.max(axis=1), [0.0]])):
        scores = oos_scores(gold, decide(probs, labels, oos, float(threshold)), oos)
        if objective == "balanced":
            value = (scores["in_scope_accuracy"] + scores["oos_recall"]) / 2
        elif scores["in_scope_accuracy"] >= floor - 1e-12:
            value = scores["oos_recall"]
        else:
            continue
        if best is None or value > best["objective"] + 1e-12:
            best = {"threshold": float(threshold), "objective": value, **scores}
    return best


@pytest.mark.parametrize("seed", range(6))
def test_curve_and_tuning_match_decide_at_every_threshold(seed):
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "oos"] if seed % 2 else ["a", "b", "c"]
    probs = rng.dirichlet([1, 1, 1], 40).round(1 if seed > 3 else 6)  # rounded: many tied probabilities
    if seed % 3 == 0:
        probs = probs * 2 - 1  # confidences below 0 (embedding-classification's cosine similarities)
    gold = list(rng.choice(["a", "b", "c", "oos"], 40))
    for p in oos_curve(probs, gold, labels, "oos", points=1000):
        scores = oos_scores(gold, decide(probs, labels, "oos", p["threshold"]), "oos")
        assert (p["in_scope_accuracy"], p["oos_recall"]) == (scores["in_scope_accuracy"], scores["oos_recall"])
    for objective, budget in (("balanced", 0.02), ("in-scope-budget", 0.0), ("in-scope-budget", 0.1)):
        assert tune_threshold(probs, gold, labels, "oos", objective, budget) == \
            reference_tune(probs, gold, labels, "oos", objective, budget)


def test_dev_scores_carry_the_curve_the_threshold_was_tuned_on(monkeypatch):
    dev = texts(*[(f"dev {i}", g, None) for i, g in enumerate(GOLD)])
    task = sequence_task(monkeypatch, PROBS, LABELS, out_of_scope_label="oos", oos_threshold="auto",
                         oos_calibration="balanced")
    task.calibrate(None, dev)
    scores = task.evaluate(None, dev)
    assert scores["oos_threshold"] == 0.6 and points(scores["oos_curve"]) == HAND
    assert "oos_curve" not in task.evaluate(None, list(dev))  # other examples (test): scored, no curve
    tuned = task.evaluate(None, dev, tune=True)  # during training: tuned on the examples it scores
    assert points(tuned["oos_curve"]) == HAND
