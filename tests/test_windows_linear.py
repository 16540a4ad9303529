"""Windowing runs in linear time and cuts exactly the windows the original quadratic code cut.

The reference below is a verbatim copy of the original ``_cut``, ``_owners`` and ``make_windows``
(O(words x windows)); the fast versions must agree with it on every input.
"""

from __future__ import annotations

import random

import pytest

from tuneforge.tasks.token_classification.windows import Window, _cut, _owners, make_windows, special_layout

# reference: the original quadratic implementation ---------------------------------------------


def ref_cut(starts: list[int], total: int, capacity: int, stride: int) -> list[tuple[int, int]]:
    if total <= capacity:
        return [(0, total)]
    bounds = [*starts, total]
    windows, start = [], 0
    while True:
        end = max(b for b in bounds if b <= start + capacity)
        if end <= start:
            end = min(total, start + capacity)
        windows.append((start, end))
        if end >= total:
            return windows
        start = min(b for b in bounds if b >= end - stride and b > start)


def ref_owners(starts: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    owners = []
    for s in starts:
        best, best_context = 0, -1
        for k, (lo, hi) in enumerate(ranges):
            if lo <= s < hi:
                context = min(s - lo, hi - 1 - s)
                if context > best_context:
                    best, best_context = k, context
        owners.append(best)
    return owners


def ref_make_windows(pieces: list[list[list[int]]], tokenizer, max_length: int, stride: int) -> list[Window]:
    prefix, suffix = special_layout(tokenizer)
    capacity = max_length - len(prefix) - len(suffix)
    windows: list[Window] = []
    for example, words in enumerate(pieces):
        flat = [p for word in words for p in word]
        word_of = [w for w, word in enumerate(words) for _ in word]
        starts, position = [], 0
        for word in words:
            starts.append(position)
            position += len(word)
        ranges = ref_cut(starts, len(flat), capacity, stride)
        owner = ref_owners(starts, ranges)
        for k, (lo, hi) in enumerate(ranges):
            owned = [w for w, s in enumerate(starts) if owner[w] == k]
            windows.append(
                Window(
                    example=example,
                    input_ids=prefix + flat[lo:hi] + suffix,
                    word_ids=[None] * len(prefix) + word_of[lo:hi] + [None] * len(suffix),
                    owned_first=[len(prefix) + starts[w] - lo for w in owned],
                    owned_words=owned,
                )
            )
    return windows


# helpers ---------------------------------------------------------------------------------------


class FakeTokenizer:
    """Just enough of a tokenizer for ``special_layout``: wraps one sequence in prefix … suffix."""

    def __init__(self, prefix: list[int], suffix: list[int]) -> None:
        self.prefix, self.suffix = prefix, suffix

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        bare = [7]
        return {"input_ids": self.prefix + bare + self.suffix if add_special_tokens else bare}


BERT_LIKE = FakeTokenizer([101], [102])


def random_sentence(rng: random.Random, n_words: int, max_pieces: int, empty_words: bool = False) -> list[list[int]]:
    low = 0 if empty_words else 1
    return [[rng.randrange(1000, 2000) for _ in range(rng.randint(low, max_pieces))] for _ in range(n_words)]


def starts_of(words: list[list[int]]) -> list[int]:
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word)
    return starts


def outcome(fn, *args):
    """The result, or the exception type (both versions must fail alike on impossible settings)."""
    try:
        return fn(*args)
    except ValueError:
        return ValueError


