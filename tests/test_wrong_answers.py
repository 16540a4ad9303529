"""#36 items 2-7: runs that trained, updated, predicted or searched something other than what they reported."""

from __future__ import annotations

import pytest
import yaml

from tuneforge.config.loading import load_config
from tuneforge.errors import ConfigError


def _generation_config(tmp_path, metrics, **early_stopping):
    data = tmp_path / "train.jsonl"
    data.write_text('{"prompt": "hi", "completion": "hello"}\n', encoding="utf-8")
    cfg = {"name": "g", "task": "generation", "model": {"name": "smollm2-135m"},
           "data": {"train": str(data), "dev": str(data)}, "task_options": {"metrics": metrics},
           "training": {"early_stopping": early_stopping}, "output_dir": str(tmp_path / "runs")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


# 2: a metric's direction everywhere ---------------------------------------------------------------------------

def test_a_run_selected_on_perplexity_keeps_its_lowest_and_tune_minimises_it(tmp_path):
    from tuneforge.studies.tune.objective import objective_metric
    from tuneforge.studies.tune.search_space import read_tune_config

    cfg = load_config(_generation_config(tmp_path, ["perplexity"]))
    assert cfg.training.early_stopping.mode == "min"  # the default metric, perplexity, is better lower
    assert load_config(_generation_config(tmp_path, ["rouge"])).training.early_stopping.mode == "max"
    with pytest.raises(ConfigError, match="perplexity is better when lower"):
        load_config(_generation_config(tmp_path, ["perplexity", "bleu"], metric="perplexity", mode="max"))
    path = _generation_config(tmp_path, ["perplexity"])
    data = yaml.safe_load(path.read_text())
    data["search"] = {"training.lr": {"type": "loguniform", "low": 1e-5, "high": 1e-3}}
    path.write_text(yaml.safe_dump(data))
    assert objective_metric(read_tune_config(path)) == ("perplexity", "minimize")
