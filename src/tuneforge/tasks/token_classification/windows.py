"""Word-aligned sub-token windows, so a sentence longer than the model's window loses no word.

A sentence is tokenized once into sub-word pieces per word. If the pieces fit the window it becomes
one window; otherwise overlapping windows are cut at word boundaries, ``stride`` pieces apart at
the seams. Each word is *owned* by exactly one window — the one where it has the most context on
both sides — so it is trained once and predicted once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass


@dataclass
class Window:
    example: int  # index of the sentence
    input_ids: list[int]
    word_ids: list[int | None]  # word index per position (None for special tokens)
    owned_first: list[int]  # positions of the first piece of each word this window owns
    owned_words: list[int]  # the words, in the same order


def special_layout(tokenizer) -> tuple[list[int], list[int]]:
    """(prefix ids, suffix ids) the tokenizer wraps a single sequence in, e.g. [CLS] … [SEP]."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return full[:i], full[i + len(bare) :]
    return [], []


def word_pieces(tokenizer, sentences: list[list[str]], max_pieces: int) -> list[list[list[int]]]:
    """Sub-word ids per word per sentence. A word the tokenizer turns into nothing (a zero-width
    space, say) becomes the unknown token, so every word keeps a position and a prediction."""
    encoded = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id
    result = []
    for i, words in enumerate(sentences):
        pieces: list[list[int]] = [[] for _ in words]
        for token_id, word in zip(encoded["input_ids"][i], encoded.word_ids(i), strict=True):
            if word is not None:
                pieces[word].append(token_id)
        result.append([(p or [unk])[:max_pieces] for p in pieces])
    return result


def _cut(starts: list[int], total: int, capacity: int, stride: int) -> list[tuple[int, int]]:
    """Piece ranges [start, end) of windows cut at word starts, overlapping by about ``stride``.

    ``starts`` is non-decreasing (cumulative piece counts), so each cut is found by bisection: the
    whole cut costs O(windows x log words), not O(windows x words).
    """
    if total <= capacity:
        return [(0, total)]
    if capacity < 0:
        raise ValueError(f"window capacity {capacity} is negative: max_length is shorter than the special tokens")
    bounds = [*starts, total]
    windows, start = [], 0
    while True:
        end = bounds[bisect_right(bounds, start + capacity) - 1]  # the last bound <= start + capacity
        if end <= start:  # a single word longer than the window (cannot happen: pieces are capped)
            end = min(total, start + capacity)
        windows.append((start, end))
        if end >= total:
            return windows
        nxt = bisect_left(bounds, max(end - stride, start + 1))  # the first bound >= end - stride and > start
        if nxt == len(bounds):
            raise ValueError(f"stride {stride} leaves no word to start the next window at")
        start = bounds[nxt]


def make_windows(
    pieces: list[list[list[int]]], tokenizer, max_length: int, stride: int
) -> list[Window]:
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
        ranges = _cut(starts, len(flat), capacity, stride)
        owned_by: list[list[int]] = [[] for _ in ranges]
        for w, k in enumerate(_owners(starts, ranges)):
            owned_by[k].append(w)  # ascending word order within each window
        for (lo, hi), owned in zip(ranges, owned_by, strict=True):
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


def _owners(starts: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    """For each word, the window where its first piece has the most context on both sides.

    Ties go to the earliest window. Each window visits only the words that start inside it (found
    by bisection on the non-decreasing ``starts``), so the cost is the total size of the windows,
    linear in the sentence, instead of words x windows. A word no window holds stays with window 0.
    """
    best = [0] * len(starts)
    best_context = [-1] * len(starts)
    for k, (lo, hi) in enumerate(ranges):
        for w in range(bisect_left(starts, lo), bisect_left(starts, hi)):
            s = starts[w]
            context = min(s - lo, hi - 1 - s)
            if context > best_context[w]:
                best[w], best_context[w] = k, context
    return best
