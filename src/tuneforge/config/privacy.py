"""The ``privacy:`` section: which kinds of personal data check-data looks for and ``redact`` masks, and the
NER run that finds names, places and organisations. The names are checked here (a typo fails before any model
loads); what each kind means — its detector and placeholder — is ``privacy/entities.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tuneforge.util.strict import Strict

PATTERN_ENTITIES = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "URL")  # found by patterns and check digits
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")  # found by a NER run
ENTITY_NAMES = PATTERN_ENTITIES + NER_ENTITIES

EntityName = Literal[ENTITY_NAMES]  # type: ignore[valid-type]


class PrivacyConfig(Strict):
    entities: list[EntityName] | None = Field(
        None, description="Kinds of personal data to find and redact: EMAIL, PHONE, CARD (Luhn-checked), IBAN "
        "(check digits), IP, URL, PERSON, LOCATION, ORGANIZATION. Default: every pattern kind, and the NER kinds "
        "when privacy.ner_run is set; a NER kind listed without ner_run is an error.")
    ner_run: str | None = Field(None, description="A finished token-classification run (e.g. WNUT-17) whose "
                                "entities give PERSON, LOCATION and ORGANIZATION; relative to the config's folder.")
    min_score: float = Field(0.5, ge=0, le=1, description="Lowest NER score that counts as a finding.")
    examples: int = Field(5, ge=0, le=100, description="check-data: line numbers shown per split, field and kind.")
