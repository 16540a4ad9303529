"""Training data augmented from the suites: perturbed copies of training examples, with their labels or tags.

Written as JSONL under the config's own field names, with the dev split beside it (carved from train as
training carves it, so the copies never leak into dev): train on ``DIR/train.jsonl`` with ``DIR/dev.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from random import Random
from typing import Any

from tuneforge.robustness.spec import default_suites, read_suites, resolve_fields
from tuneforge.robustness.suites import SUITES


def augmented(examples: list[Any], kind: Any, suites: list[tuple[Any, str]], rate: float,
              seed: int) -> tuple[list[Any], dict[str, int]]:
    """The examples, each followed (with probability ``rate``) by one perturbed copy from a suite drawn at
    random among those that change it; and how many copies each suite made."""
    rng = Random(seed)
    out, made = [], {spec.suite: 0 for spec, _ in suites}
    for example in examples:
        out.append(example)
        if rng.random() >= rate:
            continue
        for spec, attribute in rng.sample(suites, len(suites)):
            p = SUITES[spec.suite].perturb(kind.sample(example, attribute), rng)
            if p is not None:
                out.append(kind.rebuild(example, p, attribute))
                made[spec.suite] += 1
                break
    return out, made


def record(example: Any, cfg: Any) -> dict[str, Any]:
    """One example as a JSONL record under the config's field names."""
    d = cfg.data
    if hasattr(example, "tokens"):
        return {d.tokens_field: list(example.tokens), d.tags_field: list(example.tags)}
    out = {d.text_field: example.text, d.label_field: example.label}
    if example.text_pair is not None:
        out[d.text_pair_field] = example.text_pair
    return out


def write_augmented(config: str, out_dir: str | Path, overrides: list[str] | None = None,
                    suites_file: str | None = None, only: list[str] | None = None, rate: float = 0.5,
                    seed: int = 13) -> dict[str, Any]:
    from tuneforge.config.loading import load_config
    from tuneforge.errors import ConfigError
    from tuneforge.robustness.run_check import perturbation_kind
    from tuneforge.tasks import task_class
    from tuneforge.util.atomic import write_text

    if not 0 < rate <= 1:
        raise ConfigError(f"--rate: {rate}; give a share in (0, 1]")
    cfg = load_config(config, overrides)
    kind = perturbation_kind(cfg.task, str(config))
    specs = read_suites(suites_file) if suites_file else default_suites(only)
    suites = resolve_fields(specs, kind.fields(cfg), suites_file or "--only")
    splits = task_class(cfg.task).load_splits(cfg, strict=True)
    train, made = augmented(splits["train"].examples, kind, suites, rate, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, examples in (("train", train), ("dev", splits["dev"].examples if "dev" in splits else None)):
        if examples is None:
            continue
        path = out / f"{name}.jsonl"
        write_text(path, "".join(json.dumps(record(e, cfg), ensure_ascii=False) + "\n" for e in examples))
        written[name] = str(path)
    return {"files": written, "train_examples": len(splits["train"].examples), "copies": made}

