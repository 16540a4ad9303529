"""Building a retrieval index from a run: the collection read and checked in full, embedded by the run's
encoder, written to a temp folder and renamed (a failure leaves nothing behind)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_index(run: str | Path, passages: str | Path, output: str | Path, ann: str = "auto") -> dict[str, Any]:
    """Index the JSONL collection ``passages`` with the encoder of ``run`` into the folder ``output``."""
    from tuneforge.errors import ConfigError
    from tuneforge.runs.directory import config_of, load_run
    from tuneforge.tasks.retrieval.records import read_passages

    cfg = config_of(run)
    collection = read_passages(str(passages))  # every line checked before any model loads
    loaded = load_run(run)
    if not hasattr(loaded.task, "build_index"):
        raise ConfigError(f"{run}: a {cfg.task} run embeds no passages; `tuneforge index` takes a retrieval run")
    index = loaded.task.build_index(loaded.model, collection, ann, **loaded.config.eval_batching())
    index.save(output)
    return {"passages": len(collection), "kind": index.kind, "output": str(output)}
