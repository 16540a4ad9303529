"""Text-generation metrics: scale, hand-computed values, multi-reference handling, slot recall, errors."""

from __future__ import annotations

import pytest

from tuneforge.tasks.generation.metrics import (
    HIGHER_IS_BETTER,
    METRICS,
    best_references,
    slot_recall,
    text_scores,
)

ALL_TEXT = ["rouge", "bleu", "chrf"]
SENTENCE = "the quick brown fox jumps over the lazy dog"


def test_identical_output_scores_100() -> None:
    scores = text_scores([SENTENCE], [[SENTENCE]], ALL_TEXT)
    assert set(scores) == {"rouge1", "rouge2", "rougeL", "bleu", "chrf"}
    for key, value in scores.items():
        assert value == pytest.approx(100.0), key


def test_disjoint_output_scores_zero() -> None:
    scores = text_scores(["purple elephants sing loudly"], [[SENTENCE]], ALL_TEXT)
    for key in ("rouge1", "rouge2", "rougeL", "bleu"):
        assert scores[key] == 0.0, key
    assert scores["chrf"] < 10


def test_empty_output_is_legal_and_scores_zero() -> None:
    scores = text_scores(["", SENTENCE], [[SENTENCE], [SENTENCE]], ["rouge", "chrf"])
    # One perfect example and one empty one: ROUGE is a mean over examples.
    assert scores["rouge1"] == pytest.approx(50.0)
    assert 0 < scores["chrf"] < 100
    only_empty = text_scores([""], [[SENTENCE]], ALL_TEXT)
    assert all(value == 0.0 for value in only_empty.values())


def test_rouge1_hand_computed() -> None:
    # 2 shared unigrams of 3 each side: P = R = 2/3, so F = 2/3.
    scores = text_scores(["the cat sat"], [["the cat ran"]], ["rouge"])
    assert scores["rouge1"] == pytest.approx(200 / 3)
    # Bigrams: "the cat" shared out of 2 each side -> F = 1/2; LCS "the cat" = 2 of 3 -> 2/3.
    assert scores["rouge2"] == pytest.approx(50.0)
    assert scores["rougeL"] == pytest.approx(200 / 3)


def test_rouge_is_mean_over_examples() -> None:
    scores = text_scores(["the cat sat", "a b c d"], [["the cat ran"], ["a b c d"]], ["rouge"])
    assert scores["rouge1"] == pytest.approx((200 / 3 + 100) / 2)


def test_rouge_stemmer_works_offline() -> None:
    # Porter stemming (nltk, no downloads) maps cats->cat and running->run.
    scores = text_scores(["the cats running"], [["the cat run"]], ["rouge"])
    assert scores["rouge1"] == pytest.approx(100.0)


@pytest.mark.parametrize("keys", [("rouge1", "rouge2", "rougeL"), ("bleu",), ("chrf",)])
def test_multiple_references_use_best_match(keys: tuple[str, ...]) -> None:
    metric = next(name for name, produced in METRICS.items() if produced == keys)
    output = ["the cat sat on the mat today"]
    good, bad = "the cat sat on a mat today", "a dog ran in the park"
    both = text_scores(output, [[bad, good]], [metric])
    reversed_order = text_scores(output, [[good, bad]], [metric])
    alone_good = text_scores(output, [[good]], [metric])
    alone_bad = text_scores(output, [[bad]], [metric])
    for key in keys:
        assert both[key] == pytest.approx(alone_good[key]), key
        assert both[key] == pytest.approx(reversed_order[key]), key
        assert both[key] > alone_bad[key], key


@pytest.mark.parametrize("metric", ["bleu", "chrf"])
def test_best_reference_is_picked_per_example(metric: str) -> None:
    import sacrebleu

    outputs = ["the cat sat on the mat", "my phone number is five five five"]
    references = [
        ["the cat sat on a mat", "stocks fell sharply on monday"],
        ["please call me later", "my phone number is five five nine"],
    ]
    assert best_references(outputs, references, metric) == [references[0][0], references[1][1]]
    expected = sacrebleu.corpus_bleu if metric == "bleu" else sacrebleu.corpus_chrf
    picked = [references[0][0], references[1][1]]
    assert text_scores(outputs, references, [metric])[metric] == pytest.approx(expected(outputs, [picked]).score)


def test_best_references_ties_go_to_first() -> None:
    assert best_references(["zzz"], [["alpha", "beta"]], "bleu") == ["alpha"]
    assert best_references(["zzz"], [["alpha", "beta"]], "chrf") == ["alpha"]


def test_bleu_matches_sacrebleu_with_single_reference() -> None:
    import sacrebleu

    outputs = ["the cat is on the mat", "there is a cat on the mat", "hello world", ""]
    refs = ["the cat sat on the mat", "a cat is on the mat", "hello there world", "something"]
    expected = sacrebleu.corpus_bleu(outputs, [refs]).score
    assert 0 < expected < 100
    got = text_scores(outputs, [[r] for r in refs], ["bleu"])["bleu"]
    assert got == pytest.approx(expected)


def test_slot_recall_counts_found_values() -> None:
    outputs = ["Your flight to Berlin leaves at 9:30.", "Booked a table."]
    values = [["berlin", "9:30"], ["Friday"]]
    assert slot_recall(outputs, values) == pytest.approx(2 / 3)
    scores = text_scores(outputs, [["x"], ["y"]], ["slot_recall"], values=values)
    assert scores == {"slot_recall": pytest.approx(2 / 3)}


def test_slot_recall_is_case_and_whitespace_insensitive() -> None:
    assert slot_recall(["Arrives in NEW   YORK\ntomorrow"], [["new york", "Tomorrow"]]) == 1.0
    assert slot_recall(["new yorker"], [["new  york"]]) == 1.0  # substring match, by design


def test_slot_recall_without_values_is_none_and_omitted() -> None:
    assert slot_recall(["a", "b"], [[], []]) is None
    assert text_scores(["a", "b"], [["a"], ["b"]], ["slot_recall"], values=[[], []]) == {}
    assert text_scores(["a"], [["a"]], ["slot_recall"]) == {}
    # Examples without values contribute nothing to the pooled share.
    assert slot_recall(["x", "has foo"], [[], ["foo"]]) == 1.0


def test_perplexity_is_listed_but_not_computed_here() -> None:
    assert METRICS["perplexity"] == ("perplexity",)
    assert text_scores(["a"], [["a"]], ["perplexity"]) == {}


def test_higher_is_better_covers_every_key() -> None:
    keys = {key for produced in METRICS.values() for key in produced}
    assert set(HIGHER_IS_BETTER) == keys
    assert HIGHER_IS_BETTER["perplexity"] is False
    assert all(HIGHER_IS_BETTER[key] for key in keys - {"perplexity"})


def test_unknown_metric_is_rejected_with_known_names() -> None:
    with pytest.raises(ValueError, match="meteor") as err:
        text_scores(["a"], [["a"]], ["rouge", "meteor"])
    for name in METRICS:
        assert name in str(err.value)


def test_length_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="2 outputs but 1 reference"):
        text_scores(["a", "b"], [["a"]], ["bleu"])
    with pytest.raises(ValueError, match="value lists"):
        text_scores(["a"], [["a"]], ["slot_recall"], values=[["a"], ["b"]])


def test_missing_references_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one reference"):
        text_scores(["a"], [[]], ["rouge"])
