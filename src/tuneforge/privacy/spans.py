"""A finding: a kind of personal data at a character span of a text; overlapping findings resolved to one."""

from __future__ import annotations

from dataclasses import dataclass

# On equal length, the kind with the stronger evidence wins: check digits, then a fixed shape, then a NER guess.
PRIORITY = {"CARD": 0, "IBAN": 0, "EMAIL": 1, "IP": 1, "URL": 2, "PHONE": 3, "PERSON": 4, "ORGANIZATION": 5,
            "LOCATION": 6}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    score: float = 1.0

    def text_of(self, text: str) -> str:
        return text[self.start:self.end]


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans in text order: the longest first (an e-mail over the domain inside it), then the
    higher score, then the kind with the stronger evidence."""
    ranked = sorted(spans, key=lambda s: (-(s.end - s.start), -s.score, PRIORITY.get(s.kind, 9), s.start))
    kept: list[Span] = []
    for span in ranked:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def mask(value: str) -> str:
    """A value shown in a report without giving it away: its first character, other letters and digits as *."""
    return value[:1] + "".join("*" if ch.isalnum() else ch for ch in value[1:])
