"""One training-engine option at a time: SDPA vs eager attention, torch.compile, malloc, fast dropout, row grads.

Every variant trains the bundled MiniLM on the same WNUT-17 step batches (the first steps of a seeded,
length-grouped epoch at batch 32, as tuneforge builds them) with fused AdamW and gradient clipping, in
its own process (the allocator setting is process-wide). Reports real tokens/s over the timed steps,
the ratio to the baseline, minor page faults per step and, for compile, the time the warm-up took.

    .venv/bin/python benchmarks/engine_options.py --steps 40

Writes benchmarks/results/engine_options.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "baseline (sdpa attention + retain_memory + fast_dropout + embedding_row_grad)": {},
    "retain_memory=false": {"retain": False},
    "fast_dropout=false": {"fast_dropout": False},
    "embedding_row_grad=false": {"row_grad": False},
    "eager attention": {"attention": "eager"},
    "torch.compile (inductor with dynamic shapes)": {"compile": True, "row_grad": False},
}


def child(options: dict, steps: int, warmup: int) -> dict:
    import resource
    import time

    import torch

    from tuneforge.config.loading import load_config
    from tuneforge.engine.speed.allocator import retain_freed_memory
    from tuneforge.engine.speed.attention_dropout import use_fast_attention_dropout
    from tuneforge.engine.speed.embedding_grad import clip_grad_norm, use_row_grad_embedding
    from tuneforge.engine.speed.fast_dropout import use_fast_dropout
    from tuneforge.engine.train import epoch_steps
    from tuneforge.models import load_tokenizer
    from tuneforge.tasks import task_class

    if options.get("retain", True):
        retain_freed_memory()
    cfg = load_config(REPO / "examples" / "ner-wnut17.yaml", ["training.batch_size=32"])
    Task = task_class(cfg.task)
    splits = Task.load_splits(cfg)
    labels = Task.label_set(splits["train"].examples, cfg)
    task = Task.from_config(load_tokenizer(cfg.model.name), labels, cfg)
    features = task.encode(splits["train"].examples)
    torch.manual_seed(cfg.training.seed)
    model = task.build_model(cfg.model.name, None)
    if "attention" in options:
        model.set_attn_implementation(options["attention"])
    model.train()
    if options.get("fast_dropout", True):
        use_fast_attention_dropout(model)  # only switches SDPA models: not the eager row
        use_fast_dropout(model)
    row_grad = use_row_grad_embedding(model) if options.get("row_grad", True) else None
    if options.get("compile"):
        model.compile(dynamic=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    batches = [micro for step in epoch_steps([len(f) for f in features], cfg.training, 0, 1, 0) for micro in step]
    batches = batches[: warmup + steps]

    def train_step(ids: list[int]) -> int:
        batch = task.collate([features[i] for i in ids])
        loss, _ = task.compute_loss(model, batch)
        loss.backward()
        if row_grad is not None:
            clip_grad_norm(model.parameters(), 1.0, row_grad)
        else:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return int(batch["attention_mask"].sum())

    started = time.perf_counter()
    for ids in batches[:warmup]:
        train_step(ids)
    warmup_seconds = time.perf_counter() - started
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started, tokens = time.perf_counter(), 0
    for ids in batches[warmup:]:
        tokens += train_step(ids)
    seconds = time.perf_counter() - started
    return {"tokens_per_s": round(tokens / seconds, 1), "tokens": tokens, "seconds": round(seconds, 2),
            "faults_per_step": round((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps),
            "warmup_seconds": round(warmup_seconds, 1),
            "attention": model.config._attn_implementation,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=8, help="untimed steps first (compile happens here)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from the table")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child), args.steps, args.warmup)))
        return
    rows = {}
    for name in args.variants.split(","):
        proc = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--warmup", str(args.warmup),
                               "--child", json.dumps(VARIANTS[name])], cwd=REPO, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
        rows[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(name, rows[name], file=sys.stderr, flush=True)
    out = REPO / "benchmarks" / "results" / "engine_options.json"
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2) + "\n")
    base = next(iter(rows.values()))["tokens_per_s"]
    print(f"WNUT-17, batch 32, {args.steps} timed steps after {args.warmup} warm-up steps, same batches each row\n")
    print("| variant | real tok/s | vs first row | page faults/step | warm-up s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['tokens_per_s']:.0f} | {r['tokens_per_s'] / base:.2f}x | {r['faults_per_step']} | "
              f"{r['warmup_seconds']} | {r['peak_rss_mib']} |")


if __name__ == "__main__":
    main()
