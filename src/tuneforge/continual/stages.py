"""Reading a plan's stages and checking their labels against each other, before any model loads."""

from __future__ import annotations

from typing import Any

from tuneforge.continual.plan import Plan
from tuneforge.continual.stage_data import Stage
from tuneforge.errors import ConfigError, DataError


def read_stages(plan: Plan, task_class: Any, head: Any, known: list[str] | None = None) -> list[Stage]:
    """Every stage's data, with the labels it introduces; ``known``: labels a model already has (update)."""
    known = list(known or [])
    first_stage = {label: "the run being updated" for label in known}
    stages = []
    for i, (settings, cfg) in enumerate(zip(plan.stages, plan.stage_configs, strict=True)):
        where = plan.where(i)
        splits = {}
        for split in ("train", "dev", "test"):
            path = getattr(cfg.data, split)
            if path is None:
                continue
            try:
                splits[split] = task_class.read(path, cfg, strict=True).examples
            except DataError as exc:
                raise DataError(f"{where}: {exc}") from None
            if not splits[split]:
                raise DataError(f"{where}: {split}: {path} holds no examples")
        present = sorted({label for e in splits["train"] for label in head.labels_of(e)})
        unseen = [label for label in present if label not in first_stage]
        if settings.new_labels is not None:
            for label in settings.new_labels:
                if label in first_stage:
                    raise ConfigError(f"{where}: new_labels: '{label}' is not new: {first_stage[label]} "
                                      "introduced it")
            undeclared = [label for label in unseen if label not in settings.new_labels]
            if undeclared:
                raise ConfigError(f"{where}: train has label '{undeclared[0]}', which no earlier stage introduced "
                                  "and new_labels does not list")
            absent = [label for label in settings.new_labels if label not in present]
            if absent:  # a label with no example would get a head row that is never trained
                raise ConfigError(f"{where}: new_labels: '{absent[0]}' has no example in this stage's train data")
            new = list(settings.new_labels)
        else:
            new = unseen
        for label in new:
            first_stage[label] = f"stage {i + 1} ({settings.name})"
        annotated = sorted(set(present) | set(new))
        for split in ("dev", "test"):
            for example in splits.get(split, []):
                for label in head.labels_of(example):
                    if label not in first_stage:
                        raise ConfigError(f"{where}: {split}: {example.where()}: label '{label}' is not trained by "
                                          "this stage or an earlier one")
        # A stage's test set is scored on what its data annotates (for NER, other types are left out).
        stages.append(Stage(i, settings.name, splits["train"], splits["test"], splits.get("dev"),
                            annotated, new, annotated))
    return stages
