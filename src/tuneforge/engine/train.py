"""The training loop: one function, read top to bottom.

It gets a model, training features, a collate function and an ``evaluate(model) -> metrics``
callable; it knows nothing of tasks or adaptation methods. Devices and distributed runs come from
accelerate, so ``accelerate launch -m tuneforge train CONFIG`` needs no code change.

An optimizer step consumes one *step batch* of ``batch_size x grad_accum x processes`` examples
(length-grouped, seeded). Each process takes its slice and runs it as micro-batches of at most
``batch_size``. Losses are summed per labelled item and scaled by one over the step's item count
over all micro-batches and processes (counted before the forward passes), so accumulation and data
parallelism give the gradient of the one big batch — not an average of averages.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from safetensors.torch import load_model
from tqdm import tqdm
from transformers import get_scheduler

from tuneforge.data.batching import split_batches, train_batches
from tuneforge.engine.checkpoint import LoopState, load_checkpoint, rng_state, save_checkpoint, save_weights
from tuneforge.engine.metrics_log import MetricsLog
from tuneforge.engine.optim import build_optimizer
from tuneforge.engine.speed.allocator import retain_freed_memory, return_freed_memory
from tuneforge.engine.speed.attention_backends import no_cudnn_attention
from tuneforge.engine.speed.embedding_grad import clip_grad_norm
from tuneforge.engine.speed.patches import cpu_patches

if TYPE_CHECKING:
    from tuneforge.config.schema import TrainingConfig

IGNORE_INDEX = -100  # labels the loss skips (sub-word continuations, padding)


@no_cudnn_attention()
def train_loop(
    model: torch.nn.Module,
    features: Sequence[Any],
    collate: Callable[[list[Any]], dict[str, torch.Tensor]],
    evaluate: Callable[[torch.nn.Module], dict[str, Any]] | None,
    cfg: TrainingConfig,
    run_dir: Path,
    resume: bool = False,
    compute_loss: Callable[[torch.nn.Module, dict[str, torch.Tensor]], tuple[torch.Tensor, int]] | None = None,
    count_items: Callable[[dict[str, torch.Tensor]], int] | None = None,
) -> LoopState:
    """Train ``model`` in place; on return it holds the best weights (if ``restore_best``).

    ``compute_loss(model, batch) -> (summed loss, items)`` is the task's loss; by default the
    model's own mean loss times its labelled-item count. ``count_items(batch)`` gives the items a
    collated batch's summed loss covers (default: ``labelled_items``, for batches with ``labels``).
    However training ends, the model leaves with its own modules (see patches.py).
    """
    compute_loss = compute_loss or summed_model_loss
    count_items = count_items or labelled_items
    set_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.retain_memory:
        retain_freed_memory()
    else:
        return_freed_memory()
    accelerator = Accelerator(cpu=not torch.accelerator.is_available())
    world, rank = accelerator.num_processes, accelerator.process_index
    on_cpu = accelerator.device.type == "cpu"
    lengths = [len(f) for f in features]
    steps_per_epoch = len(epoch_steps(lengths, cfg, 0, world, rank))
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
    ckpt_root, best_file = run_dir / "checkpoints", run_dir / "checkpoints" / "best.safetensors"
    log = MetricsLog(run_dir / "metrics.jsonl", enabled=accelerator.is_main_process)
    state = LoopState()
    if resume:
        state = load_checkpoint(ckpt_root, model, optimizer, scheduler, rank)
        log.truncate_after(state.step)
    # Every patch of the model is undone when this block ends, however it ends (Ctrl-C included), and the
    # trackers of training.report_to (which get every record metrics.jsonl gets) are closed.
    with (log.tracking(cfg.report_to, run_dir, state.step if resume else None),
          cpu_patches(model, cfg, on_cpu, world) as row_grad):
        model, optimizer = accelerator.prepare(model, optimizer)
        model.train()

        show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        bar = tqdm(total=total_steps, initial=state.step, disable=not (show and accelerator.is_main_process),
                   desc="train", unit="step", dynamic_ncols=True)
        window = {"loss": 0.0, "steps": 0, "tokens": 0, "slots": 0, "seconds": 0.0}
        done = state.step >= total_steps or state.stopped_early
        epoch = state.epoch
        while not done:
            steps = epoch_steps(lengths, cfg, epoch, world, rank)
            first = state.step_in_epoch if epoch == state.epoch else 0
            for index in range(first, len(steps)):
                started = time.perf_counter()
                step_loss, step_tokens, step_slots = 0.0, 0, 0
                batches = [collate([features[i] for i in ids]) for ids in steps[index]]
                # Every labelled item of the step (all micro-batches, all processes) is counted before the
                # forward passes, so each micro-batch's summed loss is scaled once and the gradients come
                # out as the mean over the whole step batch, with no extra pass over them.
                step_items = sum(count_items(b) for b in batches)
                scale = _loss_scale(accelerator, step_items)
                for j, batch in enumerate(batches):
                    step_tokens += int(batch["attention_mask"].sum())
                    step_slots += batch["attention_mask"].numel()
                    batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                    # Gradients are all-reduced once per step, on the last micro-batch.
                    with _no_sync_unless(j == len(batches) - 1, accelerator, model):
                        loss_sum, _ = compute_loss(model, batch)
                        accelerator.backward(loss_sum * scale)
                    step_loss += loss_sum.item()

                if cfg.max_grad_norm and row_grad is not None:
                    clip_grad_norm(model.parameters(), cfg.max_grad_norm, row_grad)
                elif cfg.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                seconds = time.perf_counter() - started
                state.step += 1
                state.epoch, state.step_in_epoch = epoch, index + 1
                state.train_tokens += step_tokens
                state.train_slots += step_slots
                state.train_seconds += seconds
                for key, value in (("loss", step_loss / max(step_items, 1)), ("steps", 1), ("tokens", step_tokens),
                                   ("slots", step_slots), ("seconds", seconds)):
                    window[key] += value
                bar.update(1)
                epochs_done = round(epoch + (index + 1) / len(steps), 4)  # fractional, as in metrics.jsonl
                if state.step % cfg.log_every == 0 or state.step == total_steps:
                    record = {
                        "step": state.step,
                        "epoch": epochs_done,
                        "loss": round(window["loss"] / window["steps"], 6),
                        "lr": scheduler.get_last_lr()[0],
                        "tokens_per_s": round(window["tokens"] / max(window["seconds"], 1e-9), 1),
                        "padding_fraction": round(1 - window["tokens"] / max(window["slots"], 1), 4),
                    }
                    log.write(record)
                    bar.set_postfix(loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}",
                                    pad=f"{record['padding_fraction']:.0%}")
                    window = dict.fromkeys(window, 0)

                end_of_epoch = index + 1 == len(steps)
                done = state.step >= total_steps
                if evaluate and (
                    (cfg.eval_every == "epoch" and (end_of_epoch or done))
                    or (isinstance(cfg.eval_every, int) and (state.step % cfg.eval_every == 0 or done))
                ):
                    _evaluate(evaluate, accelerator.unwrap_model(model), cfg, state, log, epochs_done,
                              best_file if accelerator.is_main_process else None, bar)
                    done = done or state.stopped_early
                if done or (
                    (cfg.checkpoint_every == "epoch" and end_of_epoch)
                    or (isinstance(cfg.checkpoint_every, int) and state.step % cfg.checkpoint_every == 0)
                ):
                    if end_of_epoch:  # the next step to run is the first of the next epoch
                        state.epoch, state.step_in_epoch = epoch + 1, 0
                    # Every process's RNG states go in: each resumes its own dropout masks.
                    rngs = gather_object([rng_state()]) if world > 1 else [rng_state()]
                    if accelerator.is_main_process:
                        save_checkpoint(ckpt_root, accelerator.unwrap_model(model), optimizer, scheduler, state, rngs)
                    accelerator.wait_for_everyone()
                if done:
                    break
            epoch += 1
        bar.close()
    model = accelerator.unwrap_model(model)
    accelerator.wait_for_everyone()  # best.safetensors is written by the main process
    if cfg.restore_best and evaluate and best_file.is_file():
        load_model(model, str(best_file))
    # Measured on the batches as collated (a task may pack several examples into a row).
    state.extra["padding_fraction"] = round(1 - state.train_tokens / state.train_slots, 4) if state.train_slots else 0.0
    state.extra |= {"device": accelerator.device.type, "processes": world,
                    "mixed_precision": accelerator.mixed_precision}
    return state


def summed_model_loss(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """The model's mean loss turned into a sum over labelled items (labels != -100)."""
    items = labelled_items(batch)
    outputs = model(**batch)
    # A micro-batch with nothing labelled (rare) still takes part, with zero gradient.
    return (outputs.loss * items if items else outputs.logits.sum() * 0.0), items


