"""Batched generation with the KV cache: greedy, beam search or sampling, stop strings, streaming.

Prompts are sorted by length and batched under a token budget, so a batch pads little; each batch is
left-padded (the new tokens of every row start at the same column). Greedy decoding runs its own loop
(``greedy_batch``): a row that has finished leaves the batch and its cache at once, and cache columns
that only padding still uses are dropped, where ``model.generate`` keeps computing every row until the
last one ends. Beam search and sampling go to ``model.generate``, and so does greedy decoding of a model
whose cache is not plain ``DynamicLayer``s (a sliding window keeps only its last positions, a hybrid or
recurrent model keeps states, a configured static or quantized cache lays keys out its own way): the own
loop cuts rows and columns out of every layer's keys and values, which only a plain layer holds whole.
A reply ends at the end-of-sequence token or at the first stop string, which is not part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from tuneforge.data.batching import eval_batches
from tuneforge.engine.cache_columns import drop_unused_columns
from tuneforge.engine.progress import bar
from tuneforge.engine.stop_signal import check_stop, stopping_criteria


def generation_config(decoding: Any, tokenizer, eos_ids: list[int]):
    from transformers import GenerationConfig

    kwargs: dict[str, Any] = {
        "max_new_tokens": decoding.max_new_tokens, "repetition_penalty": decoding.repetition_penalty,
        "eos_token_id": eos_ids, "pad_token_id": pad_id(tokenizer), "do_sample": decoding.strategy == "sample",
        "num_beams": decoding.num_beams if decoding.strategy == "beam" else 1,
    }
    if decoding.strategy == "sample":
        kwargs.update(temperature=decoding.temperature, top_p=decoding.top_p, top_k=decoding.top_k)
    else:  # greedy and beam ignore the sampling knobs; the model's own generation_config must not bring them
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if decoding.stop:
        kwargs["stop_strings"] = list(decoding.stop)
    return GenerationConfig(**kwargs)


def pad_id(tokenizer) -> int:
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0


def end_ids(tokenizer, model) -> list[int]:
    """Every id that ends a reply: the tokenizer's eos and the model's (chat models end turns with their own)."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


@torch.inference_mode()
def generate_ids(model, tokenizer, prompts: Sequence[list[int]], decoding: Any, batch_size: int = 64,
                 batch_tokens: int | None = None, streamer: Any = None) -> list[list[int]]:
    """The new token ids of each prompt (end token and what follows cut off), in the prompts' order."""
    if not prompts:
        return []
    eos = end_ids(tokenizer, model)
    config = generation_config(decoding, tokenizer, eos)
    pad = pad_id(tokenizer)
    device = next(model.parameters()).device
    # The budget counts every position a row will hold: its prompt and its new tokens (times the beams).
    widths = [(len(p) + decoding.max_new_tokens) * config.num_beams for p in prompts]
    results: list[list[int]] = [[] for _ in prompts]
    own_loop = decoding.strategy == "greedy" and not _prepends_virtual_tokens(model) and plain_dynamic_cache(model)
    if own_loop and getattr(decoding, "speculation", "off") != "off":
        if streamer is None and len(prompts) > 1:
            return _speculative_batches(model, tokenizer, prompts, decoding, eos, widths, batch_size, batch_tokens)
        return _speculative(model, tokenizer, prompts, decoding, eos, streamer)
    prefix = shared_prefix(model, prompts, device) if own_loop and len(prompts) > 1 else None
    budget = decoding.max_new_tokens
    # The bar counts token slots (max_new_tokens a reply), ticked at every decoding step of the own loop, so a
    # batch of all the prompts still moves and its ETA means something; a reply that ends early gives its
    # unused slots back when its batch ends.
    with bar(len(prompts) * budget, "decoding", "token") as shown:
        replied = 0
        for batch in eval_batches(widths, batch_size, batch_tokens):
            check_stop()  # a request abandoned by its caller starts no new batch
            before = shown.n
            if own_loop:
                replies = greedy_batch(model, [prompts[i] for i in batch], pad, decoding, eos, tokenizer, streamer,
                                       prefix if len(batch) > 1 else None, shown.update)
                for row, i in enumerate(batch):
                    results[i] = replies[row]
                replied += len(batch)
                shown.update(len(batch) * budget - (shown.n - before))
                shown.set_postfix_str(f"{replied}/{len(prompts)} replies")
                continue
            longest = max(len(prompts[i]) for i in batch)
            ids = torch.full((len(batch), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, longest - len(prompts[i]):] = torch.as_tensor(prompts[i])
                mask[row, longest - len(prompts[i]):] = 1
            if decoding.strategy == "sample":
                torch.manual_seed(decoding.seed)
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config,
                                 tokenizer=tokenizer, streamer=streamer, stopping_criteria=stopping_criteria())
            check_stop()  # generate ended early because the caller left: its cut replies are not answers
            for row, i in enumerate(batch):
                results[i] = _until_end(out[row, longest:].tolist(), eos)
            replied += len(batch)
            shown.update(len(batch) * budget)
            shown.set_postfix_str(f"{replied}/{len(prompts)} replies")
    return results


