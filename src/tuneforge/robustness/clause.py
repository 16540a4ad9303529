"""Suite ``clause``: an irrelevant sentence added at the end."""

from __future__ import annotations

from random import Random

from tuneforge.robustness.sample import Perturbed, Sample, unchanged_align

# Sentences about nothing a customer asks for (no money, card, device, greeting or thanks: CLINC150 has intents
# for greetings and thanks, so those would not be irrelevant).
CLAUSES = ["By the way, it is sunny outside.", "I am writing this on a Tuesday.", "The sky is blue today."]


def add_clause(sample: Sample, rng: Random) -> Perturbed | None:
    """One of ``CLAUSES`` after the last word (its words tagged O for a tagger)."""
    if not sample.words:
        return None
    extra = rng.choice(CLAUSES).split()
    tags = None if sample.tags is None else [*sample.tags, *["O"] * len(extra)]
    return Perturbed([*sample.words, *extra], tags, unchanged_align(len(sample.words)))