# equivalence with the reference ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_cut_and_owners_match_the_reference_on_random_inputs(seed):
    rng = random.Random(seed)
    for _ in range(300):
        capacity = rng.choice([0, 1, 2, 3, 5, 8, 13, 30, rng.randint(1, 64)])
        stride = rng.choice([0, 1, capacity // 2, capacity - 1, capacity, capacity + 2, rng.randint(0, 70)])
        stride = max(stride, 0)
        words = random_sentence(rng, rng.choice([0, 1, 2, 5, 20, rng.randint(0, 120)]),
                                rng.choice([1, 2, 4, 14]), empty_words=rng.random() < 0.15)
        starts, total = starts_of(words), sum(len(w) for w in words)
        ranges = ref_cut(starts, total, capacity, stride)
        assert _cut(starts, total, capacity, stride) == ranges, (starts, total, capacity, stride)
        assert _owners(starts, ranges) == ref_owners(starts, ranges), (starts, ranges)


@pytest.mark.parametrize("seed", range(6))
def test_make_windows_matches_the_reference_on_random_inputs(seed):
    rng = random.Random(100 + seed)
    for _ in range(120):
        tokenizer = rng.choice([BERT_LIKE, FakeTokenizer([], []), FakeTokenizer([0], [2, 3]), FakeTokenizer([5], [])])
        specials = len(tokenizer.prefix) + len(tokenizer.suffix)
        max_length = specials + rng.choice([1, 2, 4, 6, 10, 24, rng.randint(1, 40)])
        capacity = max_length - specials
        stride = rng.choice([0, 1, capacity // 4, capacity // 2, capacity - 2, capacity - 1, capacity, capacity + 5])
        stride = max(stride, 0)
        max_pieces = rng.choice([1, 2, 3, max(1, (max_length - 4) // 2), max(1, capacity)])
        pieces = [
            random_sentence(rng, rng.choice([0, 1, 3, rng.randint(0, 90)]), max_pieces, empty_words=rng.random() < 0.1)
            for _ in range(rng.randint(1, 4))
        ]
        assert make_windows(pieces, tokenizer, max_length, stride) == ref_make_windows(
            pieces, tokenizer, max_length, stride
        ), (max_length, stride, pieces)


def test_edge_cases_match_the_reference():
    cases = [
        ([[]], 8, 2),  # an empty sentence: one window of specials only
        ([[[1]]], 8, 0),  # a single word
        ([[[1, 2, 3, 4, 5, 6]]], 8, 3),  # a single word exactly the capacity
        ([[[1] * 10]], 8, 3),  # a single word longer than the window: cut inside it
        ([[[1] * 10, [2], [3] * 7]], 8, 0),
        ([[[i] * 6 for i in range(20)]], 8, 5),  # every word fills the window
        ([[[i] for i in range(50)]], 8, 0),  # stride 0
        ([[[i] for i in range(50)]], 8, 5),  # stride capacity - 1
        ([[[i] for i in range(50)]], 8, 6),  # stride == capacity
        ([[[i] for i in range(50)]], 8, 100),  # stride beyond capacity
        ([[[i, i] for i in range(40)]], 3, 0),  # capacity 1 with two-piece words
        ([[[i] for i in range(10)]], 2, 0),  # capacity 0
        ([[[i] for i in range(10)]], 2, 4),
        ([[[1], [], [2, 3], [], [], [4]] * 5], 5, 1),  # zero-piece words (word_pieces never makes them)
        ([[[i] * 3 for i in range(30)], [], [[9]]], 10, 2),  # several sentences
    ]
    for pieces, max_length, stride in cases:
        assert make_windows(pieces, BERT_LIKE, max_length, stride) == ref_make_windows(
            pieces, BERT_LIKE, max_length, stride
        ), (pieces, max_length, stride)


def test_impossible_settings_fail_like_the_reference():
    long_words = [[[i] * 3 for i in range(20)]]
    for max_length, stride in [(1, 0), (0, 3), (8, -40), (8, -2), (10, -1)]:  # negative capacity / stride
        for pieces in (long_words, [[]], []):
            new = outcome(make_windows, pieces, BERT_LIKE, max_length, stride)
            assert new == outcome(ref_make_windows, pieces, BERT_LIKE, max_length, stride), (max_length, stride)


def test_a_long_mixed_sentence_matches_the_reference():
    rng = random.Random(7)
    words = random_sentence(rng, 3000, 6)
    assert make_windows([words], BERT_LIKE, 128, 32) == ref_make_windows([words], BERT_LIKE, 128, 32)


def test_the_real_tokenizer_gives_the_reference_windows():
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks.token_classification.windows import word_pieces

    tokenizer = load_tokenizer("minilm")
    rng = random.Random(3)
    vocabulary = ["the", "Antidisestablishmentarianism", "x", "São", "Paulo", "42,000", "\u200b", "naïve", "@user"]
    sentences = [[rng.choice(vocabulary) for _ in range(n)] for n in (1, 17, 300, 900)]
    for max_length, stride in [(128, 32), (32, 8), (16, 0), (16, 13)]:
        pieces = word_pieces(tokenizer, sentences, max(1, (max_length - 4) // 2))
        assert make_windows(pieces, tokenizer, max_length, stride) == ref_make_windows(
            pieces, tokenizer, max_length, stride
        )


# scale -----------------------------------------------------------------------------------------


def test_a_68k_word_sentence_is_windowed_with_every_word_owned_once():
    n = 68_000
    pieces = [[[1000 + i % 500, 2000 + i % 300] for i in range(n)]]  # two pieces per word
    windows = make_windows(pieces, BERT_LIKE, max_length=128, stride=32)
    # capacity 126, every word two pieces: windows start every 126 - 32 = 94 pieces and end at
    # start + 126, until one reaches the 136,000th piece: starts 0, 94, ..., 1446 * 94.
    assert len(windows) == 1447
    owned = [w for window in windows for w in window.owned_words]
    assert len(owned) == n and sorted(owned) == list(range(n))
    for window in windows:
        assert len(window.input_ids) <= 128
        for position, word in zip(window.owned_first, window.owned_words, strict=True):
            assert window.word_ids[position] == word and window.word_ids[position - 1] != word


def test_a_68k_word_sentence_with_uneven_words_owns_every_word_once():
    rng = random.Random(11)
    n = 68_000
    words = random_sentence(rng, n, 14)
    windows = make_windows([words], BERT_LIKE, max_length=128, stride=32)
    owned = [w for window in windows for w in window.owned_words]
    assert len(owned) == n and sorted(owned) == list(range(n))
    assert windows[0].input_ids[1:-1] == [p for word in words for p in word][:len(windows[0].input_ids) - 2]
    assert windows[-1].word_ids[-2] == n - 1  # the last window ends with the last word
    for before, after in zip(windows, windows[1:], strict=False):
        assert len(after.input_ids) <= 128
        assert after.word_ids[1] <= before.word_ids[-2] + 1  # no word falls between two windows
