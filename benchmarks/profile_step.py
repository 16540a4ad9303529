"""Where a training step's time goes: torch.profiler over MiniLM token-classification steps on CPU.

Random token ids, batch 32 x 30 tokens (WNUT-17's typical length), 13 labels, fused AdamW, gradient
clipping, malloc keeping freed memory; tuneforge's fast dropout unless ``--torch-dropout``. Prints
seconds per step and the ops by self CPU time. ``--ab N`` instead alternates PyTorch's and the fast
dropout in one process, 5 steps each, N rounds, and reports the median step time of each: the
fairest A/B on a noisy machine.

    .venv/bin/python benchmarks/profile_step.py
    .venv/bin/python benchmarks/profile_step.py --torch-dropout
    .venv/bin/python benchmarks/profile_step.py --ab 6
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import AutoModelForTokenClassification

from tuneforge.engine.allocator import retain_freed_memory
from tuneforge.engine.fast_dropout import use_fast_dropout
from tuneforge.models import load_pretrained


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torch-dropout", action="store_true", help="keep PyTorch's dropout")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--length", type=int, default=30)
    p.add_argument("--rows", type=int, default=25)
    p.add_argument("--ab", type=int, default=0, help="rounds of interleaved torch / fast dropout timing")
    args = p.parse_args()
    retain_freed_memory()
    torch.manual_seed(0)
    model = load_pretrained("minilm", AutoModelForTokenClassification, num_labels=13)
    model.train()
    if not args.torch_dropout:
        use_fast_dropout(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    ids = torch.randint(1000, 20000, (args.batch_size, args.length))
    labels = torch.randint(0, 13, (args.batch_size, args.length))

    def step() -> None:
        model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    if args.ab:
        interleaved(model, step, args.ab)
        return
    started = time.perf_counter()
    for _ in range(5):
        step()
    seconds = (time.perf_counter() - started) / 5
    print(f"{seconds:.3f} s/step, {args.batch_size * args.length / seconds:.0f} tok/s "
          f"({'torch' if args.torch_dropout else 'fast'} dropout)")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def interleaved(model: torch.nn.Module, step, rounds: int) -> None:
    import statistics

    from tuneforge.engine.fast_dropout import FastDropout

    times: dict[str, list[float]] = {"torch": [], "fast": []}
    for _ in range(rounds):
        for name in times:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.__class__ = FastDropout if name == "fast" else torch.nn.Dropout
            step()  # one untimed step after the switch
            for _ in range(5):
                started = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - started)
    torch_s, fast_s = statistics.median(times["torch"]), statistics.median(times["fast"])
    print(f"median s/step over {5 * rounds} steps each: torch dropout {torch_s:.3f}, fast dropout {fast_s:.3f} "
          f"({torch_s / fast_s:.3f}x)")


if __name__ == "__main__":
    main()
