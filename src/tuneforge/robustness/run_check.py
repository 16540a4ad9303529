"""``tuneforge robustness RUN``: the suites on a run's test split (or a labelled file), saved as robustness.json."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tuneforge.errors import RunError
from tuneforge.robustness.checked import run_suites
from tuneforge.robustness.kinds import KINDS
from tuneforge.robustness.spec import default_suites, read_suites, resolve_fields

RESULT_FILE = "robustness.json"


def perturbation_kind(task: str, where: str) -> Any:
    """The kind of the run's task (its registry entry's ``perturbs``); a one-line RunError when it has none."""
    from tuneforge.tasks import TASKS

    kind = TASKS[task].perturbs
    if kind is None:
        able = ", ".join(name for name, spec in TASKS.items() if spec.perturbs)
        raise RunError(f"{where}: a {task} run has no robustness suites (they check {able} runs)")
    return KINDS[kind]


def sample_examples(examples: list[Any], limit: int | None, seed: int) -> list[Any]:
    """A seeded sample of ``limit`` examples in file order (all of them without a limit)."""
    if limit is None or len(examples) <= limit:
        return list(examples)
    return [examples[i] for i in sorted(random.Random(seed).sample(range(len(examples)), limit))]


def check_run(run_dir: str | Path, suites_file: str | None = None, only: list[str] | None = None,
              data: str | None = None, limit: int | None = None, seed: int = 13,
              out: str | Path | None = None) -> dict[str, Any]:
    """Run the suites and write the result (``RUN/robustness.json`` unless ``out``); returns it. Everything the
    user gave — the suites, their fields, the data — is checked before the model loads."""
    from tuneforge.runs.directory import config_of, load_run
    from tuneforge.tasks import task_class
    from tuneforge.util.atomic import write_json

    cfg = config_of(run_dir)
    kind = perturbation_kind(cfg.task, str(run_dir))
    specs = read_suites(suites_file) if suites_file else default_suites(only)
    fields = kind.fields(cfg)
    suites = resolve_fields(specs, fields, suites_file or "--only")
    split, path = None, data
    if data:
        examples = task_class(cfg.task).read(data, cfg, strict=True).examples
    else:
        examples, split = own_split(cfg, run_dir)
        path = getattr(cfg.data, split) or f"{split} carved from {cfg.data.train}"
    examples = sample_examples(examples, limit, seed)
    run = load_run(run_dir)
    run.task.check("data" if data else split, _read_result(examples))
    results = run_suites(run.task, run.model, kind, examples, suites, next(iter(fields)),
                         run.config.eval_batching(), seed)
    record = {"run": str(run_dir), "data": str(path), "split": split, "examples": len(examples), "seed": seed,
              "metric": kind.metric, "suites": results}
    write_json(Path(out) if out else Path(run_dir) / RESULT_FILE, record)
    return record


def own_split(cfg: Any, run_dir: str | Path) -> tuple[list[Any], str]:
    """The run's test split (else its dev split), carved from train as training carved it where the config says."""
    from tuneforge.errors import ConfigError
    from tuneforge.tasks import task_class

    splits = task_class(cfg.task).load_splits(cfg, strict=True)
    split = next((s for s in ("test", "dev") if s in splits and splits[s].examples), None)
    if split is None:
        raise ConfigError(f"{run_dir}: the run has no test or dev split to check (data.test / data.dev / "
                          "data.split); give the data to check (--data FILE)")
    return splits[split].examples, split


def _read_result(examples: list[Any]) -> Any:
    from tuneforge.data.examples import ReadResult

    return ReadResult(examples)
