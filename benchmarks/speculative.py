"""Speculative greedy decoding: tuneforge's prompt lookup (and optionally a layer-dropped draft model) vs its plain
greedy loop, the HF ``text-generation`` pipeline at each batch size, and transformers' own
``prompt_lookup_num_tokens`` (batch 1).

Same model (the bundled SmolLM2-135M-Instruct, fp32, CPU), same prompts (a seeded sample of a generation config's
test split, rendered by the chat template as training sees them), same maximum of new tokens, greedy everywhere.
Speculation runs batched (every row's drafts verified in one pass) and one prompt at a time. Every side is
timed in each round, interleaved; medians reported. The
speculative replies are compared with plain greedy token for token.

    nice -n 5 python benchmarks/speculative.py --config examples/generation-scitldr.yaml --prompts 8
    nice -n 5 python benchmarks/speculative.py --config examples/generation-sgd.yaml --prompts 8

Writes benchmarks/results/speculative-<config name>.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from benchmarks.common import package_versions, write_results  # noqa: E402
from benchmarks.generation_speed import prompts_of  # noqa: E402


def grounded_prompts(count: int, seed: int, tokenizer) -> list[list[int]]:
    """A seeded sample of grounded_replies.py's 200 SGD dev turns, its grounded prompt in the chat template."""
    import random

    from benchmarks.grounded_replies import SGD, cases, prompt, read

    dev = cases(read(SGD / "dev.jsonl"), 200)
    chosen = sorted(random.Random(seed).sample(range(len(dev)), min(count, len(dev))))
    return [tokenizer.apply_chat_template([{"role": "user", "content": prompt(dev[i], True)}], tokenize=True,
                                          add_generation_prompt=True, return_dict=False) for i in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "examples" / "generation-scitldr.yaml"))
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-sizes", default="1,4,8")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--draft-layers", type=int, default=0,
                        help="also a draft model: SmolLM2 with this many of its layers kept (no training)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grounded", action="store_true", help="prompts: SGD dev turns with the dialogue state and "
                        "the service's rows (benchmarks/grounded_replies.py's grounded mode); --config gives decoding")
    parser.add_argument("--model", help="a causal LM folder (a fine-tuned run exported merged); default: the "
                        "bundled SmolLM2-135M-Instruct")
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    from tuneforge.engine.generate import end_ids, generate_ids
    from tuneforge.models import resolve

    path = args.model or resolve("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    cfg, prompts = prompts_of(args.config, args.prompts, args.seed, tokenizer)
    if args.grounded:  # SGD dev replies whose prompt holds the state and the service's rows (grounded_replies.py)
        prompts = grounded_prompts(args.prompts, args.seed, tokenizer)
    greedy = cfg.inference.decoding.model_copy(update={"max_new_tokens": args.max_new_tokens, "strategy": "greedy",
                                                       "stop": [], "repetition_penalty": 1.0})
    lookup = greedy.model_copy(update={"speculation": "prompt_lookup"})
    batching = cfg.eval_batching()
    texts = [tokenizer.decode(p) for p in prompts]
    eos = end_ids(tokenizer, model)
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, device="cpu")
    sides = {
        "tuneforge greedy (batched)": lambda: generate_ids(model, tokenizer, prompts, greedy, **batching),
        "tuneforge prompt lookup (batched)": lambda: generate_ids(model, tokenizer, prompts, lookup, **batching),
        "tuneforge prompt lookup (batch 1)": lambda: [generate_ids(model, tokenizer, [p], lookup)[0] for p in prompts],
    }
    if args.draft_layers:
        import tempfile

        from tuneforge.methods.layers import evenly_spaced, keep_layers

        folder = Path(tempfile.mkdtemp())
        draft = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        keep_layers(draft, evenly_spaced(draft.config.num_hidden_layers, args.draft_layers))
        draft.save_pretrained(folder)
        drafted = greedy.model_copy(update={"speculation": "draft_model", "draft_model": str(folder)})
        sides[f"tuneforge draft model, {args.draft_layers} layers (batched)"] = (
            lambda: generate_ids(model, tokenizer, prompts, drafted, **batching))

    def hf_lookup():
        out = []
        for p in prompts:
            ids = torch.tensor([p])
            new = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
                                 do_sample=False, prompt_lookup_num_tokens=10, eos_token_id=eos,
                                 pad_token_id=tokenizer.pad_token_id)[0, len(p):].tolist()
            out.append(next((new[:i] for i, t in enumerate(new) if t in eos), new))
        return out

    sides["transformers prompt_lookup_num_tokens=10 (batch 1)"] = hf_lookup
    for b in (int(x) for x in args.batch_sizes.split(",")):
        sides[f"pipeline bs={b}"] = (lambda b=b: [o[0]["generated_text"] for o in pipe(
            texts, max_new_tokens=args.max_new_tokens, do_sample=False, return_full_text=False, batch_size=b,
            eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)])

    def count(out) -> int:  # new tokens, counted the same way for every side: the reply text re-tokenized
        replies = out if isinstance(out[0], str) else tokenizer.batch_decode(out, skip_special_tokens=True)
        return sum(len(tokenizer(r.strip(), add_special_tokens=False)["input_ids"]) for r in replies)

    timings: dict[str, list[float]] = {name: [] for name in sides}
    outputs: dict[str, list] = {}
    with torch.inference_mode():
        generate_ids(model, tokenizer, prompts[:1], greedy)  # warm-up
        for r in range(args.rounds):
            for name, side in sides.items():
                started = time.perf_counter()
                outputs[name] = side()
                timings[name].append(time.perf_counter() - started)
                print(f"round {r + 1}: {name} {timings[name][-1]:.1f}s", file=sys.stderr, flush=True)
    plain = outputs["tuneforge greedy (batched)"]
    rows = {}
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        out = outputs[name]
        same = (sum(a == b for a, b in zip(out, plain, strict=True)) if not isinstance(out[0], str) else
                sum(a.strip() == b.strip() for a, b in
                    zip(out, tokenizer.batch_decode(plain, skip_special_tokens=True), strict=True)))
        rows[name] = {"seconds": [round(s, 2) for s in seconds], "median_seconds": round(median, 2),
                      "new_tokens": count(out), "new_tokens_per_s": round(count(out) / median, 2),
                      "same_as_greedy": same}
    best = max((n for n in rows if n.startswith("pipeline")), key=lambda n: rows[n]["new_tokens_per_s"])
    for row in rows.values():
        row["x_best_pipeline"] = round(row["new_tokens_per_s"] / rows[best]["new_tokens_per_s"], 2)
    name = "sgd-grounded" if args.grounded else Path(args.config).stem
    results = {"command": " ".join(sys.argv), "config": args.config, "prompts": len(prompts),
               "mean_prompt_tokens": round(sum(map(len, prompts)) / len(prompts), 1),
               "max_new_tokens": args.max_new_tokens, "rows": rows, "best_pipeline": best,
               "note": "2 shared cores; other agents' jobs ran at the same time",
               "versions": package_versions("torch", "transformers", "tuneforge")}
    write_results(REPO / "benchmarks" / "results" / f"speculative-{name}.json", results)
    print(f"{len(prompts)} prompts of {name} (mean {results['mean_prompt_tokens']} tokens), "
          f"{args.max_new_tokens} new tokens at most, greedy\n")
    print("| side | median s | new tokens/s | × best pipeline | same as greedy |\n|---|---:|---:|---:|---:|")
    for side, row in rows.items():
        print(f"| {side} | {row['median_seconds']} | {row['new_tokens_per_s']} | {row['x_best_pipeline']} | "
              f"{row['same_as_greedy']}/{len(prompts)} |")


if __name__ == "__main__":
    main()
