"""Training throughput: tuneforge ``task: generation`` vs TRL's SFTTrainer, same model, LoRA, data and steps.

Both fine-tune the bundled SmolLM2-135M-Instruct (fp32, CPU, torch's default threads) with LoRA r=8,
alpha 16, dropout 0.1 on every Linear of the backbone (q/k/v/o and gate/up/down projections), AdamW at
lr 1e-3 (weight decay 0.01, linear decay, no warm-up, gradient norm clipped at 1.0, seed 42), on the first
``--examples`` SciTLDR-A train records (prompt: the instruction, a blank line and the abstract; reply: its
first TLDR), rendered through the model's chat template with the loss on the reply only, for ``--steps``
optimizer steps of about ``--batch-tokens`` (T) real tokens each. The sides:

- ``tuneforge``: ``training.batch_tokens`` T, ``model.max_length`` 640, packing on (its default): each
  step's examples are packed first-fit into rows of 640 with per-example position ids, which transformers
  turns into a block-diagonal causal mask; logits only at reply positions.
- ``trl-bfd``: TRL's documented best setting: ``packing=True`` with its default ``packing_strategy="bfd"``,
  which turns on ``padding_free``; ``max_length`` T and ``per_device_train_batch_size`` 1, so each step is
  one packed row of up to T tokens. The padding-free collator sends ``position_ids`` that restart at 0 for
  each example and no attention mask (plus ``cu_seq_lens`` for flash-attention varlen kernels, which CPU
  does not have). On CPU the model runs sdpa attention, and transformers' mask code
  (``find_packed_sequence_indices``) reads the restarts in the position ids and builds a block-diagonal
  causal mask: packed examples do NOT attend to each other, as in tuneforge. But without a varlen kernel
  torch's CPU attention computes the whole T x T score matrix of the row (masked blocks included), so the
  attention work grows with T, not with the examples' lengths. TRL's fused LM head also projects reply
  positions only.
- ``trl-bfd-accum``: the same packing with ``max_length`` 640 and ``gradient_accumulation_steps``
  round(T / 640): one packed row of up to 640 per micro-batch (padding-free flattens a batch into one row,
  so a bigger batch would not keep rows short), i.e. the same 640-wide attention as tuneforge.
- ``trl-padded``: no packing; padded batches of ``per_device_train_batch_size`` = T / mean example length
  examples, length-grouped (``train_sampling_strategy="group_by_length"``), ``max_length`` 640.
- ``trl-wrapped`` (only when named in ``--sides``): ``packing_strategy="wrapped"``: examples concatenated
  and cut into rows of exactly T tokens with a plain all-ones attention mask and no position ids, so
  examples DO attend to the examples before them in the row and are cut at row ends; reported, never the
  peer.

Real tokens/s = non-padding tokens of the timed steps / their seconds. tuneforge: the report's
``training.train_tokens`` and ``train_seconds`` (collation, forward, backward, clipping, optimizer step);
per step from ``metrics.jsonl`` (``training.log_every: 1``) and a counting wrapper around the task's
``collate``. TRL: its own token count (``_total_train_tokens``: the row length when padding-free, else the
attention mask's sum) read by a callback at each step end, and the time between step ends (the first step
timed from the epoch start, so its data loading counts). Reported for all steps and for steps 2..S (the
first is warm-up). Each side runs in its own process (the script re-invokes itself with ``--side``), so
each peak RSS is its own; sides are interleaved over ``--rounds`` rounds and medians reported, with the
ratio tuneforge / best TRL variant (the fastest of trl-bfd, trl-bfd-accum and trl-padded on steps 2..S).
The mean reply-token loss of the first and last step is a sanity check (both sides should fall alike).

TRL is a benchmark-only peer, never a tuneforge dependency: install it and ``datasets`` apart, e.g. with
``pip install --no-deps --target /tmp/trl trl==1.16.0 datasets pyarrow pandas python-dateutil tzdata dill
multiprocess xxhash``. That folder goes at the END of ``sys.path`` (``--trl-path``), so the venv's torch,
transformers and peft win. Both sides tokenize alike (same ids; TRL also scores the newline after
``<|im_end|>``).

    .venv/bin/python benchmarks/sft_throughput.py --steps 20 --examples 512 --batch-tokens 4096 --rounds 2

Writes benchmarks/results/sft-throughput.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO, package_versions, write_results

SCITLDR = REPO.parent / "shared" / "datasets" / "scitldr" / "SciTLDR-A" / "train.jsonl"
INSTRUCTION = "Write a one-sentence TLDR of this paper abstract."
MAX_LENGTH = 640  # tuneforge's window (examples/generation-scitldr.yaml); TRL's when it does not pack
LORA = {"r": 8, "alpha": 16, "dropout": 0.1,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
TRAINING = {"lr": 1e-3, "weight_decay": 0.01, "max_grad_norm": 1.0, "seed": 42}
SIDES = ("tuneforge", "tuneforge-trim", "trl-bfd", "trl-bfd-accum", "trl-padded", "trl-wrapped")
PEERS = ("trl-bfd", "trl-bfd-accum", "trl-padded")  # keep examples apart; trl-wrapped does not


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def write_records(path: Path, examples: int) -> int:
    """The first ``examples`` SciTLDR-A train records as {prompt, completion} JSON lines."""
    count = 0
    with SCITLDR.open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as out:
        for line in src:
            if count == examples:
                break
            record = json.loads(line)
            prompt = f"{INSTRUCTION}\n\n" + " ".join(record["source"])
            out.write(json.dumps({"prompt": prompt, "completion": record["target"][0]}) + "\n")
            count += 1
    return count


def step_summary(tokens: list[int], seconds: list[float]) -> dict[str, Any]:
    """Throughput over all steps and over steps 2..S from per-step real tokens and seconds."""
    out: dict[str, Any] = {"steps": len(tokens), "tokens": sum(tokens), "seconds": round(sum(seconds), 3),
                           "tokens_per_s": round(sum(tokens) / max(sum(seconds), 1e-9), 1),
                           "tokens_per_step": round(sum(tokens) / max(len(tokens), 1), 1),
                           "step_tokens": tokens, "step_seconds": [round(s, 3) for s in seconds]}
    warm_tokens, warm_seconds = sum(tokens[1:]), sum(seconds[1:])
    out["tokens_per_s_warm"] = round(warm_tokens / warm_seconds, 1) if len(tokens) > 1 else None
    out["seconds_warm"] = round(warm_seconds, 3)
    return out


# sides (child processes) --------------------------------------------------------------------------------
def run_tuneforge(args: argparse.Namespace, work: Path, retain_memory: bool = True) -> dict[str, Any]:
    import torch

    import tuneforge.tasks.generation.task as generation
    from tuneforge.api import train

    # Per-step real tokens and examples: the loop collates each step once (grad_accum 1), in step order.
    collated: list[tuple[int, int, int]] = []
    collate = generation.Generation.collate

    def counting_collate(self, features):
        batch = collate(self, features)
        collated.append((int(batch["attention_mask"].sum()), batch["attention_mask"].numel(), len(features)))
        return batch

    generation.Generation.collate = counting_collate
    config = {
        "name": "sft-throughput",
        "task": "generation",
        "model": {"name": "smollm2-135m", "max_length": MAX_LENGTH},
        "method": "lora",
        "lora": {k: LORA[k] for k in ("r", "alpha", "dropout", "target_modules")},
        "data": {"train": args.data},
        "task_options": {"instruction": None, "metrics": ["rouge"], "too_long": "truncate-left"},
        "training": {"max_steps": args.steps, "epochs": 1000, "batch_tokens": args.batch_tokens,
                     "optimizer": "adamw", "scheduler": "linear", "warmup_ratio": 0.0, "log_every": 1,
                     "eval_every": 10**9, "checkpoint_every": 10**9, "progress": False,
                     "retain_memory": retain_memory, **TRAINING},
        "output_dir": str(work / "runs"),
    }
    started = time.perf_counter()
    run_dir = Path(train(config))
    wall = time.perf_counter() - started
    report = json.loads((run_dir / "report.json").read_text())["training"]
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in logged if "tokens_per_s" in r]
    steps = collated[: report["steps"]]
    tokens = [t for t, _, _ in steps]
    if sum(tokens) != report["train_tokens"] or len(logged) != len(tokens):
        raise SystemExit(f"tuneforge: counted {sum(tokens)} tokens in {len(tokens)} collations, the report says "
                         f"{report['train_tokens']} in {report['steps']} steps ({len(logged)} logged)")
    seconds = [t / r["tokens_per_s"] for t, r in zip(tokens, logged, strict=True)]
    # The logged rates are rounded: scale the per-step seconds to the report's exact total.
    seconds = [s * report["train_seconds"] / sum(seconds) for s in seconds]
    out = step_summary(tokens, seconds)
    out["tokens_per_s"] = report["tokens_per_s"]  # the report's own number (same tokens and seconds)
    return {**out, "padding_fraction": report["padding_fraction"],
            "tokens_per_example": round(sum(tokens) / sum(n for _, _, n in steps), 1),
            "examples_per_step": round(sum(n for _, _, n in steps) / len(steps), 2),
            "first_loss": logged[0]["loss"], "last_loss": logged[-1]["loss"], "wall_seconds": round(wall, 2),
            "report_peak_rss_mb": report["peak_rss_mb"], "threads": torch.get_num_threads(),
            "settings": {"batch_tokens": args.batch_tokens, "max_length": MAX_LENGTH, "packing": True,
                         "retain_memory": retain_memory}}


def trl_settings(variant: str, batch_tokens: int, tokenizer: Any, records: list[dict]) -> dict[str, Any]:
    """SFTConfig fields of a TRL side: about ``batch_tokens`` real tokens per optimizer step."""
    if variant in ("trl-bfd", "trl-wrapped"):  # one packed row of batch_tokens per step
        return {"packing": True, "packing_strategy": variant.removeprefix("trl-"), "max_length": batch_tokens,
                "per_device_train_batch_size": 1}
    if variant == "trl-bfd-accum":  # one packed row of 640 per micro-batch, accumulated to batch_tokens
        return {"packing": True, "packing_strategy": "bfd", "max_length": MAX_LENGTH, "per_device_train_batch_size": 1,
                "gradient_accumulation_steps": max(1, round(batch_tokens / MAX_LENGTH))}
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["prompt"]},
                                            {"role": "assistant", "content": r["completion"]}], tokenize=False)
             for r in records]
    mean = statistics.mean(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])
    return {"packing": False, "max_length": MAX_LENGTH, "train_sampling_strategy": "group_by_length",
            "per_device_train_batch_size": max(1, round(batch_tokens / mean))}


def run_trl(args: argparse.Namespace, work: Path, variant: str) -> dict[str, Any]:
    sys.path.append(args.trl_path)  # last: the venv's torch / transformers / peft win
    from importlib.metadata import version

    import datasets
    import torch
    from datasets.table import InMemoryTable
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from tuneforge.models import resolve

    path = resolve("smollm2-135m")
    records = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines()]
    rows = [{"prompt": [{"role": "user", "content": r["prompt"]}],
             "completion": [{"role": "assistant", "content": r["completion"]}]} for r in records]
    # Dataset.from_list would fingerprint the table by pickling it, which dill 0.4 fails on with pyarrow 26
    # ("Can't pickle <class 'MonthDayNano'>"); a fixed fingerprint skips that (TRL's maps hash only their functions).
    dataset = datasets.Dataset(InMemoryTable.from_pylist(rows), fingerprint="sft-throughput-train")
    tokenizer = AutoTokenizer.from_pretrained(path)
    settings = trl_settings(variant, args.batch_tokens, tokenizer, records)
    config = SFTConfig(
        output_dir=str(work / "trl"), max_steps=args.steps, learning_rate=TRAINING["lr"],
        lr_scheduler_type="linear", warmup_steps=0, weight_decay=TRAINING["weight_decay"],
        max_grad_norm=TRAINING["max_grad_norm"], seed=TRAINING["seed"], completion_only_loss=True,
        bf16=False, gradient_checkpointing=False, use_cpu=True, logging_steps=1, save_strategy="no",
        report_to="none", disable_tqdm=True, dataloader_pin_memory=False, **settings)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    peft_config = LoraConfig(task_type="CAUSAL_LM", r=LORA["r"], lora_alpha=LORA["alpha"],
                             lora_dropout=LORA["dropout"], target_modules=LORA["target_modules"])

    class StepClock(TrainerCallback):
        """Time and TRL's running real-token count at the epoch start and at each step end."""

        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []
            self.trainer: Any = None

        def on_epoch_begin(self, *_args, **_kwargs):
            if not self.marks:
                self.marks.append((time.perf_counter(), self.trainer._total_train_tokens))

        def on_step_end(self, *_args, **_kwargs):
            self.marks.append((time.perf_counter(), self.trainer._total_train_tokens))

    clock = StepClock()
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[clock])
    clock.trainer = trainer
    # Slots and examples per batch (padding fraction, tokens per example); batches are collated in step order.
    collated: list[tuple[int, int, int]] = []
    collator = trainer.data_collator

    def counting_collator(features):
        batch = collator(features)
        if "attention_mask" in batch:
            real, rows = int(batch["attention_mask"].sum()), batch["input_ids"].shape[0]
        else:  # padding-free: one row of whole examples, no padding
            real, rows = batch["input_ids"].numel(), int(batch["cu_seq_lens_q"].numel()) - 1
        collated.append((real, batch["input_ids"].numel(), rows))
        return batch

    trainer.data_collator = counting_collator
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started
    times, counts = zip(*clock.marks, strict=True)
    tokens = [b - a for a, b in zip(counts, counts[1:], strict=False)]
    seconds = [b - a for a, b in zip(times, times[1:], strict=False)]
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    # The batches of the timed steps: as many as it takes to reach TRL's token count (the data loader collates
    # one batch ahead, and with gradient accumulation a step takes several).
    real, steps = 0, []
    for batch in collated:
        if real >= sum(tokens):
            break
        steps.append(batch)
        real += batch[0]
    if real != sum(tokens):
        raise SystemExit(f"{variant}: the collator counted {real} real tokens, TRL {sum(tokens)}")
    examples = sum(n for _, _, n in steps)
    return {**step_summary(tokens, seconds),
            "padding_fraction": round(1 - sum(tokens) / max(sum(s for _, s, _ in steps), 1), 4),
            "tokens_per_example": round(sum(tokens) / examples, 1) if variant != "trl-wrapped" else None,
            "examples_per_step": round(examples / len(tokens), 2) if variant != "trl-wrapped" else None,
            "first_loss": losses[0], "last_loss": losses[-1], "wall_seconds": round(wall, 2),
            "threads": torch.get_num_threads(),
            "attn_implementation": trainer.model.config._attn_implementation,
            "padding_free": trainer.padding_free, "optim": str(config.optim),
            "activation_checkpointing": getattr(config, "activation_checkpointing", config.gradient_checkpointing),
            "settings": settings, "versions": {"trl": version("trl"), "datasets": version("datasets")}}


