"""The name and place lists the suites draw from: data files taken from Faker (see data/README.md)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("tuneforge.robustness").joinpath("data", name).read_text(encoding="utf-8"))


def name_groups() -> dict[str, list[str]]:
    """First names by group, ``"female/us"``, ``"male/yoruba"``, …: gender x origin."""
    names = _load("names.json")["names"]
    return {f"{gender}/{origin}": list(v) for gender, origins in names.items() for origin, v in origins.items()}


def city_groups() -> dict[str, list[str]]:
    """City names by country."""
    return {k: list(v) for k, v in _load("places.json")["cities"].items()}


def countries() -> list[str]:
    return list(_load("places.json")["countries"]["all"])
