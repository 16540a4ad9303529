"""What a strategy leaves in the plan's folder.

A single-model strategy's folder is a run directory like ``tuneforge train`` makes (config.yaml of the last
stage, run.json, model/), so ``predict``, ``evaluate``, ``serve`` and ``update`` take it; continual.json lists
the stages (their test files are what ``update`` guards) and the replay buffer, if any, sits beside it.
adapter-per-stage leaves one adapter per stage and its router (``stages/``, router.*).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tuneforge.util.atomic import ordinary_modes, write_json


def save_run(folder: Path, setup: Any, result: Any, summary: dict[str, Any]) -> None:
    from tuneforge.methods.saving import save_adapted
    from tuneforge.runs.directory import versions, write_run_config

    last_cfg = setup.plan.stage_configs[-1]
    write_run_config(folder, last_cfg, setup.plan.path)
    model_dir = folder / "model"
    model_dir.mkdir()
    save_adapted(result.model, model_dir, last_cfg)
    setup.tokenizer.save_pretrained(model_dir)
    result.task.save(model_dir)
    ordinary_modes(model_dir)
    result.strategy_state.save(folder, setup.head)
    write_json(folder / "continual.json", continual_record(setup, result.strategy, summary))
    write_json(folder / "run.json", {"status": "complete", "finished": time.time(), "versions": versions(),
                                     "continual": result.strategy})


def continual_record(setup: Any, strategy: str, summary: dict[str, Any]) -> dict[str, Any]:
    return {"plan": str(setup.plan.path), "strategy": strategy, "metric": setup.head.metric,
            "stages": [{"name": s.name, "train": c.data.train, "dev": c.data.dev, "test": c.data.test,
                        "labels": s.labels, "new_labels": s.new_labels}
                       for s, c in zip(setup.stages, setup.plan.stage_configs, strict=True)],
            **summary}
