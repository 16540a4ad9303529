"""What a decoding pass of SmolLM2-135M costs on this machine: the prompts' forward pass (prefill) of a batch, and
one pass over a batch with a cached prompt at 1, 2, 4 and 8 new tokens a row (what batched speculation verifies).

    python benchmarks/decode_pass_cost.py [--config examples/generation-scitldr.yaml --prompts 8 --cached 300]

Best of 4 repeats of 5 passes each; prints milliseconds. Used in docs/benchmarks.md (#35, speculative decoding).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from benchmarks.generation_speed import prompts_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(REPO / "examples" / "generation-scitldr.yaml"))
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--cached", type=int, default=300, help="cached tokens a row before the timed passes")
    args = parser.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

    from tuneforge.models import resolve

    path = resolve("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    _, prompts = prompts_of(args.config, args.prompts, 0, tokenizer)
    rows, longest = len(prompts), max(map(len, prompts))
    ids = torch.zeros((rows, longest), dtype=torch.long)
    mask = torch.zeros((rows, longest), dtype=torch.long)
    for r, p in enumerate(prompts):
        ids[r, longest - len(p):], mask[r, longest - len(p):] = torch.tensor(p), 1
    with torch.inference_mode():
        prefill = []
        for _ in range(3):
            started = time.perf_counter()
            model(input_ids=ids, attention_mask=mask, past_key_values=DynamicCache(config=model.config),
                  use_cache=True, logits_to_keep=1)
            prefill.append(time.perf_counter() - started)
        print(f"prefill: {rows} prompts padded to {longest} tokens: {min(prefill) * 1000:.0f} ms")
        cached = torch.randint(100, 20000, (rows, args.cached))
        for width in (1, 2, 4, 8):
            best = float("inf")
            for _ in range(4):
                cache = DynamicCache(config=model.config)
                model(input_ids=cached, past_key_values=cache, use_cache=True, logits_to_keep=1)
                block = torch.randint(100, 20000, (rows, width))
                full = torch.ones((rows, args.cached + width), dtype=torch.long)
                positions = torch.arange(args.cached, args.cached + width)[None].expand(rows, width)
                started = time.perf_counter()
                for _ in range(5):
                    model(input_ids=block, attention_mask=full, position_ids=positions, past_key_values=cache,
                          use_cache=True)
                    cache.crop(-width)
                best = min(best, (time.perf_counter() - started) / 5)
            print(f"pass: {rows} rows × {width} new token(s), {args.cached} cached: {best * 1000:.0f} ms")


if __name__ == "__main__":
    main()
