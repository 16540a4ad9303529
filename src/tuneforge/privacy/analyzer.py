"""Presidio's ``AnalyzerEngine`` with tuneforge's recognisers: the pattern kinds (patterns.py) and a tuneforge NER
run for names, places and organisations.

No spaCy model is needed: the engine runs on Presidio's no-op NLP engine, since neither recogniser reads spaCy's
tokens or entities. A NER run predicts a batch of texts at once (``analyze_many`` fills its cache first); Presidio
then gathers every recogniser's findings, applies the score threshold and drops duplicates, and
``spans.resolve_overlaps`` keeps one finding per stretch of text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NoOpNlpEngine

from tuneforge.errors import ConfigError
from tuneforge.privacy.entities import ENTITY_TYPES, kind_of_ner_label
from tuneforge.privacy.patterns import find_patterns
from tuneforge.privacy.spans import Span, resolve_overlaps

LANGUAGE = "en"
logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)  # "no recognizer for language" chatter


class PatternKinds(EntityRecognizer):
    """The pattern kinds as one Presidio recogniser."""

    def __init__(self, kinds: list[str]) -> None:
        super().__init__(supported_entities=kinds, name="tuneforge-patterns", supported_language=LANGUAGE)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        kinds = [k for k in entities if k in self.supported_entities]
        return [RecognizerResult(s.kind, s.start, s.end, s.score) for s in find_patterns(text, kinds)]


class RunEntities(EntityRecognizer):
    """A finished tuneforge token-classification run as a Presidio recogniser: its entity types mapped to the
    kinds (``entities.ENTITY_TYPES[...].ner_labels``), its mean word probability as the score."""

    def __init__(self, run: Any, kinds: list[str]) -> None:
        super().__init__(supported_entities=kinds, name="tuneforge-ner", supported_language=LANGUAGE)
        self.run = run
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def load(self) -> None:
        pass

    def prefetch(self, texts: Sequence[str]) -> None:
        """Predict the texts not yet seen in one batched call (Presidio asks one text at a time)."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache and t.strip()))
        if todo:
            for text, result in zip(todo, self.run.predict(todo), strict=True):
                self._cache[text] = result["entities"]

    def clear(self) -> None:
        self._cache.clear()

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        if not text.strip():
            return []
        self.prefetch([text])
        results = []
        for entity in self._cache[text]:
            kind = kind_of_ner_label(entity["type"])
            if kind in entities and kind in self.supported_entities:
                results.append(RecognizerResult(kind, entity["start"], entity["end"], float(entity["score"])))
        return results


def load_ner_run(path: str) -> Any:
    """A finished run whose task finds entities (its registry entry says so); refused otherwise."""
    from tuneforge.runs.directory import config_of, load_run
    from tuneforge.tasks import task_spec

    cfg = config_of(path)
    if not task_spec(cfg.task).finds_entities:
        raise ConfigError(f"privacy.ner_run {path}: a {cfg.task} run finds no entities; name a token-classification "
                          "run (e.g. trained on WNUT-17)")
    return load_run(path)


class PiiAnalyzer:
    """Finds the given kinds of personal data in texts. ``ner_run``: a run directory or a loaded run, needed for
    the NER kinds."""

    def __init__(self, kinds: list[str], ner_run: Any = None, min_score: float = 0.5) -> None:
        self.kinds = list(kinds)
        patterns = [k for k in kinds if ENTITY_TYPES[k].detector == "pattern"]
        ner = [k for k in kinds if ENTITY_TYPES[k].detector == "ner"]
        recognizers: list[EntityRecognizer] = [PatternKinds(patterns)] if patterns else []
        self.ner: RunEntities | None = None
        if ner:
            if ner_run is None:
                raise ConfigError(f"{', '.join(ner)} need a NER run: set privacy.ner_run")
            self.ner = RunEntities(load_ner_run(ner_run) if isinstance(ner_run, str) else ner_run, ner)
            recognizers.append(self.ner)
        registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
        nlp = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}])
        self.engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE],
                                     default_score_threshold=min_score)

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping findings in text order."""
        if not self.kinds or not text:
            return []
        results = self.engine.analyze(text, language=LANGUAGE, entities=self.kinds)
        return resolve_overlaps([Span(r.start, r.end, r.entity_type, r.score) for r in results])

    def analyze_many(self, texts: Sequence[str], batch: int = 512) -> list[list[Span]]:
        out: list[list[Span]] = []
        for i in range(0, len(texts), batch):
            chunk = texts[i:i + batch]
            if self.ner is not None:
                self.ner.prefetch(chunk)
            out += [self.analyze(t) for t in chunk]
            if self.ner is not None:
                self.ner.clear()  # bounded memory on a large file
        return out
