"""Batched greedy decoding: tuneforge's ``generate_ids`` vs HF ``pipeline("text-generation")``.

Same model (the bundled SmolLM2-135M-Instruct, fp32, CPU), same prompts, same maximum of new tokens,
greedy on both sides. The prompts are real: a seeded sample of a generation config's test split (by
default the SGD customer-service replies: the conversation so far, with the config's system message),
rendered by the model's chat template exactly as training saw them; the pipeline gets the rendered
text (``return_full_text=False``). The pipeline runs at each batch size of ``--batch-sizes`` and its
best one is its number; tuneforge runs with the config's evaluation batching (length-sorted batches
under ``inference.batch_tokens``; finished rows leave the batch). Rounds are interleaved (tuneforge,
then the pipeline at every batch size, ``--rounds`` times) and medians reported. New tokens are
counted the same way on both sides: the reply text re-tokenized. Also: reply agreement (same text),
and batch-1 latency of tuneforge (time to first token and milliseconds per further token, from a
streamer's timestamps).

    .venv/bin/python benchmarks/generation_speed.py --config examples/generation-sgd.yaml --prompts 64

Writes benchmarks/results/generation-speed.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from benchmarks.common import package_versions, write_results  # noqa: E402


def prompts_of(config: str, count: int, seed: int, tokenizer):
    from tuneforge.config.loading import load_config
    from tuneforge.tasks import task_class
    from tuneforge.tasks.generation.chat_format import ChatFormat

    cfg = load_config(config)
    splits = task_class(cfg.task).load_splits(cfg)
    examples = (splits.get("test") or splits.get("dev") or splits["train"]).examples
    chosen = sorted(random.Random(seed).sample(range(len(examples)), min(count, len(examples))))
    fmt = ChatFormat(tokenizer, cfg.task_options, cfg.model.max_length)
    ids = [fmt.prompt_ids(examples[i].messages, examples[i].source)[0] for i in chosen]
    return cfg, ids


class Clock:
    """A streamer that notes when each new token arrives."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.prompt_seen = False

    def put(self, value) -> None:
        if self.prompt_seen:
            self.times.append(time.perf_counter())
        self.prompt_seen = True

    def end(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "examples" / "generation-sgd.yaml"))
    parser.add_argument("--run", help="a finished generation run: decode with its model (LoRA merged) instead of "
                        "the untrained one; its config gives the prompts unless --config is given too")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-sizes", default="1,4,8,16,32")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-prompts", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "generation-speed.json"))
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    from tuneforge.engine.generate import end_ids, generate_ids
    from tuneforge.models import resolve

    if args.run:  # a fine-tuned model: replies of the trained length, which end at different steps
        from tuneforge.runs.directory import load_run

        run = load_run(args.run)
        tokenizer, model = run.tokenizer, run.model
        if "--config" not in sys.argv:
            args.config = str(Path(args.run) / "config.yaml")
    else:
        path = resolve("smollm2-135m")
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    cfg, prompts = prompts_of(args.config, args.prompts, args.seed, tokenizer)
    decoding = cfg.inference.decoding.model_copy(update={"max_new_tokens": args.max_new_tokens, "strategy": "greedy",
                                                         "stop": [], "repetition_penalty": 1.0})
    batching = cfg.eval_batching()
    texts = [tokenizer.decode(p) for p in prompts]
    eos = end_ids(tokenizer, model)
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, device="cpu")

    def count(replies: list[str]) -> int:
        return sum(len(tokenizer(r, add_special_tokens=False)["input_ids"]) for r in replies)

    def ours() -> tuple[float, list[str]]:
        started = time.perf_counter()
        new = generate_ids(model, tokenizer, prompts, decoding, **batching)
        seconds = time.perf_counter() - started
        return seconds, [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]

    def theirs(batch_size: int) -> tuple[float, list[str]]:
        started = time.perf_counter()
        out = pipe(texts, max_new_tokens=args.max_new_tokens, do_sample=False, return_full_text=False,
                   batch_size=batch_size, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
        seconds = time.perf_counter() - started
        return seconds, [o[0]["generated_text"].strip() for o in out]

    sizes = [int(b) for b in args.batch_sizes.split(",")]
    timings: dict[str, list[float]] = {"tuneforge": [], **{f"pipeline bs={b}": [] for b in sizes}}
    tokens: dict[str, int] = {}
    replies: dict[str, list[str]] = {}
    with torch.inference_mode():
        ours()  # warm-up: first-call allocations and thread start-up count for neither side
        for r in range(args.rounds):
            seconds, out = ours()
            timings["tuneforge"].append(seconds)
            tokens["tuneforge"], replies["tuneforge"] = count(out), out
            print(f"round {r + 1}: tuneforge {seconds:.1f}s", file=sys.stderr, flush=True)
            for b in sizes:
                seconds, out = theirs(b)
                timings[f"pipeline bs={b}"].append(seconds)
                tokens[f"pipeline bs={b}"], replies[f"pipeline bs={b}"] = count(out), out
                print(f"round {r + 1}: pipeline bs={b} {seconds:.1f}s", file=sys.stderr, flush=True)
        latency = []
        for p in prompts[: args.latency_prompts]:
            clock = Clock()
            started = time.perf_counter()
            generate_ids(model, tokenizer, [p], decoding, batch_size=1, streamer=clock)
            if len(clock.times) > 1:
                latency.append({"first_token_ms": (clock.times[0] - started) * 1000,
                                "ms_per_token": (clock.times[-1] - clock.times[0]) * 1000 / (len(clock.times) - 1),
                                "prompt_tokens": len(p)})

    rows = {}
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        rows[name] = {"seconds": [round(s, 2) for s in seconds], "median_seconds": round(median, 2),
                      "new_tokens": tokens[name], "new_tokens_per_s": round(tokens[name] / median, 2),
                      "same_replies_as_tuneforge": sum(a == b for a, b in zip(replies[name], replies["tuneforge"],
                                                                               strict=True))}
    best = max((n for n in rows if n != "tuneforge"), key=lambda n: rows[n]["new_tokens_per_s"])
    results = {
        "command": " ".join(sys.argv), "config": args.config, "run": args.run, "prompts": len(prompts),
        "mean_prompt_tokens": round(sum(map(len, prompts)) / len(prompts), 1), "max_new_tokens": args.max_new_tokens,
        "tuneforge_batching": batching, "threads": torch.get_num_threads(), "rows": rows, "best_pipeline": best,
        "ratio_vs_best_pipeline": round(rows["tuneforge"]["new_tokens_per_s"] / rows[best]["new_tokens_per_s"], 3),
        "batch1_latency": {
            "first_token_ms": round(statistics.median(x["first_token_ms"] for x in latency), 1) if latency else None,
            "ms_per_token": round(statistics.median(x["ms_per_token"] for x in latency), 1) if latency else None,
            "prompts": latency},
        "versions": package_versions("torch", "transformers", "tuneforge"),
    }
    write_results(args.output, results)
    print(f"{len(prompts)} prompts (mean {results['mean_prompt_tokens']} tokens), {args.max_new_tokens} new tokens "
          f"at most, greedy\n")
    print("| side | median s | new tokens | new tokens/s | same replies |\n|---|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['median_seconds']} | {row['new_tokens']} | {row['new_tokens_per_s']} | "
              f"{row['same_replies_as_tuneforge']}/{len(prompts)} |")
    latency = results["batch1_latency"]
    print(f"\ntuneforge / best pipeline ({best}): {results['ratio_vs_best_pipeline']}x; batch 1: first token "
          f"{latency['first_token_ms']} ms, then {latency['ms_per_token']} ms/token")


if __name__ == "__main__":
    main()