def side_main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sft-throughput-") as tmp:
        work = Path(tmp)
        if args.side.startswith("tuneforge"):  # tuneforge-trim: glibc returns freed memory (retain_memory off)
            result = run_tuneforge(args, work, retain_memory=args.side == "tuneforge")
        else:
            result = run_trl(args, work, args.side)
    result |= {"side": args.side, "peak_rss_mb": round(peak_rss_mb(), 1)}
    Path(args.result).write_text(json.dumps(result))


# parent ------------------------------------------------------------------------------------------------
def run_side(args: argparse.Namespace, side: str, data: Path, tmp: Path) -> dict[str, Any]:
    result = tmp / f"{side}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--data", str(data),
               "--steps", str(args.steps), "--batch-tokens", str(args.batch_tokens), "--trl-path", args.trl_path,
               "--result", str(result)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "HF_DATASETS_CACHE": str(tmp / "datasets-cache")}
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    if proc.returncode:
        killed = " (killed: out of memory?)" if proc.returncode in (-9, 137) else ""
        sys.exit(f"{side} failed with exit status {proc.returncode}{killed}:\n{proc.stdout[-2000:]}\n"
                 f"{proc.stderr[-4000:]}")
    return json.loads(result.read_text())


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="optimizer steps per side")
    p.add_argument("--examples", type=int, default=512, help="first N SciTLDR-A train records")
    p.add_argument("--batch-tokens", type=int, default=4096, help="about this many real tokens per step")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds; medians are reported")
    p.add_argument("--sides", default="tuneforge,trl-bfd,trl-bfd-accum,trl-padded",
                   help=f"comma-separated, of {', '.join(SIDES)}")
    p.add_argument("--trl-path", default="/tmp/trl", help="folder TRL and datasets are installed in (pip --target)")
    p.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "sft-throughput.json"))
    p.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # internal: run one side
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.side:
        side_main(args)
        return

    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if unknown := set(sides) - set(SIDES):
        p.error(f"--sides: unknown {', '.join(sorted(unknown))}")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    with tempfile.TemporaryDirectory(prefix="sft-throughput-") as tmp:
        data = Path(tmp) / "train.jsonl"
        examples = write_records(data, args.examples)
        for r in range(args.rounds):
            for side in sides:
                print(f"round {r + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                runs[side].append(run_side(args, side, data, Path(tmp)))

    keys = ("tokens_per_s", "tokens_per_s_warm", "seconds", "seconds_warm", "tokens_per_step", "tokens_per_example",
            "padding_fraction", "first_loss", "last_loss", "peak_rss_mb")
    summary = {s: {k: median([run.get(k) for run in rs]) for k in keys} for s, rs in runs.items()}
    peers = [s for s in sides if s in PEERS]
    peer = max(peers, key=lambda s: summary[s]["tokens_per_s_warm"] or summary[s]["tokens_per_s"]) if peers else None
    ratio = {}
    if peer and "tuneforge" in summary:
        for k in ("tokens_per_s", "tokens_per_s_warm"):
            a, b = summary["tuneforge"][k], summary[peer][k]
            ratio[k] = round(a / b, 3) if a and b else None

    import torch

    trl_run = next((rs[0] for s, rs in runs.items() if s.startswith("trl") and rs), {})
    results = {
        "benchmark": "sft-throughput",
        "settings": {"steps": args.steps, "examples": examples, "batch_tokens": args.batch_tokens,
                     "rounds": args.rounds, "sides": sides, "model": "smollm2-135m (SmolLM2-135M-Instruct), fp32, CPU",
                     "lora": LORA, "training": {**TRAINING, "scheduler": "linear", "warmup": 0, "optimizer": "adamw"},
                     "tuneforge_max_length": MAX_LENGTH},
        "environment": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        **package_versions("torch", "transformers", "peft", "accelerate"),
                        **trl_run.get("versions", {})},
        "summary": summary, "peer": peer, "tuneforge_over_peer": ratio, "runs": runs,
    }
    write_results(args.output, results)

    print(f"\n{examples} SciTLDR-A examples, {args.steps} steps of ~{args.batch_tokens} tokens, "
          f"medians of {args.rounds} round(s); peer: {peer}\n")
    print("| side | real tok/step | tok/example | padding | tok/s (all) | tok/s (steps 2..S) | seconds "
          "| loss first → last | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def fmt(v: float | None, spec: str) -> str:
        return "–" if v is None else format(v, spec)

    for s in sides:
        m = summary[s]
        print(f"| {s} | {fmt(m['tokens_per_step'], '.0f')} | {fmt(m['tokens_per_example'], '.1f')} "
              f"| {fmt(m['padding_fraction'], '.1%')} | {fmt(m['tokens_per_s'], '.0f')} "
              f"| {fmt(m['tokens_per_s_warm'], '.0f')} | {fmt(m['seconds'], '.1f')} "
              f"| {fmt(m['first_loss'], '.3f')} → {fmt(m['last_loss'], '.3f')} | {fmt(m['peak_rss_mb'], '.0f')} |")
    if ratio:
        print(f"\ntuneforge / {peer}: {fmt(ratio.get('tokens_per_s'), '.2f')}x (all steps), "
              f"{fmt(ratio.get('tokens_per_s_warm'), '.2f')}x (steps 2..S)")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
