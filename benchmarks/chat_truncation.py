"""Cutting a long chat to the model's window: time against the number of turns, serving and training.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/chat_truncation.py [--turns 100,1000,2000,5000,10000]

A synthetic chat per size (user and assistant turns alternating, ~12 words each, seeded), SmolLM2's bundled
tokenizer and chat template, ``model.max_length`` 512 and ``task_options.too_long: truncate-left``. Times, best
of ``--rounds``:

- ``prompt``: ``ChatFormat.prompt_ids`` (what serving a chat request does);
- ``training``: ``ChatFormat.training_ids`` with every assistant turn labelled (what encoding a training record
  does).

Before #36 both dropped one turn per full render: quadratic in turns to serve (a 2,000-message request held a
worker for 48 s) and cubic to train. Prints a markdown table; ``--output FILE`` also writes JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from types import SimpleNamespace

WORDS = ["the", "a", "my", "card", "account", "please", "when", "where", "how", "can", "I", "you", "we",
         "order", "table", "flight", "book", "help", "thanks"]


def chat(turns: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": " ".join(rng.choices(WORDS, k=12))}
            for i in range(turns - 1 + turns % 2)]  # ends with the user's turn


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    from transformers import AutoTokenizer

    from tuneforge.models import resolve
    from tuneforge.tasks.generation.chat_format import ChatFormat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", default="100,1000,2000,5000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(resolve("smollm2-135m"))
    options = SimpleNamespace(instruction=None, system=None, chat_template="auto", too_long="truncate-left")
    fmt = ChatFormat(tokenizer, options, max_length=512)
    rows = []
    for n in (int(x) for x in args.turns.split(",")):
        messages = chat(n)
        prompt = best(lambda m=messages: fmt.prompt_ids(m, "bench"), args.rounds)
        training = best(lambda m=messages: fmt.training_ids(m[:-1], m[-1]["content"], True, "bench"), args.rounds)
        rows.append({"turns": len(messages), "prompt_s": round(prompt, 4), "training_s": round(training, 4)})
    print("| turns | prompt (serving), s | training record, s | per 1k turns (prompt), ms |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        per_1k = 1e6 * r["prompt_s"] / r["turns"]
        print(f"| {r['turns']} | {r['prompt_s']:.4f} | {r['training_s']:.4f} | {per_1k:.1f} |")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
