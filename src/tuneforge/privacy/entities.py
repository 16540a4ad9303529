"""The kinds of personal data: how each is found and what replaces it.

The names are the config's (``config/privacy.py`` validates them); this registry carries their facts, so no
module compares a kind's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuneforge.config.privacy import ENTITY_NAMES, NER_ENTITIES, PATTERN_ENTITIES
from tuneforge.errors import ConfigError


@dataclass(frozen=True)
class EntityType:
    name: str
    detector: str  # "pattern": patterns.py (with check digits where a kind has them); "ner": a NER run
    numbered: bool  # <PERSON_1>, <PERSON_2> tell people apart within a record; <PHONE> needs no number
    ner_labels: tuple[str, ...] = ()  # a NER run's entity types (lower-cased) that mean this kind

    def placeholder(self, number: int | None = None) -> str:
        return f"<{self.name}_{number}>" if self.numbered and number is not None else f"<{self.name}>"


# WNUT-17 names (person, location, corporation, group), CoNLL-2003 (PER, LOC, ORG) and OntoNotes (GPE, FAC, NORP).
ENTITY_TYPES: dict[str, EntityType] = {
    **{name: EntityType(name, "pattern", numbered=False) for name in PATTERN_ENTITIES},
    "PERSON": EntityType("PERSON", "ner", numbered=True, ner_labels=("person", "per")),
    "LOCATION": EntityType("LOCATION", "ner", numbered=True, ner_labels=("location", "loc", "gpe", "fac")),
    "ORGANIZATION": EntityType("ORGANIZATION", "ner", numbered=True,
                               ner_labels=("corporation", "group", "org", "organization", "organisation", "norp")),
}
assert tuple(ENTITY_TYPES) == ENTITY_NAMES and {n for n in ENTITY_TYPES if ENTITY_TYPES[n].detector == "ner"} == set(
    NER_ENTITIES)


def kind_of_ner_label(label: str) -> str | None:
    """The kind a NER run's entity type stands for (``corporation`` → ORGANIZATION); None: not personal data."""
    wanted = label.lower()
    for entity in ENTITY_TYPES.values():
        if wanted in entity.ner_labels:
            return entity.name
    return None


def chosen_entities(entities: list[str] | None, ner_run: str | None, where: str = "privacy.entities") -> list[str]:
    """The kinds to look for: those listed, else every pattern kind (and the NER kinds when a NER run is named).
    A NER kind without a NER run would silently find nothing: refused."""
    if entities is None:
        return [n for n, e in ENTITY_TYPES.items() if e.detector == "pattern" or ner_run]
    unknown = [n for n in entities if n not in ENTITY_TYPES]
    if unknown:
        raise ConfigError(f"{where}: unknown entity type {unknown[0]!r}; known: {', '.join(ENTITY_TYPES)}")
    needs_ner = [n for n in entities if ENTITY_TYPES[n].detector == "ner"]
    if needs_ner and not ner_run:
        raise ConfigError(f"{where} lists {', '.join(needs_ner)}, found by a NER run: set privacy.ner_run to a "
                          "token-classification run (e.g. a WNUT-17 run), or list only pattern kinds")
    return list(dict.fromkeys(entities))
