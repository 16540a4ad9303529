"""Where a training step's time goes: torch.profiler over MiniLM token-classification steps on CPU.

Random token ids, batch 32 x 30 slots (WNUT-17's typical length) with 0-3 padding slots per row,
13 labels, fused AdamW, gradient clipping, malloc keeping freed memory, and tuneforge's engine
defaults (fast dropout, fast attention dropout, row-gradient embedding) unless switched off.
Prints seconds per step and the ops by self CPU time. ``--ab FEATURE`` instead alternates the step
with and without one engine feature in one process, 5 steps each, ``--rounds`` rounds, and reports
the median step time of each: the fairest A/B on a noisy machine.

    .venv/bin/python benchmarks/profile_step.py
    .venv/bin/python benchmarks/profile_step.py --torch-dropout
    .venv/bin/python benchmarks/profile_step.py --ab dropout --rounds 6
    .venv/bin/python benchmarks/profile_step.py --ab embedding --rounds 6
    .venv/bin/python benchmarks/profile_step.py --ab attention --rounds 6
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import AutoModelForTokenClassification

from tuneforge.engine.speed.allocator import retain_freed_memory
from tuneforge.engine.speed.attention_dropout import NAME as FAST_ATTENTION
from tuneforge.engine.speed.embedding_grad import RowGradEmbedding, clip_grad_norm
from tuneforge.engine.speed.fast_dropout import FastDropout
from tuneforge.models import load_pretrained


def set_feature(model: torch.nn.Module, feature: str, on: bool) -> None:
    """Switch one engine feature on or off in place (each is a class swap)."""
    if feature == "dropout":
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.__class__ = FastDropout if on else torch.nn.Dropout
    elif feature == "embedding":
        model.get_input_embeddings().__class__ = RowGradEmbedding if on else torch.nn.Embedding
    elif feature == "attention":
        model.set_attn_implementation(FAST_ATTENTION if on else "sdpa")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torch-dropout", action="store_true", help="keep PyTorch's dropout")
    p.add_argument("--dense-embedding-grad", action="store_true", help="keep PyTorch's embedding backward")
    p.add_argument("--sdpa-dropout", action="store_true", help="keep SDPA's own attention dropout")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--length", type=int, default=30)
    p.add_argument("--rows", type=int, default=25)
    p.add_argument("--ab", choices=FEATURES, help="time the step with and without this feature, interleaved")
    p.add_argument("--rounds", type=int, default=6, help="A/B rounds of 5 steps per variant")
    args = p.parse_args()
    retain_freed_memory()
    torch.manual_seed(0)
    model = load_pretrained("minilm", AutoModelForTokenClassification, num_labels=13)
    model.train()
    set_feature(model, "dropout", not args.torch_dropout)
    set_feature(model, "embedding", not args.dense_embedding_grad)
    set_feature(model, "attention", not args.sdpa_dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    ids = torch.randint(1000, 20000, (args.batch_size, args.length))
    labels = torch.randint(0, 13, (args.batch_size, args.length))
    # Length-grouped batches are nearly, not exactly, equal in length: up to 3 padding slots per row.
    mask = (torch.arange(args.length) < args.length - torch.randint(0, 4, (args.batch_size, 1))).long()
    labels[mask == 0] = -100

    def step() -> None:
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        embedding = model.get_input_embeddings()
        if isinstance(embedding, RowGradEmbedding):
            clip_grad_norm(model.parameters(), 1.0, embedding)
        else:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    if args.ab:
        interleaved(model, step, args.ab, args.rounds)
        return
    started = time.perf_counter()
    for _ in range(5):
        step()
    seconds = (time.perf_counter() - started) / 5
    print(f"{seconds:.3f} s/step, {args.batch_size * args.length / seconds:.0f} tok/s")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def interleaved(model: torch.nn.Module, step, feature: str, rounds: int) -> None:
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for on in times:
            set_feature(model, feature, on)
            step()  # one untimed step after the switch
            for _ in range(5):
                started = time.perf_counter()
                step()
                times[on].append(time.perf_counter() - started)
    off_s, on_s = statistics.median(times[False]), statistics.median(times[True])
    print(f"median s/step over {5 * rounds} steps each: {feature} off {off_s:.3f}, on {on_s:.3f} "
          f"({off_s / on_s:.3f}x)")


FEATURES = ("dropout", "embedding", "attention")

if __name__ == "__main__":
    main()
