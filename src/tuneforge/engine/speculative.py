"""Speculative greedy decoding: cheap drafts, verified by the target model in one forward pass, the greedy reply
kept token for token.

A drafter proposes the next few tokens; the target reads the last accepted token and the drafts in one pass
(its KV cache grows by all of them), and each position's argmax says what greedy decoding would have chosen
there. The drafts are accepted up to the first that differs; the target's own choice at that point comes free
(as does one more token when every draft was right), and the cache is cut back to what was accepted. So every
token of the reply is the target's greedy choice given the tokens before it; only the number of target passes
changes. (The logits of a many-token pass can differ from a one-token pass in the last bits of fp32; a near-tie
may then break the other way, as in transformers' own assisted decoding.)

Drafters:
- ``PromptLookup``: the continuation of the latest earlier occurrence of the last n tokens (n = 3, 2, 1) in
  the prompt and the reply so far: grounded replies and summaries copy long stretches of their prompt.
- ``DraftModel``: a small causal LM with the target's tokenizer (a layer-dropped copy, say), decoding greedily
  with its own cache, cut back with the target's.

The draft length adapts: one longer after a round where every draft was accepted, one shorter (at least 1)
after a round with a rejection, as transformers' heuristic schedule does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class PromptLookup:
    """Drafts copied from the prompt (and the reply so far): what followed the last n-gram's latest earlier match."""

    def __init__(self, max_ngram: int = 3) -> None:
        self.max_ngram = max_ngram

    def reset(self, prompt: Sequence[int]) -> None:
        pass

    def propose(self, sequence: list[int], k: int) -> list[int]:
        for n in range(min(self.max_ngram, len(sequence) - 1), 0, -1):
            tail = sequence[-n:]
            for start in range(len(sequence) - n - 1, -1, -1):  # the latest match first
                if sequence[start:start + n] == tail:
                    follow = sequence[start + n:start + n + k]
                    if follow:
                        return follow
        return []

    def accepted(self, length: int) -> None:
        pass


class DraftModel:
    """Greedy drafts of a small causal LM that shares the target's tokenizer; its cache follows the accepted
    sequence."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.cache: Any = None
        self.cached = 0  # tokens of the sequence the draft cache holds

    def reset(self, prompt: Sequence[int]) -> None:
        from transformers import DynamicCache

        self.cache = DynamicCache(config=getattr(self.model, "config", None))
        self.cached = 0

    def propose(self, sequence: list[int], k: int) -> list[int]:
        fresh = torch.tensor([sequence[self.cached:]], device=self.device)
        drafts: list[int] = []
        while len(drafts) < k:
            logits = self.model(input_ids=fresh, past_key_values=self.cache, use_cache=True,
                                logits_to_keep=1).logits[:, -1]
            self.cached += fresh.shape[1]
            token = int(logits.argmax(-1))
            drafts.append(token)
            fresh = torch.tensor([[token]], device=self.device)
        return drafts

    def accepted(self, length: int) -> None:
        """The sequence's first ``length`` tokens stand; the cache forgets any draft after them."""
        if self.cached > length:
            cut(self.cache, length)
            self.cached = length


def cut(cache: Any, length: int) -> None:
    """Keep the cache's first ``length`` positions (transformers 5 crops by the number of positions removed)."""
    remove = cache.get_seq_length() - length
    if remove > 0:
        cache.crop(-remove)


_DRAFTS: dict[str, Any] = {}  # loaded draft models by name: one load per process


def load_draft(name: str, target: Any) -> Any:
    """The draft model ``name`` (registry name, folder, or a run directory whose model/ is one plain causal LM),
    checked to share the target's vocabulary."""
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    from tuneforge.errors import ConfigError
    from tuneforge.models import load_pretrained

    if name not in _DRAFTS:
        folder = Path(name) / "model" if (Path(name) / "run.json").is_file() else None
        if folder is not None and not (folder / "config.json").is_file():
            raise ConfigError(f"decoding.draft_model {name}: the run's model is an adapter; export it merged "
                              "(tuneforge export --format merged) and name that folder")
        draft = load_pretrained(str(folder) if folder else name, AutoModelForCausalLM).eval()
        _DRAFTS[name] = draft
    draft = _DRAFTS[name]
    sizes = draft.get_input_embeddings().num_embeddings, target.get_input_embeddings().num_embeddings
    if sizes[0] != sizes[1]:
        raise ConfigError(f"decoding.draft_model {name}: its vocabulary has {sizes[0]} ids and the run's "
                          f"{sizes[1]}; a draft model needs the run's tokenizer")
    return draft


def make_drafter(kind: str, draft_model: Any = None) -> PromptLookup | DraftModel:
    if kind == "prompt_lookup":
        return PromptLookup()
    return DraftModel(draft_model)


@torch.inference_mode()
def speculative_greedy(model: Any, prompt: Sequence[int], max_new_tokens: int, eos: Sequence[int],
                       drafter: PromptLookup | DraftModel, max_draft: int = 8, stats: dict[str, int] | None = None,
                       on_tokens: Any = None) -> list[int]:
    """The greedy reply to ``prompt`` (ids; end token and what follows cut off), drafted by ``drafter``.

    ``stats`` (when given) gets the target passes, drafted and accepted tokens added to it; ``on_tokens(list)``
    is called with the reply's new tokens as they are accepted (streaming) and may return True to stop.
    """
    from transformers import DynamicCache

    device = next(model.parameters()).device
    cache = DynamicCache(config=getattr(model, "config", None))
    sequence = list(prompt)
    drafter.reset(prompt)
    logits = model(input_ids=torch.tensor([sequence], device=device), past_key_values=cache, use_cache=True,
                   logits_to_keep=1).logits[:, -1]
    passes, drafted, accepted_total = 1, 0, 0
    reply: list[int] = []
    ends = set(eos)
    nxt = int(logits.argmax(-1))
    k = max(1, min(4, max_draft))
    while True:
        if nxt in ends or len(reply) >= max_new_tokens:
            break
        reply.append(nxt)
        sequence.append(nxt)
        if on_tokens is not None and on_tokens([nxt]):
            break
        if len(reply) >= max_new_tokens:
            break
        room = max_new_tokens - len(reply)
        drafts = drafter.propose(sequence, min(k, room))[: min(k, room)]
        cached = len(sequence) - 1  # the target's cache holds all but the last accepted token
        block = torch.tensor([[sequence[-1], *drafts]], device=device)
        out = model(input_ids=block, past_key_values=cache, use_cache=True).logits[0]
        passes += 1
        chosen = out.argmax(-1).tolist()  # chosen[i]: greedy's token after block[:i + 1]
        n_ok = 0
        while n_ok < len(drafts) and drafts[n_ok] == chosen[n_ok]:
            n_ok += 1
        drafted += len(drafts)
        accepted_total += n_ok
        stop = False
        for token in drafts[:n_ok]:
            if token in ends or len(reply) >= max_new_tokens:
                stop = True
                break
            reply.append(token)
            sequence.append(token)
            if on_tokens is not None and on_tokens([token]):
                stop = True
                break
        if stop:
            break
        cut(cache, cached + 1 + n_ok)  # the last token and the accepted drafts stay; the rejected go
        drafter.accepted(len(sequence))
        nxt = chosen[n_ok]
        if drafts:
            k = min(max_draft, k + 1) if n_ok == len(drafts) else max(1, k - 1)
    if stats is not None:
        stats["passes"] = stats.get("passes", 0) + passes
        stats["drafted"] = stats.get("drafted", 0) + drafted
        stats["accepted"] = stats.get("accepted", 0) + accepted_total
    return reply