def plain_dynamic_cache(model) -> bool:
    """Whether greedy decoding of ``model`` may run the own loop: ``generate`` would give it a DynamicCache whose
    layers are all plain ``DynamicLayer`` (full keys and values of every position, sliced freely)."""
    from transformers import DynamicCache, DynamicLayer

    config = getattr(model, "config", None)
    supports = getattr(model, "_supports_default_dynamic_cache", None)
    if config is None or getattr(config, "is_encoder_decoder", False) or (supports is not None and not supports()):
        return False
    implementation = getattr(getattr(model, "generation_config", None), "cache_implementation", None)
    if implementation not in (None, "dynamic"):
        return False
    return all(type(layer) is DynamicLayer for layer in DynamicCache(config=config).layers)


def _speculative(model, tokenizer, prompts: Sequence[list[int]], decoding: Any, eos: list[int],
                 streamer: Any = None) -> list[list[int]]:
    """Greedy replies by speculative decoding (engine/speculative.py), one prompt at a time (streaming)."""
    from tuneforge.engine.speculative import load_draft, make_drafter, speculative_greedy

    draft = load_draft(decoding.draft_model, model) if decoding.speculation == "draft_model" else None
    stopped = stop_check(tokenizer, decoding.stop)
    results = []
    for prompt in prompts:
        check_stop()
        reply: list[int] = []
        if streamer is not None:
            streamer.put(torch.tensor(prompt))

        def accept(tokens: list[int], reply=reply) -> bool:
            reply += tokens
            if streamer is not None:
                streamer.put(torch.tensor(tokens))
            return stopped is not None and stopped(reply)

        results.append(speculative_greedy(model, prompt, decoding.max_new_tokens, eos,
                                          make_drafter(decoding.speculation, draft), decoding.max_draft_tokens,
                                          on_tokens=accept))
        if streamer is not None:
            streamer.end()
    return results


def _speculative_batches(model, tokenizer, prompts: Sequence[list[int]], decoding: Any, eos: list[int],
                         widths: list[int], batch_size: int, batch_tokens: int | None) -> list[list[int]]:
    """Greedy replies by speculative decoding, batched as plain greedy is (engine/speculative_batch.py)."""
    from tuneforge.engine.speculative import load_draft, make_drafter
    from tuneforge.engine.speculative_batch import speculative_greedy_batch

    draft = load_draft(decoding.draft_model, model) if decoding.speculation == "draft_model" else None
    stopped = stop_check(tokenizer, decoding.stop)
    results: list[list[int]] = [[] for _ in prompts]
    with bar(len(prompts), "decoding", "reply") as shown:
        for batch in eval_batches(widths, batch_size, batch_tokens):
            check_stop()
            replies = speculative_greedy_batch(
                model, [prompts[i] for i in batch], pad_id(tokenizer), decoding.max_new_tokens, eos,
                lambda: make_drafter(decoding.speculation, draft), decoding.max_draft_tokens,
                stopped)
            for row, i in enumerate(batch):
                results[i] = replies[row]
            shown.update(len(batch))
    return results


def _prepends_virtual_tokens(model) -> bool:
    """peft's prompt learning adds its tokens inside its own ``generate``: leave such models to it."""
    config = getattr(model, "active_peft_config", None)
    return bool(getattr(config, "is_prompt_learning", False))


MIN_SHARED_PREFIX = 8  # shorter common beginnings are not worth a separate forward pass


def shared_prefix(model, prompts: Sequence[list[int]], device) -> tuple[int, Any] | None:
    """(length, KV cache) of the tokens every prompt starts with (a chat template's system turn, an
    instruction), computed once for all batches; None when they share too little."""
    from transformers import DynamicCache

    shortest = min(len(p) for p in prompts)
    length = 0
    while length < shortest - 1 and all(p[length] == prompts[0][length] for p in prompts):
        length += 1  # at least one token of each prompt is left, whose logits give the first new token
    if length < MIN_SHARED_PREFIX:
        return None
    cache = DynamicCache(config=getattr(model, "config", None))
    ids = torch.tensor([prompts[0][:length]], device=device)
    model(input_ids=ids, position_ids=torch.arange(length, device=device)[None], past_key_values=cache,
          use_cache=True, logits_to_keep=1)
    return length, cache


