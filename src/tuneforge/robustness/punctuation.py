"""Suite ``punctuation``: the final punctuation dropped, or a full stop added where there is none."""

from __future__ import annotations

from random import Random

from tuneforge.robustness.sample import Perturbed, Sample, split_punct, unchanged_align

FINAL = ".?!;,"


def punctuation(sample: Sample, rng: Random) -> Perturbed | None:
    """A text: its trailing ``.?!;,`` removed, or "." added. A tagger: a final punctuation token tagged O removed,
    or a "." token (O) added. None for an empty input."""
    if not sample.words:
        return None
    words, tags = list(sample.words), None if sample.tags is None else list(sample.tags)
    last = words[-1]
    if tags is not None:
        if last and all(c in FINAL for c in last) and tags[-1] == "O" and len(words) > 1:
            return Perturbed(words[:-1], tags[:-1], [*range(len(words) - 1), None])
        return Perturbed([*words, "."], [*tags, "O"], unchanged_align(len(words)))
    lead, core, trail = split_punct(last)
    stripped = trail.rstrip(FINAL)
    if stripped != trail and core:
        words[-1] = f"{lead}{core}{stripped}"
    else:
        words[-1] = f"{last}."
    return Perturbed(words, None, unchanged_align(len(words)))
