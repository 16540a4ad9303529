"""Suite ``names``: each person name swapped for a first name from another gender x origin list."""

from __future__ import annotations

from random import Random

from tuneforge.robustness.lexicons import name_groups
from tuneforge.robustness.sample import Perturbed, Sample, entity_spans, replace_spans, split_punct

PERSON = {"person", "per"}  # entity types (lower-cased) that name a person


def swap_names(sample: Sample, rng: Random) -> Perturbed | None:
    """A tagger's person entities (each replaced by one first name, tagged as the entity was), or in a text the
    words found in the name lists (not the first word: "Will", "May" open questions). One target group per
    input, other than the group of the name it replaces; None when the input names no one."""
    groups = name_groups()
    group_of = {n: g for g, names in groups.items() for n in names}
    if sample.tags is not None:
        found = entity_spans(sample.tags, PERSON)
        was = group_of.get(sample.words[found[0][0]]) if found else None
    else:
        found = [(i, i + 1) for i, w in enumerate(sample.words) if i > 0 and split_punct(w)[1] in group_of]
        was = group_of.get(split_punct(sample.words[found[0][0]])[1]) if found else None
    if not found:
        return None
    target = rng.choice(sorted(g for g in groups if g != was))
    replacements = []
    for first, last in found:
        lead, _, trail = split_punct(sample.words[first]) if sample.tags is None else ("", "", "")
        replacements.append((first, last, f"{lead}{rng.choice(groups[target])}{trail}"))
    perturbed = replace_spans(sample, replacements)
    perturbed.group = target
    return perturbed
