"""Training throughput: tuneforge vs Hugging Face Trainer on the same model, data, batch size and epochs.

Real (non-pad) tokens per second of training steps, samples/s, peak memory and dev F1 for:
HF Trainer with default dynamic padding, HF Trainer with length grouping (also with malloc keeping freed
memory, as tuneforge does), and tuneforge (length-grouped batches; also without ``retain_memory``, and
with torch's dropout instead of ``fast_dropout``, and without ``embedding_row_grad``; optionally a
token budget). Each runs in its own
process, one after another. Also measures the machine's fp32 matmul peak and reports each run's useful
work as a fraction of it.

    .venv/bin/python benchmarks/train_throughput.py --epochs 1 --batch-size 32
    .venv/bin/python benchmarks/train_throughput.py --batch-tokens 0 --repeats 3 --no-ablations

Writes benchmarks/results/train_throughput.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, WNUT, run_timed


def matmul_peak_gflops(size: int = 2048, repeats: int = 10, trials: int = 5) -> float:
    """The best of ``trials`` timings of ``repeats`` fp32 matmuls: a slow moment of a shared machine
    must not pass for its peak (one 20-matmul timing once read 75 GFLOP/s on a 110 GFLOP/s machine)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = 0.0
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def flops_per_trained_token(model_dir: str, seq_len: float) -> float:
    """6 x non-embedding parameters (forward + backward) + attention scores and mixing."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_dir)
    per_layer = 4 * c.hidden_size**2 + 2 * c.hidden_size * c.intermediate_size
    attention = 2 * 2 * seq_len * c.hidden_size  # QK^T and AV, per token per layer, forward
    return c.num_hidden_layers * (6 * per_layer + 3 * attention) + 6 * c.hidden_size * 13




# The HF script run with glibc's malloc told to keep freed memory, as tuneforge's training.retain_memory does:
# the peer gets the same allocator setting, so the comparison isolates everything else.
_RETAINED_MALLOC = """
import os, runpy, sys
from tuneforge.engine.speed.allocator import retain_freed_memory
assert retain_freed_memory()
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["tokens_per_s"])[len(runs) // 2]


def hf(args, work: Path, name: str, extra: list[str], retain_memory: bool = False) -> dict:
    out = work / f"{name}.json"
    launcher = [sys.executable, "-c", _RETAINED_MALLOC] if retain_memory else [sys.executable]
    run_timed([*launcher, "benchmarks/hf_trainer_ner.py", "--train", str(WNUT / "wnut17train.conll"),
         "--dev", str(WNUT / "emerging.dev.conll"), "--test", str(WNUT / "emerging.dev.conll"),
         "--epochs", str(args.epochs), "--lr", str(args.lr), "--batch-size", str(args.batch_size),
         "--seed", str(args.seed), "--output", str(out), *extra])
    r = json.loads(out.read_text())
    return {"tokens_per_s": r["train_tokens_per_second"], "samples_per_s": r["train_samples_per_second"],
            "train_seconds": r["train_seconds"], "padding_fraction": r.get("train_padding_fraction"),
            "peak_rss_mib": r["peak_rss_mib"], "dev_f1": r["dev"]["strict_iob2_f1"]}


def tuneforge(args, work: Path, name: str, extra: list[str]) -> dict:
    sets = [f"training.epochs={args.epochs}", f"training.lr={args.lr}", f"training.batch_size={args.batch_size}",
            f"training.seed={args.seed}", "training.warmup_ratio=0", "training.weight_decay=0",
            "data.test=null", f"output_dir={work}", f"name={name}", "training.eval_every=100000", *extra]
    command = [sys.executable, "-c", _TF_CHILD, "examples/ner-wnut17.yaml", *sets]
    run_timed(command)
    report = json.loads((work / name / "report.json").read_text())
    t = report["training"]
    child = json.loads((work / name / "peak.json").read_text())
    sentences = 3394 * args.epochs
    return {"tokens_per_s": t["tokens_per_s"], "samples_per_s": round(sentences / t["train_seconds"], 2),
            "train_seconds": t["train_seconds"], "padding_fraction": t["padding_fraction"],
            "peak_rss_mib": child["peak_rss_mib"], "dev_f1": report["dev"]["f1"]}


# Runs tuneforge.train in a child and records that child's peak RSS next to its report.
_TF_CHILD = """
import json, resource, sys
import tuneforge
run_dir = tuneforge.train(sys.argv[1], sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
(run_dir / "peak.json").write_text(json.dumps({"peak_rss_mib": round(peak, 1)}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch-tokens", type=int, default=2048, help="token budget for an extra tuneforge row (0: none)")
    p.add_argument("--repeats", type=int, default=1, help="alternate the three headline rows this many times")
    p.add_argument("--no-ablations", action="store_true", help="skip the one-option-off rows")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    peak = matmul_peak_gflops()
    # The three headline rows, alternated --repeats times so slow phases of a shared machine hit all
    # of them; each reports its median run (the per-run numbers are kept in the JSON).
    main_rows = {
        "HF Trainer, dynamic padding": lambda k: hf(args, work, f"hf_dynamic{k}", []),
        "HF Trainer, group_by_length": lambda k: hf(args, work, f"hf_grouped{k}", ["--group-by-length"]),
        "tuneforge (length-grouped)": lambda k: tuneforge(args, work, f"tf{k}", []),
    }
    runs: dict[str, list[dict]] = {name: [] for name in main_rows}
    for k in range(args.repeats):
        for name, run in main_rows.items():
            runs[name].append(run(k))
    rows = {name: median_run(r) for name, r in runs.items()}
    if not args.no_ablations:
        rows |= {
            "HF Trainer, group_by_length, malloc keeps freed memory": hf(
                args, work, "hf_grouped_retain", ["--group-by-length"], retain_memory=True),
            "tuneforge (length-grouped, retain_memory=false)": tuneforge(
                args, work, "tf_no_retain", ["training.retain_memory=false"]),
            "tuneforge (length-grouped, fast_dropout=false)": tuneforge(
                args, work, "tf_torch_dropout", ["training.fast_dropout=false"]),
            "tuneforge (length-grouped, embedding_row_grad=false)": tuneforge(
                args, work, "tf_dense_embedding_grad", ["training.embedding_row_grad=false"]),
        }
    if args.batch_tokens:
        rows[f"tuneforge (batch_tokens={args.batch_tokens})"] = tuneforge(
            args, work, "tf_tokens", [f"training.batch_tokens={args.batch_tokens}"])
    peak = max(peak, matmul_peak_gflops())  # measured again at the end: the better of the two
    from tuneforge.models import resolve

    flops = flops_per_trained_token(resolve("minilm"), seq_len=31.3)
    for r in rows.values():
        r["useful_gflops"] = round(r["tokens_per_s"] * flops / 1e9, 1)
        r["fraction_of_matmul_peak"] = round(r["useful_gflops"] / peak, 3)
    result = {"args": vars(args), "matmul_peak_gflops": round(peak, 1),
              "mflop_per_trained_token": round(flops / 1e6, 1), "rows": rows,
              "runs_tokens_per_s": {name: [round(r["tokens_per_s"], 1) for r in rs] for name, rs in runs.items()},
              "peak_rss_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    out = REPO / "benchmarks" / "results" / "train_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    base = rows["HF Trainer, dynamic padding"]["tokens_per_s"]
    grouped = rows["HF Trainer, group_by_length"]["tokens_per_s"]
    print(f"fp32 matmul peak {peak:.1f} GFLOP/s; {flops / 1e6:.1f} MFLOP per trained token\n")
    print("| run | real tok/s | vs HF dynamic | vs HF grouped | samples/s | padding | peak RSS MiB | "
          "useful GFLOP/s (of peak) | dev F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        pad = r["padding_fraction"]
        print(f"| {name} | {r['tokens_per_s']:.0f} | {r['tokens_per_s'] / base:.2f}x | "
              f"{r['tokens_per_s'] / grouped:.2f}x | {r['samples_per_s']:.1f} | "
              f"{'' if pad is None else f'{pad:.1%}'} | {r['peak_rss_mib']:.0f} | "
              f"{r['useful_gflops']} ({r['fraction_of_matmul_peak']:.0%}) | {r['dev_f1']:.4f} |")
    if args.repeats > 1:
        dyn_runs, grp_runs, tf_runs = (result["runs_tokens_per_s"][n] for n in main_rows)
        per_round = [(f"{t / d:.2f}x", f"{t / g:.2f}x") for d, g, t in zip(dyn_runs, grp_runs, tf_runs, strict=True)]
        print(f"\nper round, tuneforge vs (HF dynamic, HF grouped): {per_round}")


if __name__ == "__main__":
    main()