def greedy_batch(model, prompts: Sequence[list[int]], pad: int, decoding: Any, eos: list[int], tokenizer,
                 streamer: Any = None, prefix: tuple[int, Any] | None = None,
                 on_step: Callable[[int], Any] | None = None) -> list[list[int]]:
    """Greedy replies of one batch; finished rows leave the batch (and its KV cache) at once. ``on_step(n)``:
    after each decoding step, with the number of rows it decoded (a progress bar's tick).

    Rows are left-padded; with ``prefix`` the shared beginning comes from its cache and only the rest
    of each prompt is run (the padding then sits between the two, masked, with positions counted on).
    """
    import copy

    from transformers import DynamicCache

    rows = len(prompts)
    device = next(model.parameters()).device
    start = prefix[0] if prefix else 0
    longest = max(len(p) - start for p in prompts)
    ids = torch.full((rows, longest), pad, dtype=torch.long)
    mask = torch.zeros((rows, start + longest), dtype=torch.long)
    mask[:, :start] = 1
    for row, p in enumerate(prompts):
        ids[row, longest - len(p) + start:] = torch.as_tensor(p[start:])
        mask[row, start + longest - len(p) + start:] = 1
    ids, mask = ids.to(device), mask.to(device)
    if prefix:
        cache = copy.deepcopy(prefix[1])
        cache.batch_repeat_interleave(rows)
    else:
        cache = DynamicCache(config=getattr(model, "config", None))
    positions = ((mask.cumsum(-1) - 1).clamp(min=0))[:, start:]
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1]
    if streamer is not None:
        streamer.put(ids.cpu())
    penalty = decoding.repetition_penalty
    seen = torch.zeros((rows, logits.shape[-1]), dtype=torch.bool, device=ids.device) if penalty != 1 else None
    if seen is not None:
        for row, p in enumerate(prompts):
            seen[row, torch.as_tensor(p, device=device)] = True
    alive = torch.arange(rows, device=device)
    next_position = positions[:, -1] + 1
    replies: list[list[int]] = [[] for _ in range(rows)]
    stopped = stop_check(tokenizer, decoding.stop)
    eos_ids = torch.tensor(eos, device=device)
    for step in range(decoding.max_new_tokens):
        check_stop()  # between decoding steps: a request that timed out or lost its client stops here
        if seen is not None:  # CTRL's penalty, as transformers applies it: shrink the scores of seen tokens
            penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
            logits = torch.where(seen, penalized, logits)
        tokens = logits.argmax(-1)
        finished = torch.isin(tokens, eos_ids)
        for row, (r, token) in enumerate(zip(alive.tolist(), tokens.tolist(), strict=True)):
            if finished[row]:
                continue
            replies[r].append(token)
            if stopped is not None and stopped(replies[r]):
                finished[row] = True
        if streamer is not None and not finished[0]:
            streamer.put(tokens[:1].cpu())
        if on_step is not None:
            on_step(len(alive))
        if step + 1 == decoding.max_new_tokens or finished.all():
            break
        if finished.any():
            keep = (~finished).nonzero().squeeze(1)
            cache.batch_select_indices(keep)
            alive, tokens, mask, next_position = alive[keep], tokens[keep], mask[keep], next_position[keep]
            if seen is not None:
                seen = seen[keep]
            mask = drop_unused_columns(cache, mask)
        if seen is not None:
            seen[torch.arange(len(tokens), device=device), tokens] = True
        mask = torch.cat([mask, mask.new_ones((len(mask), 1))], dim=1)
        logits = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=next_position[:, None],
                       past_key_values=cache, use_cache=True).logits[:, -1]
        next_position = next_position + 1
    if streamer is not None:
        streamer.end()
    return replies


def stop_check(tokenizer, stop: Sequence[str]) -> Callable[[list[int]], bool] | None:
    """Whether a reply (token ids) has reached one of the stop strings, read from its last few tokens only;
    None without stop strings."""
    if not stop:
        return None
    tail = max(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in stop) + 2
    return lambda reply: any(s in tokenizer.decode(reply[-tail:]) for s in stop)


def _until_end(ids: list[int], eos: list[int]) -> list[int]:
    for n, token in enumerate(ids):
        if token in eos:
            return ids[:n]
    return ids


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text before the first stop string (generation halts on it, but includes it)."""
    cuts = [text.find(s) for s in stop if s in text]
    return text[: min(cuts)] if cuts else text


class TextStream:
    """A streamer for ``model.generate`` that writes each new piece of text as soon as it is final."""

    def __init__(self, tokenizer, write: Callable[[str], None], stop: Sequence[str] = ()) -> None:
        self.tokenizer, self.write, self.stop = tokenizer, write, list(stop)
        self.ids: list[int] = []
        self.shown = 0
        self.prompt_seen = False
        self.stopped = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate passes the prompt first
            self.prompt_seen = True
            return
        self.ids += value.reshape(-1).tolist()
        self._flush(final=False)

    def end(self) -> None:
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        if self.stopped:
            return
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        cut = cut_at_stop(text, self.stop)
        if cut != text:
            self.stopped, final, text = True, True, cut
        # Hold back what may still change: a partial UTF-8 character, or the start of a stop string.
        held = max(map(len, self.stop), default=1) - 1
        safe = len(text) if final else max(self.shown, len(text.rstrip("\ufffd")) - held)
        if safe > self.shown:
            self.write(text[self.shown:safe])
            self.shown = safe
