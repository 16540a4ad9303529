"""Word-aligned sub-token windows, so a sentence longer than the model's window loses no word.

A sentence is tokenized once into sub-word pieces per word. If the pieces fit the window it becomes
one window; otherwise overlapping windows are cut at word boundaries, ``stride`` pieces apart at
the seams. Each word is *owned* by exactly one window — the one where it has the most context on
both sides — so it is trained once and predicted once.
"""

from __future__ import annotations

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
    """Piece ranges [start, end) of windows cut at word starts, overlapping by about ``stride``."""
    if total <= capacity:
        return [(0, total)]
    bounds = [*starts, total]
    windows, start = [], 0
    while True:
        end = max(b for b in bounds if b <= start + capacity)
        if end <= start:  # a single word longer than the window (cannot happen: pieces are capped)
            end = min(total, start + capacity)
        windows.append((start, end))
        if end >= total:
            return windows
        start = min(b for b in bounds if b >= end - stride and b > start)


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
        owner = _owners(starts, ranges)
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


def _owners(starts: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    """For each word, the window where its first piece has the most context on both sides."""
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
