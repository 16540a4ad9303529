"""Speculative greedy decoding of a batch: every row drafts its own tokens and the target verifies all rows'
drafts in one forward pass, so speculation adds to batching instead of replacing it.

Rows accept different numbers of drafts, so their caches would fall out of step. Instead every row's cache
grows by the same block each pass and the positions a row rejected (or padded, when its drafts were fewer)
are masked out of the attention mask for good; each token gets its true position (``position_ids``), so
the holes change nothing but the columns' count. Columns that no row still uses are dropped, as rows that
finish leave the batch at once (``generate.greedy_batch`` does the same), and when rows carry many holes each
row's kept columns are packed together again (``compact``). Each row keeps its own draft length,
adapted as in ``speculative.speculative_greedy``; the block is as wide as the longest row's drafts.

A batched pass costs more the wider it is (2 CPU cores, SmolLM2-135M, 8 rows with 300 cached tokens: 70 ms for 1
token a row, 96 for 2, 118 for 4, 164 for 8; benchmarks/decode_pass_cost.py), so batched speculation pays only
where most rows' drafts are accepted (grounded replies copying their rows), not where a few are
(docs/benchmarks.md). Letting a row that missed sit out a few passes showed no gain in an A/B run, so every row
drafts every pass.

Every token of a reply is still the target's greedy choice after the tokens before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from tuneforge.engine.cache_columns import drop_unused_columns
from tuneforge.engine.speculative import DraftModel, PromptLookup
from tuneforge.engine.stop_signal import check_stop

COMPACT_AFTER = 64  # holes every row may carry (and a share of the columns) before the cache is packed again
COMPACT_SHARE = 0.25


def compact(cache: Any, mask: torch.Tensor) -> torch.Tensor:
    """Pack each row's kept cache columns to the right, in order, and return the new mask. Positions are given
    explicitly at every pass, so moving a column changes nothing but the holes' count (long replies with many
    rejected drafts would otherwise make every pass attend over ever more masked columns)."""
    kept = mask.sum(1)
    width = int(kept.max())
    # Sorting each row's columns by (kept, column) puts its kept columns last, in their order.
    order = torch.argsort(mask * mask.shape[1] + torch.arange(mask.shape[1], device=mask.device), dim=1)
    index = order[:, -width:]
    for layer in cache.layers:
        gather = index[:, None, :, None].expand(-1, layer.keys.shape[1], -1, layer.keys.shape[-1])
        layer.keys, layer.values = layer.keys.gather(2, gather), layer.values.gather(2, gather)
    return mask.gather(1, index)


@torch.inference_mode()
def speculative_greedy_batch(model: Any, prompts: Sequence[list[int]], pad: int, max_new_tokens: int,
                             eos: Sequence[int], drafter: Callable[[], PromptLookup | DraftModel],
                             max_draft: int = 8, stop: Callable[[list[int]], bool] | None = None,
                             stats: dict[str, int] | None = None) -> list[list[int]]:
    """The greedy replies of ``prompts`` (end token and what follows cut off). ``drafter()`` makes one row's
    drafter; ``stop(reply)`` says whether a reply has reached a stop string; ``stats`` gets the target passes,
    drafted and accepted tokens added to it."""
    from transformers import DynamicCache

    rows = len(prompts)
    device = next(model.parameters()).device
    longest = max(len(p) for p in prompts)
    ids = torch.full((rows, longest), pad, dtype=torch.long)
    mask = torch.zeros((rows, longest), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, longest - len(p):] = torch.as_tensor(p)
        mask[row, longest - len(p):] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=getattr(model, "config", None))
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1]
    upcoming = logits.argmax(-1).tolist()  # each row's next greedy token, not yet in its reply
    next_position = positions[:, -1] + 1  # the position of that token
    sequences = [list(p) for p in prompts]
    drafters = [drafter() for _ in range(rows)]
    for d, p in zip(drafters, prompts, strict=True):
        d.reset(p)
    draft_length = [max(1, min(4, max_draft))] * rows
    replies: list[list[int]] = [[] for _ in range(rows)]
    alive = list(range(rows))  # prompt index of each cache row
    ends = set(eos)
    passes, drafted, accepted = 1, 0, 0

    def take(r: int, token: int) -> bool:
        """Add a greedy token to row r's reply; True when the reply is over."""
        if token in ends or len(replies[r]) >= max_new_tokens:
            return True
        replies[r].append(token)
        sequences[r].append(token)
        return len(replies[r]) >= max_new_tokens or (stop is not None and stop(replies[r]))

    done = [take(r, upcoming[r]) for r in range(rows)]
    while True:
        check_stop()  # between passes: a request that timed out or lost its client stops here
        keep = [i for i, r in enumerate(alive) if not done[r]]
        if not keep:
            break
        if len(keep) < len(alive):
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, next_position = mask[index], next_position[index]
            alive = [alive[i] for i in keep]
        mask = drop_unused_columns(cache, mask)
        if mask.shape[1] - int(mask.sum(1).max()) > max(COMPACT_AFTER, COMPACT_SHARE * mask.shape[1]):
            mask = compact(cache, mask)
        drafts = []
        for r in alive:
            room = max_new_tokens - len(replies[r])
            drafts.append(drafters[r].propose(sequences[r], min(draft_length[r], room))[: min(draft_length[r], room)])
        width = 1 + max(map(len, drafts))
        block = torch.full((len(alive), width), pad, dtype=torch.long)
        block_mask = torch.zeros((len(alive), width), dtype=torch.long)
        for i, (r, d) in enumerate(zip(alive, drafts, strict=True)):
            block[i, : 1 + len(d)] = torch.tensor([sequences[r][-1], *d])
            block_mask[i, : 1 + len(d)] = 1
        block, block_mask = block.to(device), block_mask.to(device)
        mask = torch.cat([mask, block_mask], dim=1)
        block_positions = next_position[:, None] + torch.arange(width, device=device)
        out = model(input_ids=block, attention_mask=mask, position_ids=block_positions, past_key_values=cache,
                    use_cache=True).logits
        passes += 1
        chosen = out.argmax(-1).tolist()  # chosen[i][j]: greedy's token after block[i, :j + 1]
        for i, (r, d) in enumerate(zip(alive, drafts, strict=True)):
            n_ok = 0
            while n_ok < len(d) and d[n_ok] == chosen[i][n_ok]:
                n_ok += 1
            drafted += len(d)
            accepted += n_ok
            for token in d[:n_ok]:
                if take(r, token):
                    done[r] = True
                    break
            mask[i, mask.shape[1] - width + 1 + n_ok:] = 0  # the rejected drafts (and padding) are forgotten
            next_position[i] += 1 + n_ok
            if done[r]:
                continue
            drafters[r].accepted(len(sequences[r]))  # the reply so far stands; a draft cache forgets the rest
            if d:
                draft_length[r] = min(max_draft, draft_length[r] + 1) if n_ok == len(d) else max(1, draft_length[r] - 1)
            done[r] = take(r, chosen[i][n_ok])
    if stats is not None:
        stats["passes"] = stats.get("passes", 0) + passes
        stats["drafted"] = stats.get("drafted", 0) + drafted
        stats["accepted"] = stats.get("accepted", 0) + accepted
    return replies
