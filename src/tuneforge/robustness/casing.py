"""Suite ``casing``: the whole input in lower case."""

from __future__ import annotations

from random import Random

from tuneforge.robustness.sample import Perturbed, Sample, unchanged_align


def lower_case(sample: Sample, rng: Random) -> Perturbed | None:
    """Every word lower-cased, as typed on a phone; None when nothing changes."""
    words = [w.lower() for w in sample.words]
    if words == sample.words:
        return None
    return Perturbed(words, None if sample.tags is None else list(sample.tags), unchanged_align(len(words)))
