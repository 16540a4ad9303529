"""Completion requests: replies whose decoding each request chooses (the server's OpenAI-compatible API).

A request is a chat (``messages``, rendered with the run's prompt format) or a text to continue as given
(``text``), with its own ``DecodingConfig`` (max tokens, sampling, stop strings, seed). Requests that decode
alike are generated together (one ``generate_ids`` call per group); the answer tells how many tokens the
prompt and the reply have and why the reply ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tuneforge.engine.generate import cut_at_stop, generate_ids


@dataclass(frozen=True)
class CompletionRequest:
    decoding: Any  # a config.schema.DecodingConfig
    messages: tuple[dict[str, str], ...] | None = None  # a chat, rendered with the run's prompt format
    text: str | None = None  # or a text continued as it is: no chat template, instruction or system message
    seeded: bool = True  # False: ``decoding.seed`` is a fresh random one, so unseeded requests share a batch
    where: str = "input 1"  # what an error about this request names


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int  # the reply's tokens (a stop string's included, the end token not)
    finish_reason: str  # "stop": an end token or a stop string; "length": decoding.max_new_tokens reached


def decoding_key(request: CompletionRequest, index: int) -> tuple[str, int | None]:
    """Requests with equal keys decode alike and share a ``generate_ids`` call. A seeded sampled request decodes
    alone: rows sampled together draw from one random stream, so its reply would depend on what else was
    batched with it; unseeded ones share the first one's random seed."""
    d = request.decoding
    return d.model_dump_json(exclude={"seed"}), index if request.seeded and d.strategy == "sample" else None


def complete_prompts(model, tokenizer, prompts: Sequence[list[int]], requests: Sequence[CompletionRequest],
                     batch_size: int = 64, batch_tokens: int | None = None, streamer: Any = None) -> list[Completion]:
    """The completion of each prompt's ids, in order; each request's text is as decoded (not stripped)."""
    groups: dict[tuple[str, int | None], list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault(decoding_key(request, i), []).append(i)
    out: list[Completion | None] = [None] * len(requests)
    for members in groups.values():
        decoding = requests[members[0]].decoding
        new = generate_ids(model, tokenizer, [prompts[i] for i in members], decoding, batch_size, batch_tokens,
                           streamer)
        for i, ids in zip(members, new, strict=True):
            text = tokenizer.decode(ids, skip_special_tokens=True)
            cut = cut_at_stop(text, decoding.stop)
            ended = cut != text or len(ids) < decoding.max_new_tokens
            out[i] = Completion(cut, len(prompts[i]), len(ids), "stop" if ended else "length")
    return out  # type: ignore[return-value]
