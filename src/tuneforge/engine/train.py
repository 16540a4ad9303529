"""The training loop: one function, read top to bottom.

It gets a model, training features, a collate function and an ``evaluate(model) -> metrics``
callable; it knows nothing of tasks or adaptation methods. Devices and distributed runs come from
accelerate, so ``accelerate launch -m tuneforge train CONFIG`` needs no code change.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from safetensors.torch import load_model
from tqdm import tqdm
from transformers import get_scheduler

from tuneforge.config import TrainingConfig
from tuneforge.data.batching import padding_fraction, train_batches
from tuneforge.engine.checkpoint import LoopState, load_checkpoint, save_checkpoint, save_weights
from tuneforge.engine.metrics_log import MetricsLog
from tuneforge.engine.optim import build_optimizer


def train_loop(
    model: torch.nn.Module,
    features: Sequence[Any],
    collate: Callable[[list[Any]], dict[str, torch.Tensor]],
    evaluate: Callable[[torch.nn.Module], dict[str, Any]] | None,
    cfg: TrainingConfig,
    run_dir: Path,
    resume: bool = False,
) -> LoopState:
    """Train ``model`` in place; on return it holds the best weights (if ``restore_best``)."""
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    accelerator = Accelerator(gradient_accumulation_steps=1)  # accumulation is done by hand below
    lengths = [len(f) for f in features]
    world, rank = accelerator.num_processes, accelerator.process_index
    batches_per_epoch = len(_epoch_batches(lengths, cfg, 0, world, rank))
    steps_per_epoch = math.ceil(batches_per_epoch / cfg.grad_accum)
    total_steps = math.ceil(cfg.epochs * steps_per_epoch)
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    optimizer = build_optimizer(model, cfg)
    scheduler = get_scheduler(
        cfg.scheduler if cfg.scheduler != "constant" else "constant_with_warmup",
        optimizer,
        num_warmup_steps=int(cfg.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    ckpt_dir, best_file = run_dir / "checkpoints" / "last", run_dir / "checkpoints" / "best.safetensors"
    log = MetricsLog(run_dir / "metrics.jsonl", enabled=accelerator.is_main_process)
    state = LoopState()
    if resume:
        state = load_checkpoint(ckpt_dir, model, optimizer, scheduler)
        log.truncate_after(state.step)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()

    show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
    bar = tqdm(total=total_steps, initial=state.step, disable=not (show and accelerator.is_main_process),
               desc="train", unit="step", dynamic_ncols=True)
    done = state.step >= total_steps or state.stopped_early
    step_tokens = step_slots = 0
    step_loss = 0.0
    window = {"loss": 0.0, "steps": 0, "tokens": 0, "slots": 0, "seconds": 0.0}
    step_start = time.perf_counter()
    epoch = state.epoch
    while not done:
        batches = _epoch_batches(lengths, cfg, epoch, world, rank)
        first = state.batch_in_epoch if epoch == state.epoch else 0
        for index in range(first, len(batches)):
            batch = collate([features[i] for i in batches[index]])
            step_tokens += int(batch["attention_mask"].sum())
            step_slots += batch["attention_mask"].numel()
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            loss = model(**batch).loss / cfg.grad_accum
            accelerator.backward(loss)
            step_loss += loss.item()
            end_of_epoch = index + 1 == len(batches)
            if (index + 1) % cfg.grad_accum and not end_of_epoch:
                continue

            # One optimizer step.
            if cfg.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            seconds = time.perf_counter() - step_start
            state.step += 1
            state.epoch, state.batch_in_epoch = epoch, index + 1
            state.train_tokens += step_tokens
            state.train_seconds += seconds
            for key, value in (("loss", step_loss), ("steps", 1), ("tokens", step_tokens),
                               ("slots", step_slots), ("seconds", seconds)):
                window[key] += value
            step_tokens = step_slots = 0
            step_loss = 0.0
            bar.update(1)
            if state.step % cfg.log_every == 0 or state.step == total_steps:
                record = {
                    "step": state.step,
                    "epoch": round(epoch + (index + 1) / len(batches), 4),
                    "loss": round(window["loss"] / window["steps"], 6),
                    "lr": scheduler.get_last_lr()[0],
                    "tokens_per_s": round(window["tokens"] / max(window["seconds"], 1e-9), 1),
                    "padding_fraction": round(1 - window["tokens"] / max(window["slots"], 1), 4),
                }
                log.write(record)
                bar.set_postfix(loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}",
                                pad=f"{record['padding_fraction']:.0%}")
                window = dict.fromkeys(window, 0)

            done = state.step >= total_steps
            if evaluate and (
                (cfg.eval_every == "epoch" and (end_of_epoch or done))
                or (isinstance(cfg.eval_every, int) and (state.step % cfg.eval_every == 0 or done))
            ):
                _evaluate(evaluate, accelerator.unwrap_model(model), cfg, state, log, epoch, best_file)
                done = done or state.stopped_early
            if done or (
                (cfg.checkpoint_every == "epoch" and end_of_epoch)
                or (isinstance(cfg.checkpoint_every, int) and state.step % cfg.checkpoint_every == 0)
            ):
                if end_of_epoch:  # the next batch to read is the first of the next epoch
                    state.epoch, state.batch_in_epoch = epoch + 1, 0
                if accelerator.is_main_process:
                    save_checkpoint(ckpt_dir, accelerator.unwrap_model(model), optimizer, scheduler, state)
                accelerator.wait_for_everyone()
            step_start = time.perf_counter()
            if done:
                break
        epoch += 1
    bar.close()
    model = accelerator.unwrap_model(model)
    if cfg.restore_best and evaluate and best_file.is_file():
        load_model(model, str(best_file))
    state.extra["padding_fraction_epoch0"] = round(
        padding_fraction(_epoch_batches(lengths, cfg, 0, world, rank), lengths), 4
    )
    return state


def _epoch_batches(lengths: list[int], cfg: TrainingConfig, epoch: int, world: int, rank: int) -> list[list[int]]:
    batches = train_batches(lengths, cfg.batch_size, cfg.seed, epoch, cfg.group_by_length, cfg.batch_tokens)
    # Each process takes every world-th batch; drop the tail so all processes step together.
    usable = len(batches) - len(batches) % world if world > 1 else len(batches)
    return batches[rank:usable:world]


def _evaluate(evaluate, model, cfg: TrainingConfig, state: LoopState, log: MetricsLog, epoch: int,
              best_file: Path) -> None:
    metrics = evaluate(model)
    model.train()
    es = cfg.early_stopping
    value = metrics.get(es.metric)
    if value is None:
        raise KeyError(f"early_stopping.metric '{es.metric}' is not among the dev metrics: {sorted(metrics)}")
    sign = 1 if es.mode == "max" else -1
    improved = state.best_metric is None or sign * (value - state.best_metric) > es.min_delta
    if improved:
        state.best_metric, state.best_step, state.evals_without_improvement = value, state.step, 0
        save_weights(model, best_file)
    else:
        state.evals_without_improvement += 1
    if es.patience and state.evals_without_improvement >= es.patience:
        state.stopped_early = True
    scalars = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    log.write({"step": state.step, "epoch": epoch, "split": "dev", **scalars, "best": improved})
