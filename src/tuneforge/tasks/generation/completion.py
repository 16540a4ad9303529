"""Completion requests of a generation run: prompt ids per request, then ``engine.completion`` decodes them.

A chat is rendered as the run was trained (chat template, instruction, system message; a too-long prompt is
refused or cut as ``task_options.too_long`` says) and its reply stripped, as in ``predict``; a text to
continue is tokenized as given and its continuation kept as generated (its leading space is part of it).
"""

from __future__ import annotations

from typing import Any

from tuneforge.engine.completion import Completion, CompletionRequest, complete_prompts
from tuneforge.engine.eval_mode import evaluating
from tuneforge.engine.generate import TextStream
from tuneforge.errors import DataError


def prompt_ids(task: Any, request: CompletionRequest) -> list[int]:
    if request.messages is not None:
        return task.format.prompt_ids([dict(m) for m in request.messages], request.where)[0]
    ids = task.tokenizer(request.text)["input_ids"]
    limit = task.cfg.model.max_length
    if not ids:
        raise DataError(f"{request.where}: the prompt is empty")
    if len(ids) > limit:
        raise DataError(f"{request.where}: {len(ids)} tokens; a prompt may have at most model.max_length ({limit})")
    return ids


def complete(task: Any, model, requests: list[CompletionRequest], batch_size: int = 64,
             batch_tokens: int | None = None) -> list[Completion]:
    prompts = [prompt_ids(task, r) for r in requests]  # a bad prompt fails before any decoding
    with evaluating(model):
        done = complete_prompts(model, task.tokenizer, prompts, requests, batch_size, batch_tokens)
    return [_finished(r, c) for r, c in zip(requests, done, strict=True)]


def stream_completion(task: Any, model, request: CompletionRequest, write) -> Completion:
    """One completion, its text written as it is produced. Beam search chooses its reply only at the end (its
    beams are rewritten until then), so that reply is written whole."""
    if request.decoding.strategy == "beam":
        done = complete(task, model, [request], batch_size=1)[0]
        if done.text:
            write(done.text)
        return done
    prompt = prompt_ids(task, request)
    with evaluating(model):
        done = complete_prompts(model, task.tokenizer, [prompt], [request], batch_size=1,
                                streamer=TextStream(task.tokenizer, write, request.decoding.stop))[0]
    return _finished(request, done)


def _finished(request: CompletionRequest, done: Completion) -> Completion:
    if request.messages is not None:  # a chat reply is stripped, as predict and evaluation strip it
        done.text = done.text.strip()
    return done
