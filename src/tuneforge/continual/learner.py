"""Running a plan: each strategy over every stage, scoring every stage's test set after each one.

A single-model strategy reads top to bottom: the head grows by the stage's new labels, the strategy
says what trains and what the loss adds, the training loop (engine/train.py) runs, every test set is
scored. adapter-per-stage (``strategies/adapter_per_stage.py``) trains one adapter per stage instead.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tuneforge.continual.head_growth import grow_head
from tuneforge.continual.measures import measures
from tuneforge.continual.plan import Plan
from tuneforge.continual.stage_data import Stage
from tuneforge.continual.strategies import STRATEGIES, StrategySpec
from tuneforge.util.console import say


@dataclass
class StrategyResult:
    strategy: str
    r: list[list[float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    model: Any = None
    task: Any = None
    strategy_state: Any = None

    def summary(self, baseline: list[float]) -> dict[str, Any]:
        return {"R": self.r, "train_seconds": [round(s, 1) for s in self.seconds], **measures(self.r, baseline)}


@dataclass
class Setup:
    """What every strategy of a plan shares: the plan, its task, head, tokenizer and read stages."""

    plan: Plan
    task_class: Any
    head: Any
    tokenizer: Any
    stages: list[Stage]

    @property
    def cfg(self):
        return self.plan.base

    def batching(self) -> dict[str, Any]:
        return self.cfg.eval_batching()


def stage_training(training):
    """A stage's training options: one checkpoint at its end at most (a stage is not resumed)."""
    return training.model_copy(update={"checkpoint_every": 10**9})


def train_one_model(setup: Setup, spec: StrategySpec, work: Path) -> StrategyResult:
    """A single-model strategy over the plan's stages."""
    from accelerate.utils import set_seed

    from tuneforge.methods import apply_method
    from tuneforge.tasks import task_spec

    cfg, head, stages = setup.cfg, setup.head, setup.stages
    strategy = spec.build(setup.plan.settings, cfg.training.seed)
    strategy.bind(head, sum(len(s.train) for s in stages))
    result = StrategyResult(spec.name, strategy_state=strategy)
    known: list[str] = []
    model = None
    annotated = annotations(stages, setup.plan.settings.unannotated_types)
    for stage in stages:
        stage_cfg = setup.plan.stage_configs[stage.index]
        known += stage.new_labels
        task = head.task(known)
        if model is None:
            set_seed(cfg.training.seed)
            model = apply_method(task.build_model(cfg.model.name, cfg.model.dropout), cfg,
                                 task_spec(cfg.task).peft_task_type)
            old_outputs = 0
        else:
            old_outputs = grow_head(model, task.labels)
        strategy.before_stage(model, old_outputs, task)
        sourced = strategy.training_examples(stage, stages[: stage.index])
        say(f"{spec.name}: stage {stage.index + 1}/{len(stages)} ({stage.name}): {len(sourced)} training examples, "
            f"{len(known)} labels")
        started = time.perf_counter()
        train_stage(head, task, model, strategy, stage, sourced, annotated, stage_cfg.training,
                    work / f"stage-{stage.index + 1}")
        result.seconds.append(time.perf_counter() - started)
        model.eval()
        with torch.inference_mode():
            row = [head.score(task, model, s.test, s.test_labels, **setup.batching()) for s in stages]
        result.r.append(row)
        say(f"{spec.name}: after stage {stage.index + 1}: " + " ".join(f"{x:.3f}" for x in row))
        model.train()
    result.model, result.task = model.eval(), task
    return result


def annotations(stages: list[Stage], unannotated_types: str) -> list[set[str]]:
    """What each stage's data annotates; with ``o``, as if every stage annotated every type (an O word is O)."""
    annotated = [set(s.labels) for s in stages]
    return [set().union(*annotated)] * len(stages) if unannotated_types == "o" else annotated


def train_stage(head, task, model, strategy, stage: Stage, sourced: list, annotated: list[set[str]], training,
                stage_dir: Path) -> None:
    """One stage: the strategy's examples through the training loop, with its penalty added to the task's loss;
    then what the strategy keeps of the stage (a Fisher estimate, a buffer)."""
    from tuneforge.engine.train import train_loop

    features = head.features(task, sourced, annotated)
    collate = head.collate(task)

    def forward(m, batch):
        return head.forward(task, m, batch)

    def loss(m, batch):
        summed, items, logits, mask = forward(m, batch)
        extra = strategy.penalty(m, batch, logits, mask)
        return (summed if extra is None else summed + extra), items

    stage_dir.mkdir(parents=True, exist_ok=True)
    train_loop(model, features, collate, None, stage_training(training), stage_dir,
               compute_loss=loss, count_items=task.count_items)
    shutil.rmtree(stage_dir / "checkpoints", ignore_errors=True)
    strategy.after_stage(model, stage, features, collate, forward)


def untrained_scores(setup: Setup) -> list[float]:
    """b[j]: each stage's test score by the model before any training, with a head for every label of the plan."""
    from accelerate.utils import set_seed

    cfg, head = setup.cfg, setup.head
    labels = [label for s in setup.stages for label in s.new_labels]
    task = head.task(labels)
    set_seed(cfg.training.seed)
    model = task.build_model(cfg.model.name, cfg.model.dropout).eval()
    with torch.inference_mode():
        return [head.score(task, model, s.test, s.test_labels, **setup.batching()) for s in setup.stages]


def prepare(plan: Plan) -> Setup:
    """Read and check every stage (errors name the plan and stage) and load the tokenizer; no model yet."""
    from tuneforge.continual.heads import incremental_head
    from tuneforge.continual.stages import read_stages
    from tuneforge.errors import ConfigError
    from tuneforge.methods import METHODS
    from tuneforge.models import check_window, load_tokenizer
    from tuneforge.tasks import task_class, task_spec

    cfg = plan.base
    one_model = [s for s in plan.settings.strategies if not STRATEGIES[s].model_per_stage]
    if one_model and METHODS[cfg.method].save_format != "model":
        raise ConfigError(f"{plan.path}: config: method '{cfg.method}' keeps its head inside an adapter; the "
                          f"strategies {', '.join(one_model)} grow the head of one model: use method full or freeze "
                          "(adapter-per-stage trains adapters: adapter_per_stage.method)")
    Task = task_class(cfg.task)
    tokenizer = load_tokenizer(cfg.model.name)
    check_window(cfg.model.name, cfg.model.max_length)
    head = incremental_head(task_spec(cfg.task))(Task, tokenizer, cfg, str(plan.path))
    return Setup(plan, Task, head, tokenizer, read_stages(plan, Task, head))