def epoch_steps(lengths: list[int], cfg: TrainingConfig, epoch: int, world: int, rank: int) -> list[list[list[int]]]:
    """This process's micro-batches for each optimizer step of ``epoch``.

    Every process builds the same step batches (of batch_size x grad_accum x world examples, or the
    matching token budget), so N processes with batch_size B run exactly the steps one process with
    batch_size N*B runs. A step batch too small to give each process an example (only ever the last,
    short one) is dropped.
    """
    scale = cfg.grad_accum * world
    budget = cfg.batch_tokens * scale if cfg.batch_tokens else None
    steps = []
    for step_batch in train_batches(lengths, cfg.batch_size * scale, cfg.seed, epoch, cfg.group_by_length, budget):
        if len(step_batch) < world:
            continue
        share = sorted(step_batch[rank::world], key=lambda i: -lengths[i])
        steps.append(split_batches(share, lengths, cfg.batch_size, cfg.batch_tokens))
    return steps


def _no_sync_unless(sync: bool, accelerator: Accelerator, model):
    if sync or accelerator.num_processes == 1:
        return contextlib.nullcontext()
    return accelerator.no_sync(model)


def labelled_items(batch: dict[str, torch.Tensor]) -> int:
    """Items the loss sums over: labelled tokens, labelled examples, or example x label (multi-label)."""
    return int((batch["labels"] != IGNORE_INDEX).sum())


