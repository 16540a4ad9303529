"""Suite ``typos``: two neighbouring letters swapped inside one word."""

from __future__ import annotations

from random import Random

from tuneforge.robustness.sample import Perturbed, Sample, split_punct, unchanged_align


def typo(sample: Sample, rng: Random) -> Perturbed | None:
    """One word of four letters or more gets two neighbouring inner letters swapped ("card" -> "crad"); None when
    no word is that long."""
    eligible = [i for i, w in enumerate(sample.words) if len(split_punct(w)[1]) >= 4 and split_punct(w)[1].isalpha()]
    if not eligible:
        return None
    i = rng.choice(eligible)
    lead, core, trail = split_punct(sample.words[i])
    j = rng.randrange(1, len(core) - 2)
    swapped = core[:j] + core[j + 1] + core[j] + core[j + 2:]
    if swapped == core:  # a doubled letter ("book"): swap the pair before it
        j = j - 1 if j > 1 else j + 1
        swapped = core[:j] + core[j + 1] + core[j] + core[j + 2:]
    if swapped == core:
        return None
    words = list(sample.words)
    words[i] = f"{lead}{swapped}{trail}"
    return Perturbed(words, None if sample.tags is None else list(sample.tags), unchanged_align(len(words)))
