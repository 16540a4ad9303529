"""What a run config says about its personal data: the split files, the fields not scanned, and the analyzer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuneforge.privacy.entities import chosen_entities

if TYPE_CHECKING:
    from tuneforge.config.schema import RunConfig

SPLITS = ("train", "dev", "test")


def split_files(cfg: RunConfig) -> dict[str, str]:
    """The config's data files by split (a carved dev or test is part of the train file)."""
    return {name: getattr(cfg.data, name) for name in SPLITS if getattr(cfg.data, name)}


def skipped_fields(cfg: RunConfig) -> set[str]:
    """Labels and tags are the task's vocabulary, not a person's data."""
    return {cfg.data.label_field, cfg.data.tags_field}


def kinds_of(cfg: RunConfig) -> list[str]:
    return chosen_entities(cfg.privacy.entities, cfg.privacy.ner_run)


def analyzer_for(cfg: RunConfig, ner_run: Any = None) -> Any:
    """The analyzer of the config's ``privacy:`` section (``ner_run``: an already loaded run to use instead)."""
    from tuneforge.privacy.analyzer import PiiAnalyzer

    return PiiAnalyzer(kinds_of(cfg), ner_run or cfg.privacy.ner_run, cfg.privacy.min_score)