def _loss_scale(accelerator: Accelerator, local_items: int) -> float:
    """The factor that turns summed losses into the mean over every labelled item of the step."""
    items: float = local_items
    if accelerator.num_processes > 1:
        # DDP averages gradients over processes, i.e. divides their sum by the number of processes.
        total = accelerator.reduce(torch.tensor([local_items], device=accelerator.device), reduction="sum")
        items = int(total.item()) / accelerator.num_processes
    return 1.0 / items if items > 0 else 0.0


def _evaluate(evaluate, model, cfg: TrainingConfig, state: LoopState, log: MetricsLog, epoch: float,
              best_file: Path | None, bar: tqdm) -> None:
    """Score the dev set and track the best weights (saved to ``best_file`` on the main process). ``epoch``:
    the epochs done, fractional (1.5: halfway through the second), the same in metrics.jsonl and on the console."""
    metrics = evaluate(model)
    model.train()
    es = cfg.early_stopping
    value = metrics[es.metric]
    sign = 1 if es.mode == "max" else -1
    improved = state.best_metric is None or sign * (value - state.best_metric) > es.min_delta
    if improved:
        state.best_metric, state.best_step, state.evals_without_improvement = value, state.step, 0
        if best_file is not None:
            save_weights(model, best_file)
    else:
        state.evals_without_improvement += 1
    if es.patience and state.evals_without_improvement >= es.patience:
        state.stopped_early = True
    scalars = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    log.write({"step": state.step, "epoch": epoch, "split": "dev", **scalars, "best": improved})
    if best_file is not None:
        note = " (best so far)" if improved else ""
        stop = "; stopping early" if state.stopped_early else ""
        bar.write(f"tuneforge: step {state.step}, epoch {epoch:g}: dev {es.metric} {value:.4f}{note}{stop}",
                  file=sys.stderr)
