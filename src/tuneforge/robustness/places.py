"""Suite ``places``: cities swapped for cities of another country, countries for other countries."""

from __future__ import annotations

from random import Random

from tuneforge.robustness.lexicons import city_groups, countries
from tuneforge.robustness.sample import Perturbed, Sample, entity_spans, replace_spans, split_punct

LOCATION = {"location", "loc", "geo-loc", "gpe"}  # entity types (lower-cased) that name a place
LONGEST = 4  # words in the longest place name matched in a text


def swap_places(sample: Sample, rng: Random) -> Perturbed | None:
    """A tagger's location entities (each replaced by a city or a country, tagged as the entity was), or in a text
    the word runs found in the city and country lists; None when the input names no place."""
    cities = city_groups()
    nations = countries()
    kind_of = {c: f"city/{g}" for g, names in cities.items() for c in names} | {c: "country" for c in nations}
    if sample.tags is not None:
        found = [(a, b, None) for a, b in entity_spans(sample.tags, LOCATION)]
    else:
        found = _mentions(sample.words, kind_of)
    if not found:
        return None
    replacements, groups = [], []
    for first, last, kind in found:
        if kind is None:  # a tagged location: a city or a country, either way a place
            kind = rng.choice(["country", "city/"])
        if kind == "country":
            new, group = rng.choice([c for c in nations if c != _core(sample.words[first:last])]), "country"
        else:
            group = rng.choice(sorted(g for g in cities if f"city/{g}" != kind))
            new = rng.choice(cities[group])
        lead = split_punct(sample.words[first])[0] if sample.tags is None else ""
        trail = split_punct(sample.words[last - 1])[2] if sample.tags is None else ""
        replacements.append((first, last, f"{lead}{new}{trail}"))
        groups.append(group)
    perturbed = replace_spans(sample, replacements)
    perturbed.group = groups[0] if groups[0] == "country" else f"city/{groups[0]}"
    return perturbed


def _core(words: list[str]) -> str:
    return " ".join(split_punct(w)[1] for w in words)


def _mentions(words: list[str], kind_of: dict[str, str]) -> list[tuple[int, int, str]]:
    """The longest runs of words (punctuation stripped at the run's ends) that name a listed place."""
    found, i = [], 0
    while i < len(words):
        for n in range(min(LONGEST, len(words) - i), 0, -1):
            run = words[i:i + n]
            inner_clean = all(not split_punct(w)[2] for w in run[:-1])
            name = " ".join([split_punct(w)[1] if k in (0, n - 1) else w for k, w in enumerate(run)])
            if inner_clean and name in kind_of:
                found.append((i, i + n, kind_of[name]))
                i += n
                break
        else:
            i += 1
    return found
