"""The class-incremental heads, by the kind of outputs a task's registry entry says it has
(``TaskSpec.incremental_outputs``): one output per label, or O and B-/I- tags per entity type."""

from __future__ import annotations

from importlib import import_module

HEADS = {
    "labels": "tuneforge.continual.class_heads:ClassIncrementalLabels",
    "tags": "tuneforge.continual.tag_heads:ClassIncrementalTags",
}


def incremental_head(spec):
    """The head class for a task spec whose ``incremental_outputs`` is set (imported on demand: it brings torch)."""
    module, _, name = HEADS[spec.incremental_outputs].partition(":")
    return getattr(import_module(module), name)
