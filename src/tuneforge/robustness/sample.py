"""What a suite perturbs: one input's words (with their tags, for a tagger) and where each word went."""

from __future__ import annotations

import re
from dataclasses import dataclass

PUNCT = re.compile(r"^(\W*)(.*?)(\W*)$", re.UNICODE)


@dataclass
class Sample:
    """Words of one input: whitespace-separated pieces of a text (punctuation attached) or a tagger's tokens,
    with one BIO tag per word for a tagger (None for a text)."""

    words: list[str]
    tags: list[str] | None = None


@dataclass
class Perturbed:
    """The perturbed words and tags; ``align[i]`` is where original word i went (None: removed), so a tagger's
    answers can be compared word for word."""

    words: list[str]
    tags: list[str] | None
    align: list[int | None]
    group: str | None = None  # the list a swapped-in name or place came from (flip rates are also given by group)


def unchanged_align(n: int) -> list[int | None]:
    return list(range(n))


def split_punct(word: str) -> tuple[str, str, str]:
    """(leading punctuation, core, trailing punctuation) of a word: ``"Paris,"`` -> ("", "Paris", ",")."""
    m = PUNCT.match(word)
    return (m.group(1), m.group(2), m.group(3)) if m else ("", word, "")


def entity_spans(tags: list[str], kinds: set[str]) -> list[tuple[int, int]]:
    """(first word, last word + 1) of each entity whose type, lower-cased, is in ``kinds``."""
    out, i = [], 0
    while i < len(tags):
        tag = tags[i]
        if tag.startswith("B-") and tag[2:].lower() in kinds:
            j = i + 1
            while j < len(tags) and tags[j] == f"I-{tag[2:]}":
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def replace_spans(sample: Sample, replacements: list[tuple[int, int, str]]) -> Perturbed:
    """Each span (first, last + 1) replaced by one new word; a tagged span keeps its type (B- on the new word)."""
    words, tags, align = [], [] if sample.tags is not None else None, []
    starts = {a: (b, new) for a, b, new in replacements}
    i = 0
    while i < len(sample.words):
        if i in starts:
            b, new = starts[i]
            align += [len(words)] + [None] * (b - i - 1)
            words.append(new)
            if tags is not None:
                tags.append(sample.tags[i])
            i = b
            continue
        align.append(len(words))
        words.append(sample.words[i])
        if tags is not None:
            tags.append(sample.tags[i])
        i += 1
    return Perturbed(words, tags, align)
