"""``model/README.md``: a finished run's model card, with the Hugging Face card metadata in its YAML front matter.

The card names no path of this machine: the base model by its public name (``models.public_name``) or as "a local
model", the data by file name. Its numbers are report.json's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

COUNT_KEYS = ("examples", "sentences")  # how a split's scores count what they were computed on
MODEL = "MODEL"  # stands for this folder, or the hub repo it was pushed to, in the loading snippets


def library(cfg, merged: bool = False) -> str | None:
    """The library that loads model/ without tuneforge: transformers for a whole model (or one ``export --merge``
    wrote), peft for its adapter format; None when only tuneforge loads it (its own heads, bitfit/adapter
    tensors)."""
    from tuneforge.methods import method_spec
    from tuneforge.tasks import task_spec

    task, method = task_spec(cfg.task), method_spec(cfg.method)
    if task.auto_class is not None and merged:
        return "transformers"
    if task.auto_class is None or method.save_format not in ("model", "peft"):
        return None
    return "peft" if method.save_format == "peft" else "transformers"


def metadata(cfg, merged: bool = False) -> dict[str, Any]:
    from tuneforge.methods import method_spec
    from tuneforge.models import public_name
    from tuneforge.tasks import task_spec

    meta: dict[str, Any] = {}
    if library(cfg, merged):
        meta["library_name"] = library(cfg, merged)
    base = public_name(cfg.model.name)
    if base:
        meta["base_model"] = base
    if task_spec(cfg.task).pipeline_tag:
        meta["pipeline_tag"] = task_spec(cfg.task).pipeline_tag
    tags = ["tuneforge", cfg.task, cfg.method]
    if method_spec(cfg.method).save_format == "peft" and not merged:
        tags.append("peft")
    meta["tags"] = list(dict.fromkeys(tags))
    return meta


def render(cfg, report: dict[str, Any], merged: bool = False) -> str:
    """The card's text: front matter, then task, method, data, scores, how to reproduce and load it; ``merged``:
    the card of the one standalone model ``export --merge`` writes."""
    from tuneforge.models import public_name
    from tuneforge.version import __version__

    base = public_name(cfg.model.name)
    training = report.get("training", {})
    lines = ["---", yaml.safe_dump(metadata(cfg, merged), sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {cfg.name}", "",
             f"A `{cfg.task}` model fine-tuned with tuneforge from "
             + (f"[`{base}`](https://huggingface.co/{base})." if base else "a local model."), "",
             "## Training", "",
             f"- Task: `{cfg.task}`",
             f"- Method: `{cfg.method}`, {_parameters(training)}"
             + (" (merged: the adapter folded into the base weights)" if merged else ""),
             f"- Base model: {f'`{base}`' if base else 'a local model'}",
             f"- Data: {_data(cfg, report)}"]
    if "steps" in training:
        lines.append(f"- Optimizer steps: {training['steps']}")
    lines += ["", *_results(report), "## Reproduce", "",
              "The run's resolved config is `config.yaml` (beside this folder in the run directory, and in the "
              "repository when pushed with `tuneforge push`), with the data files next to where it names them:", "",
              "```", "tuneforge train config.yaml", "```", "", "## Use", "", *_usage(cfg, report, base, merged),
              f"Trained with tuneforge {__version__}.", ""]
    return "\n".join(lines)


def _parameters(training: dict[str, Any]) -> str:
    trainable, total = training.get("trainable_parameters"), training.get("total_parameters")
    if not isinstance(trainable, int) or not isinstance(total, int) or not total:
        return "trainable parameters not recorded"
    return f"{trainable:,} of {total:,} parameters trained ({100 * trainable / total:.2f}%)"


def _count(scores: Any) -> str:
    if isinstance(scores, dict):
        for key in COUNT_KEYS:
            if isinstance(scores.get(key), int):
                return f" ({scores[key]:,} {key})"
    return ""


def _data(cfg, report: dict[str, Any]) -> str:
    parts = [f"{split} `{Path(path).name}`{_count(report.get(split))}"
             for split, path in (("train", cfg.data.train), ("dev", cfg.data.dev), ("test", cfg.data.test)) if path]
    carved = [f"{split} {share:.0%} of train{_count(report.get(split))}"
              for split, share in (("dev", cfg.data.split.dev), ("test", cfg.data.split.test))
              if share and not getattr(cfg.data, split)]
    return ", ".join(parts + carved) or "none (nothing trained)"


def metric_rows(report: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """(metric, {split: value}) for every number a split's scores hold at the top level (counts aside)."""
    splits = [s for s in ("dev", "test") if isinstance(report.get(s), dict)]
    rows: dict[str, dict[str, float]] = {}
    for split in splits:
        for key, value in report[split].items():
            if isinstance(value, float):
                rows.setdefault(key, {})[split] = value
    return list(rows.items())


def _results(report: dict[str, Any]) -> list[str]:
    splits = [s for s in ("dev", "test") if isinstance(report.get(s), dict)]
    rows = metric_rows(report)
    if not rows:
        return []
    lines = ["## Results", "", "| metric | " + " | ".join(splits) + " |", "|---|" + "---:|" * len(splits)]
    lines += [f"| {key} | " + " | ".join(f"{values[s]:.4f}" if s in values else "" for s in splits) + " |"
              for key, values in rows]
    return [*lines, "", "All scores are in `report.json`.", ""]


def _usage(cfg, report: dict[str, Any], base: str | None, merged: bool = False) -> list[str]:
    from tuneforge.tasks import task_spec

    auto = task_spec(cfg.task).auto_class
    where = (f"`{MODEL}` is this folder (`runs/{cfg.name}/model`) or the hub repository it was pushed to.")
    tuneforge = ["With tuneforge, from the run directory:", "", "```", f"tuneforge predict runs/{cfg.name} \"...\"",
                 "```", ""]
    kind = library(cfg, merged)
    if kind == "transformers":
        return ["```python", f"from transformers import AutoTokenizer, {auto}", "",
                f'tokenizer = AutoTokenizer.from_pretrained("{MODEL}")',
                f'model = {auto}.from_pretrained("{MODEL}")', "```", "", where, "", *tuneforge]
    if kind == "peft":
        labels = report.get("labels")
        extra = f", num_labels={len(labels)}" if isinstance(labels, list) and labels else ""
        base_name = base or "BASE"
        lines = ["```python", "from peft import PeftModel", f"from transformers import AutoTokenizer, {auto}", "",
                 f'tokenizer = AutoTokenizer.from_pretrained("{MODEL}")',
                 f'base = {auto}.from_pretrained("{base_name}"{extra})',
                 f'model = PeftModel.from_pretrained(base, "{MODEL}")', "```", "", where]
        if base is None:
            lines.append("`BASE` is the local base model this run was trained from.")
        return [*lines, "", *tuneforge]
    return ["This model uses tuneforge's own task head or adapter format; load it with tuneforge.", "", *tuneforge]
