"""BIO (IOB2) tag checks and repair; IOB1 is converted by the same rule."""

from __future__ import annotations


def split_tag(tag: str) -> tuple[str, str]:
    """'B-person' → ('B', 'person'); 'O' → ('O', '')."""
    if tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-")
    if not sep or prefix not in ("B", "I") or not kind:
        return "?", tag
    return prefix, kind


def is_valid_tag(tag: str) -> bool:
    return split_tag(tag)[0] != "?"


def repair(tags: list[str]) -> tuple[list[str], list[int]]:
    """Make a tag sequence valid IOB2: an I-X that does not continue X becomes B-X.

    Returns the repaired tags and the positions that changed. Applied to IOB1 input this is exactly
    the IOB1 → IOB2 conversion.
    """
    out, changed = list(tags), []
    previous = "O"
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        if prefix == "I" and split_tag(previous)[1] != kind:
            out[i] = f"B-{kind}"
            changed.append(i)
        previous = out[i]
    return out, changed


def spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """Entity spans (type, first word, last word + 1) of a valid IOB2 sequence."""
    found: list[tuple[str, int, int]] = []
    start, kind = None, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, k = split_tag(tag)
        if start is not None and (prefix != "I" or k != kind):
            found.append((kind, start, i))
            start = None
        if prefix == "B":
            start, kind = i, k
    return found
