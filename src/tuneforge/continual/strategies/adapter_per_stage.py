"""adapter-per-stage: the backbone stays frozen; each stage trains a new adapter with a head for its own labels.

Nothing a stage trains is touched again, so nothing is forgotten by the adapters themselves; what can go
wrong is choosing the adapter. Sequence classification routes each text to one stage (``router.py``:
nearest class centroid of the frozen backbone, or the most confident adapter); token classification asks
every adapter and merges their entities (``tag_heads.combine``). Each stage's adapter is saved in its
method's format under ``stages/<n>-<name>/`` beside the router.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch

from tuneforge.continual.stage_data import Sourced


def adapter_config(cfg, options):
    """The run config of one stage's adapter: the plan's config with adapter_per_stage's method, lr and epochs."""
    from tuneforge.config.loading import load_config

    data = cfg.model_dump()
    data["method"] = options.method
    data["training"] = {**data["training"], "lr": options.lr,
                        "epochs": options.epochs or data["training"]["epochs"]}
    return load_config(data)


def train_per_stage(setup, spec, work: Path):
    from accelerate.utils import set_seed

    from tuneforge.continual.learner import StrategyResult, say, stage_training
    from tuneforge.continual.router import NearestClassRouter
    from tuneforge.engine.train import train_loop
    from tuneforge.methods import apply_method
    from tuneforge.models import load_pretrained
    from tuneforge.tasks import task_spec

    options = setup.plan.settings.adapter_per_stage
    cfg, head, stages = setup.cfg, setup.head, setup.stages
    adapter_cfg = adapter_config(cfg, options)
    result = StrategyResult(spec.name)
    members: list[tuple[object, torch.nn.Module]] = []
    router = None
    if head.one_answer and options.router == "nearest-class":
        from transformers import AutoModel

        router = NearestClassRouter(load_pretrained(cfg.model.name, AutoModel), setup.tokenizer, cfg.model.max_length)
    for stage in stages:
        task = head.task(stage.labels)
        set_seed(cfg.training.seed + stage.index)
        model = apply_method(task.build_model(cfg.model.name, cfg.model.dropout), adapter_cfg,
                             task_spec(cfg.task).peft_task_type)
        sourced = [Sourced(e, 0) for e in stage.train]
        features = head.features(task, sourced, [set(stage.labels)])
        say(f"{spec.name}: stage {stage.index + 1}/{len(stages)} ({stage.name}): a new {options.method} adapter, "
            f"{len(stage.labels)} labels, {len(sourced)} training examples")
        stage_dir = work / f"stage-{stage.index + 1}"
        stage_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        train_loop(model, features, head.collate(task), None, stage_training(adapter_cfg.training), stage_dir,
                   compute_loss=lambda m, b, task=task: head.forward(task, m, b)[:2], count_items=task.count_items)
        shutil.rmtree(stage_dir / "checkpoints", ignore_errors=True)
        if router is not None:
            router.add_stage(len(members), [e.text for e in stage.train], [e.label for e in stage.train])
        result.seconds.append(time.perf_counter() - started)
        members.append((task, model.eval()))
        with torch.inference_mode():
            row = []
            for s in stages:
                route = router.route([e.text for e in s.test]) if router is not None else None
                predicted = head.combine(members, s.test, route, **setup.batching())
                row.append(head.score_predicted(predicted, s.test, s.test_labels))
        result.r.append(row)
        say(f"{spec.name}: after stage {stage.index + 1}: " + " ".join(f"{x:.3f}" for x in row))
    result.model, result.task, result.strategy_state = members, adapter_cfg, router
    return result


def save_members(result, folder: Path) -> None:
    """Each stage's adapter (its method's format: peft files or tuneforge_adapter.*) and the router."""
    from tuneforge.methods.saving import save_adapted

    adapter_cfg = result.task
    for n, (task, model) in enumerate(result.model):
        stage_folder = folder / "stages" / f"{n + 1}"
        stage_folder.mkdir(parents=True, exist_ok=True)
        save_adapted(model, stage_folder, adapter_cfg)
        task.save(stage_folder)
    if result.strategy_state is not None:
        result.strategy_state.save(folder)
