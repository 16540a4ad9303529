"""n-best span decoding over windows and the SQuAD v2 no-answer threshold."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tuneforge.tasks.question_answering.decode import best_span, decode_example, tune_null_threshold


def logits(length: int, **peaks: float) -> np.ndarray:
    """Zeros with the given ``t<index>=value`` peaks."""
    values = np.zeros(length)
    for name, value in peaks.items():
        values[int(name[1:])] = value
    return values


def test_best_span_picks_the_highest_valid_pair():
    start, end = logits(8, t2=5.0, t5=1.0), logits(8, t4=4.0, t6=2.0)
    assert best_span(start, end, np.ones(8, bool), n_best=3, max_answer_length=10) == (2, 4, 9.0)


def test_best_span_respects_max_answer_length():
    start, end = logits(10, t1=5.0, t6=1.0), logits(10, t7=5.0, t2=0.5)
    mask = np.ones(10, bool)
    assert best_span(start, end, mask, 5, max_answer_length=7)[:2] == (1, 7)  # 7 tokens: allowed
    assert best_span(start, end, mask, 5, max_answer_length=6)[:2] == (6, 7)  # 1..7 too long: 1+5 beats 5+0.5
    assert best_span(start, end, mask, 1, max_answer_length=6) is None  # only the top pair, and it is too long


def test_best_span_requires_end_after_start():
    start, end = logits(6, t4=9.0, t1=0.5), logits(6, t2=9.0, t5=1.0)
    assert best_span(start, end, np.ones(6, bool), 6, 10) == (4, 5, 10.0)
    assert best_span(logits(3, t2=1.0), logits(3, t0=1.0), np.array([False, False, True]), 3, 5) == (2, 2, 1.0)


def test_best_span_stays_in_the_context():
    # the question (tokens 0-3) has the highest logits; spans must not start or end there
    start, end = logits(9, t1=20.0, t5=2.0), logits(9, t3=20.0, t7=3.0)
    mask = np.array([False, False, False, False, True, True, True, True, False])
    assert best_span(start, end, mask, n_best=2, max_answer_length=30) == (5, 7, 5.0)
    assert best_span(start, end, np.zeros(9, bool), 2, 30) is None


def test_best_span_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = 40
        start, end = rng.normal(size=n), rng.normal(size=n)
        mask = rng.random(n) > 0.3
        got = best_span(start, end, mask, n_best=n, max_answer_length=5)
        pairs = [(s + e_len, s) for s, e_len in itertools.product(range(n), range(5))]
        valid = [(start[s] + end[e], s, e) for e, s in pairs if e < n and mask[s] and mask[e]]
        score, s, e = max(valid)
        assert got == (s, e, pytest.approx(score))


def window(start: np.ndarray, end: np.ndarray, first_context: int, char_base: int) -> tuple:
    """Tokens before ``first_context`` are [CLS] / question; each context token covers 5 characters."""
    chars = [char_base + 5 * (i - first_context) for i in range(len(start))]
    offsets = [None if i < first_context else (chars[i], chars[i] + 4) for i in range(len(start))]
    return start, end, offsets


def test_decode_example_takes_the_best_window_and_maps_to_characters():
    # window 0 covers characters 0-29, window 1 (overlapping) starts at character 15
    w0 = window(logits(8, t0=1.0, t3=2.0), logits(8, t0=1.5, t4=2.0), first_context=2, char_base=0)
    w1 = window(logits(8, t0=-1.0, t5=3.0), logits(8, t0=0.5, t6=4.0), first_context=2, char_base=15)
    result = decode_example([w0, w1], n_best=5, max_answer_length=10)
    # window 1 wins with 3 + 4: tokens 5..6 -> characters 15 + 5*3 = 30 .. 15 + 5*4 + 4 = 39
    assert (result["start"], result["end"], result["score"]) == (30, 39, 7.0)
    assert result["null_score"] == pytest.approx(-0.5)  # min over windows of the [CLS] start + end logits
    expected = np.exp(3.0) / (np.exp(3.0) + np.exp(-1.0) + 6) * np.exp(4.0) / (np.exp(4.0) + np.exp(0.5) + 6)
    assert result["probability"] == pytest.approx(expected)
    # swapping the windows' order does not change the answer
    assert decode_example([w1, w0], 5, 10)["start"] == 30


def test_decode_example_without_a_valid_span():
    w = window(logits(4, t0=2.0), logits(4, t0=1.0), first_context=4, char_base=0)  # no context tokens
    result = decode_example([w], 3, 5)
    assert result == {"start": None, "end": None, "score": None, "probability": None, "null_score": 3.0}


def test_tune_null_threshold_hand_made():
    # sorted by null - best: a(-2, answer, f1 1), b(-1, null), c(0.5, answer, f1 0.5), d(3, null)
    # thresholds: below -2 -> all null: 2; after a: 3; after b: 2; after c: 2.5; after d: 1.5
    t = tune_null_threshold([0.5, -1.0, 3.0, -2.0], [0.5, 0.0, 0.0, 1.0], [False, True, True, False])
    assert t == pytest.approx(-1.5)  # halfway between a and b: answer a, "no answer" for b, c, d


def test_tune_null_threshold_ends_and_ties():
    assert tune_null_threshold([1.0, 2.0], [1.0, 1.0], [False, False]) > 2.0  # answer everything
    assert tune_null_threshold([1.0, 2.0], [0.0, 0.0], [True, True]) < 1.0  # answer nothing
    # equal values cannot be split: answering the tied pair scores 1 + 0 instead of 1 for "no answer" on one
    t = tune_null_threshold([0.0, 0.0, 5.0], [1.0, 0.0, 0.0], [False, True, True])
    assert t < 0.0  # the lowest of the equally good thresholds (answer nothing), as the official script
