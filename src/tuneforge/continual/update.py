"""``tuneforge update RUN --data NEW --gate G``: re-fine-tune a deployed run on new data, promoted only if it
does not forget.

The run's model trains on NEW with a strategy (replay by default: its buffer, or one drawn from the run's
training data), new labels growing the head. Every earlier evaluation set — the run's dev and test, the
test sets of a continual plan's stages and of earlier promoted updates — is scored before and after. If any
falls by more than ``gate`` points (of accuracy, or entity F1), the update is refused: the run's model/ is
not touched, the candidate stays in ``RUN/updates/<n>/`` for inspection and the exit status is 3.
Otherwise the candidate's model replaces ``RUN/model`` (the old one moves to ``RUN/updates/<n>/previous-model``)
and NEW's test set joins the guarded sets. Every attempt is a line of ``RUN/updates.jsonl``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tuneforge.errors import ConfigError, DataError, RunError, TuneforgeError


class UpdateRefused(TuneforgeError):
    """The new model forgot more than the gate allows; the old one stays."""

    exit_code = 3


@dataclass
class UpdateResult:
    promoted: bool
    candidate: Path
    before: dict[str, float]
    after: dict[str, float]
    reason: str | None = None


def guarded_sets(run: Path, cfg: Any) -> list[dict[str, Any]]:
    """The evaluation sets an update must not forget: {name, path, labels (None: every label)}."""
    record = run / "continual.json"
    if record.is_file():
        try:
            stages = json.loads(record.read_text(encoding="utf-8"))["stages"]
        except (OSError, ValueError, KeyError, TypeError):
            raise RunError(f"{record}: damaged; the run directory is damaged") from None
        return [{"name": s["name"], "path": s["test"], "labels": s.get("labels")} for s in stages
                if s.get("test")]
    return [{"name": split, "path": getattr(cfg.data, split), "labels": None} for split in ("dev", "test")
            if getattr(cfg.data, split)]


FLIP_EXAMPLES = 500  # the seeded sample of the guarded test set that the flip gate perturbs


def update(run: str | Path, data: str, dev: str | None = None, test: str | None = None, gate: float = 1.0,
           strategy: str = "replay", overrides: list[str] | None = None,
           flip_gate: float | None = None) -> UpdateResult:
    from tuneforge.config.loading import load_config, parse_overrides
    from tuneforge.continual.strategies import STRATEGIES
    from tuneforge.runs.directory import run_info

    run = Path(run)
    if strategy not in STRATEGIES or STRATEGIES[strategy].model_per_stage:
        choices = [n for n, s in STRATEGIES.items() if not s.model_per_stage]
        raise ConfigError(f"--strategy: '{strategy}' cannot update one run's model (choose from {', '.join(choices)})")
    if gate < 0:
        raise ConfigError(f"--gate: {gate} is negative; it is the most points an earlier set may lose")
    if flip_gate is not None and flip_gate < 0:
        raise ConfigError(f"--flip-gate: {flip_gate} is negative; it is the most points a suite's flip rate may "
                          "rise")
    if any(not key.startswith(("training.", "replay.", "ewc.", "lwf.")) for key, _ in parse_overrides(overrides)):
        raise ConfigError("--set: an update may change training.*, replay.*, ewc.* and lwf.* only")
    for flag, path in (("--data", data), ("--dev", dev), ("--test", test)):
        if path is not None and not Path(path.split("#", 1)[0]).is_file():
            raise DataError(f"{flag}: data file not found: {path}")
    info = run_info(run)
    if info.get("status") != "complete" or not (run / "model").is_dir():
        raise RunError(f"{run}: the run did not finish (status: {info.get('status')}); there is nothing to update")
    strategy_overrides = [o for o in overrides or [] if not o.startswith("training.")]
    training_overrides = [o for o in overrides or [] if o.startswith("training.")]
    files = [f"data.train={Path(data).resolve()}", f"data.dev={Path(dev).resolve() if dev else 'null'}",
             f"data.test={Path(test).resolve() if test else 'null'}"]
    cfg = load_config(run / "config.yaml")
    new_cfg = load_config(run / "config.yaml", files + training_overrides)
    guarded = guarded_sets(run, cfg)
    if not guarded:
        raise ConfigError(f"{run}: no earlier evaluation set to guard (its config names no data.dev or data.test)")
    options = _strategy_options(strategy_overrides)

    from tuneforge.continual.head_growth import grow_head
    from tuneforge.continual.heads import incremental_head
    from tuneforge.continual.learner import train_stage
    from tuneforge.continual.stage_data import Sourced, Stage
    from tuneforge.methods import METHODS
    from tuneforge.runs.directory import load_run
    from tuneforge.tasks import task_spec
    from tuneforge.util.console import say

    spec = task_spec(cfg.task)
    if spec.incremental_outputs is None:
        raise ConfigError(f"{run}: a {cfg.task} run cannot be updated (no class-incremental head)")
    if METHODS[cfg.method].save_format != "model":
        raise ConfigError(f"{run}: method '{cfg.method}' keeps its head inside an adapter; update takes full or "
                          "freeze runs")
    loaded = load_run(run)
    model, old_task, tokenizer = loaded.model, loaded.task, loaded.tokenizer
    head = incremental_head(spec)(type(old_task), tokenizer, new_cfg, str(run))
    Task = type(old_task)
    new_examples = Task.read(new_cfg.data.train, new_cfg, strict=True).examples
    if not new_examples:
        raise DataError(f"{data}: holds no examples")
    new_test = Task.read(new_cfg.data.test, new_cfg, strict=True).examples if test else []
    sets = []
    for entry in guarded:
        try:
            examples = Task.read(entry["path"], cfg, strict=True).examples
        except DataError as exc:
            raise DataError(f"{run}: guarded set {entry['name']}: {exc}") from None
        sets.append((entry, examples))
    batching = cfg.eval_batching()
    known = head.known(old_task.labels)

    def scores(task, model) -> dict[str, float]:
        model.eval()
        import torch

        with torch.inference_mode():
            return {e["name"]: head.score(task, model, ex, e["labels"] or known, **batching) for e, ex in sets}

    before = scores(old_task, model)
    flips = _FlipGate(cfg, str(run), sets, batching) if flip_gate is not None else None
    flips_before = flips.rates(old_task, model) if flips else {}
    present = sorted({label for e in new_examples for label in head.labels_of(e)})
    new_labels = [label for label in present if label not in known]
    old_train = _old_training_data(cfg, Task)
    old_stage = Stage(0, "run", old_train, [], None, known, known, known)
    new_stage = Stage(1, "update", new_examples, new_test, None, sorted(set(present) | set(new_labels)), new_labels,
                      sorted(set(present) | set(new_labels)))
    chosen = STRATEGIES[strategy].build(options, new_cfg.training.seed)
    chosen.bind(head, len(old_train) + len(new_examples))
    # What the strategy keeps of the run's own data (a buffer, a Fisher): restored from the run only when this
    # strategy saved it there; otherwise computed from the run's training data (a buffer another strategy left
    # is no Fisher, and joint trains on the old data itself, whatever buffer exists).
    restored = chosen.load(run, head)
    if STRATEGIES[strategy].needs_earlier_data and not restored and not old_train:
        raise DataError(f"{run}: strategy {strategy} needs the run's training data ({cfg.data.train}), which cannot "
                        "be read")
    if old_train and not restored:
        old_features = head.features(old_task, [Sourced(e, 0) for e in old_train], [set(known)])
        chosen.after_stage(model, old_stage, old_features, head.collate(old_task),
                           lambda m, b: head.forward(old_task, m, b))

    n, candidate = _new_candidate(run / "updates")
    outputs = head.extended(old_task.labels, new_labels)
    task = head.task_with_outputs(outputs)
    old_outputs = grow_head(model, outputs)
    model.train()
    chosen.before_stage(model, old_outputs, task)
    sourced = chosen.training_examples(new_stage, [old_stage])
    say(f"update: {len(sourced)} training examples ({strategy}), {len(new_labels)} new label(s)")
    train_stage(head, task, model, chosen, new_stage, sourced, [set(known), set(new_stage.labels)],
                new_cfg.training, candidate / "log")
    after = scores(task, model)
    if new_test:
        after["new test"] = head.score(task, model.eval(), new_test, new_stage.labels, **batching)
    drops = [(name, before[name], after[name]) for name in before if (before[name] - after[name]) * 100 > gate]
    flips_after = flips.rates(task, model.eval()) if flips else {}
    rises = [(name, flips_before[name], flips_after[name]) for name in flips_before
             if flips_before[name] is not None and flips_after.get(name) is not None
             and (flips_after[name] - flips_before[name]) * 100 > flip_gate]
    _save_candidate(candidate, run, new_cfg, model, tokenizer, task)
    record = {"update": n, "time": time.time(), "data": str(Path(data).resolve()), "strategy": strategy,
              "gate": gate, "new_labels": new_labels, "before": before, "after": after,
              "promoted": not drops and not rises}
    if flips:
        record.update(flip_gate=flip_gate, flip_rates_before=flips_before, flip_rates_after=flips_after)
    from tuneforge.util.atomic import write_json
    from tuneforge.util.exchange import exchange

    write_json(candidate / "scores.json", record)
    if drops or rises:
        if drops:
            name, b, a = max(drops, key=lambda d: d[1] - d[2])
            reason = (f"{name} {head.metric} fell {100 * (b - a):.2f} points ({b:.4f} -> {a:.4f}), more than the "
                      f"gate of {gate:g}")
        else:
            name, b, a = max(rises, key=lambda d: d[2] - d[1])
            reason = (f"the {name} suite's flip rate rose {100 * (a - b):.2f} points ({b:.4f} -> {a:.4f}), more "
                      f"than the flip gate of {flip_gate:g}")
        _log(run, {**record, "reason": reason})
        raise UpdateRefused(f"{run}: update refused: {reason}; the run's model is unchanged (the candidate is in "
                            f"{candidate})")
    exchange(candidate / "model", run / "model")  # one step: RUN/model is never missing, even after a crash
    os.replace(candidate / "model", candidate / "previous-model")
    chosen.save(run, head)
    _record_stage(run, guarded, new_cfg, new_stage, n)
    _log(run, record)
    return UpdateResult(True, candidate, before, after)


class _FlipGate:
    """The robustness suites on a seeded sample of the run's guarded test set (else its first guarded set), run
    on the model before and after the update: the same perturbations both times."""

    def __init__(self, cfg: Any, where: str, sets: list[tuple[dict[str, Any], list[Any]]],
                 batching: dict[str, Any]) -> None:
        from tuneforge.robustness.run_check import perturbation_kind, sample_examples
        from tuneforge.robustness.spec import default_suites, resolve_fields

        self.kind = perturbation_kind(cfg.task, where)
        fields = self.kind.fields(cfg)
        self.default_field = next(iter(fields))
        self.suites = resolve_fields(default_suites(), fields, "--flip-gate")
        entry, examples = next(((e, x) for e, x in sets if e["name"] == "test"), sets[0])
        self.examples = sample_examples(examples, FLIP_EXAMPLES, cfg.training.seed)
        self.batching = batching

    def rates(self, task: Any, model: Any) -> dict[str, float | None]:
        import torch

        from tuneforge.robustness.checked import run_suites

        with torch.inference_mode():
            results = run_suites(task, model, self.kind, self.examples, self.suites, self.default_field,
                                 self.batching)
        return {r["suite"]: r["flip_rate"] for r in results}


def _new_candidate(updates: Path) -> tuple[int, Path]:
    """The next candidate folder, numbered after the highest one there (not the count: a deleted candidate
    leaves a gap), created here so two updates at once never share one."""
    updates.mkdir(parents=True, exist_ok=True)
    n = max((int(p.name) for p in updates.iterdir() if p.name.isdigit()), default=0) + 1
    while True:
        try:
            (updates / str(n)).mkdir()
            return n, updates / str(n)
        except FileExistsError:
            n += 1


def _strategy_options(overrides: list[str]) -> Any:
    from tuneforge.config.loading import parse_overrides
    from tuneforge.continual.strategies.options import EwcOptions, LwfOptions, ReplayOptions

    sections: dict[str, dict[str, Any]] = {"replay": {}, "ewc": {}, "lwf": {}}
    for key, value in parse_overrides(overrides):
        section, _, field = key.partition(".")
        sections[section][field] = value
    from pydantic import ValidationError

    try:
        return SimpleNamespace(replay=ReplayOptions(**sections["replay"]), ewc=EwcOptions(**sections["ewc"]),
                               lwf=LwfOptions(**sections["lwf"]))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"--set {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None


def _old_training_data(cfg: Any, task_class: Any) -> list[Any]:
    """The run's own training examples, when its data.train can still be read (else none)."""
    try:
        return task_class.read(cfg.data.train, cfg, strict=True).examples if cfg.data.train else []
    except (DataError, OSError):
        return []


def _save_candidate(candidate: Path, run: Path, cfg: Any, model, tokenizer, task) -> None:
    from tuneforge.methods.saving import save_adapted
    from tuneforge.util.atomic import atomic_dir, ordinary_modes

    with atomic_dir(candidate / "model") as tmp:
        save_adapted(model, tmp, cfg)
        tokenizer.save_pretrained(tmp)
        task.save(tmp)
        ordinary_modes(tmp)


def _record_stage(run: Path, guarded: list[dict[str, Any]], cfg: Any, stage: Any, n: int) -> None:
    """continual.json lists the guarded sets; a promoted update's test set joins them."""
    from tuneforge.util.atomic import write_json

    path = run / "continual.json"
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {
        "stages": [{"name": g["name"], "test": g["path"], "labels": g["labels"]} for g in guarded]}
    if cfg.data.test:
        record["stages"].append({"name": f"update-{n}", "train": cfg.data.train, "test": cfg.data.test,
                                 "labels": stage.labels, "new_labels": stage.new_labels})
    write_json(path, record)


def _log(run: Path, record: dict[str, Any]) -> None:
    with open(run / "updates.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
