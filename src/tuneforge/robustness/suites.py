"""The suites: name -> what it perturbs. Each perturbation keeps the right answer (CheckList's invariance tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from tuneforge.robustness.casing import lower_case
from tuneforge.robustness.clause import add_clause
from tuneforge.robustness.contractions import contractions
from tuneforge.robustness.names import swap_names
from tuneforge.robustness.places import swap_places
from tuneforge.robustness.punctuation import punctuation
from tuneforge.robustness.sample import Perturbed, Sample
from tuneforge.robustness.typos import typo


@dataclass(frozen=True)
class Suite:
    name: str
    perturb: Callable[[Sample, Random], Perturbed | None]
    description: str


SUITES: dict[str, Suite] = {s.name: s for s in (
    Suite("names", swap_names, "person names swapped across gender and origin lists"),
    Suite("places", swap_places, "cities and countries swapped"),
    Suite("typos", typo, "two neighbouring letters swapped in one word"),
    Suite("casing", lower_case, "everything lower-cased"),
    Suite("punctuation", punctuation, "final punctuation dropped, or a full stop added"),
    Suite("contractions", contractions, "contractions made or expanded"),
    Suite("clause", add_clause, "an irrelevant sentence added"),
)}
