"""From an OpenAI request to ``CompletionRequest``s: its messages or prompts, and the decoding it asks for.

Decoding starts from the run's ``inference.decoding`` (with ``serve --set``); what the request gives replaces it:
``max_tokens`` (or ``max_completion_tokens``) the reply's length; ``temperature`` 0 greedy (a beam run keeps its
beams), above 0 sampling at that temperature; ``top_p`` below 1 nucleus sampling; ``stop`` strings are added to
the run's own; ``seed`` makes sampling repeatable. A request that gives none of them decodes as the run does
(greedy by default), except that an unseeded sampled reply gets a fresh random seed, as OpenAI's does.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError

from tuneforge.config.schema import DecodingConfig
from tuneforge.engine.completion import CompletionRequest
from tuneforge.serve.errors import ServeError
from tuneforge.serve.limits import check_inputs
from tuneforge.serve.openai_errors import OpenAIError
from tuneforge.serve.settings import ServeSettings

MAX_STOPS = 4  # OpenAI's limit
MAX_STOP_CHARS = 200  # every decoding step looks for each stop string in the reply's tail
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def decoding_for(body: Any, base: DecodingConfig) -> tuple[DecodingConfig, bool]:
    """The decoding ``body`` asks for on top of the run's, and whether it gave a seed."""
    update: dict[str, Any] = {}
    length_param = "max_completion_tokens" if getattr(body, "max_completion_tokens", None) is not None \
        else "max_tokens"
    if getattr(body, length_param) is not None:
        update["max_new_tokens"] = getattr(body, length_param)
    if body.temperature == 0:
        if base.strategy == "sample":
            update["strategy"] = "greedy"
    else:
        if body.temperature is not None:
            update.update(strategy="sample", temperature=body.temperature)
        if body.top_p is not None:
            update["top_p"] = body.top_p
            if body.top_p < 1:
                update["strategy"] = "sample"
    stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stops) > MAX_STOPS:
        raise OpenAIError(400, f"stop: {len(stops)} strings; at most {MAX_STOPS}", param="stop", code="invalid_value")
    for s in stops:
        if not s or len(s) > MAX_STOP_CHARS:
            raise OpenAIError(400, f"stop: each string must have 1 to {MAX_STOP_CHARS} characters", param="stop",
                              code="invalid_value")
    update["stop"] = [*base.stop, *(s for s in dict.fromkeys(stops) if s not in base.stop)]
    update["seed"] = body.seed if body.seed is not None else secrets.randbelow(2**31)
    try:
        return DecodingConfig.model_validate({**base.model_dump(), **update}), body.seed is not None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        param = {"max_new_tokens": length_param}.get(field, field)
        raise OpenAIError(400, f"{param}: {first['msg']}", param=param, code="invalid_value") from None


def chat_messages(messages: list[Any]) -> list[dict[str, str]]:
    """The chat as the run's prompt format takes it: text content, roles system/user/assistant."""
    out = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if m.role not in ROLES:
            raise OpenAIError(400, f"{where}.role: {m.role!r} is not supported; use system, developer, user or "
                                   "assistant (tools are not supported)", param=f"{where}.role", code="invalid_value")
        if m.tool_calls or m.function_call or m.tool_call_id is not None:
            raise OpenAIError(400, f"{where}: tool calls are not supported", param=where,
                              code="unsupported_parameter")
        out.append({"role": ROLES[m.role], "content": _text(m.content, f"{where}.content")})
    return out


def _text(content: Any, where: str) -> str:
    if content is None:
        raise OpenAIError(400, f"{where}: missing", param=where, code="invalid_value")
    if isinstance(content, str):
        return content
    texts = []
    for j, part in enumerate(content):
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise OpenAIError(400, f"{where}[{j}]: only text parts ({{\"type\": \"text\", \"text\": ...}}) are "
                                   "supported", param=f"{where}[{j}]", code="unsupported_parameter")
        texts.append(part["text"])
    return "\n".join(texts)


def text_prompts(prompt: Any) -> list[str]:
    """``/v1/completions``' prompt: a text, or a list of texts (token-id prompts are refused)."""
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not prompts:
        raise OpenAIError(400, "prompt: empty list", param="prompt", code="invalid_value")
    if any(not isinstance(p, str) for p in prompts):
        raise OpenAIError(400, "prompt: give text (or a list of texts); token-id prompts are not supported",
                          param="prompt", code="unsupported_parameter")
    return prompts


def chat_request(body: Any, spec: Any, base: DecodingConfig, settings: ServeSettings) -> CompletionRequest:
    """The one CompletionRequest of a chat, checked against the server's limits and the task's rules."""
    messages = chat_messages(body.messages)
    _checked([{"messages": messages}], spec, settings, lambda i: "messages", "messages")
    decoding, seeded = decoding_for(body, base)
    return CompletionRequest(decoding, messages=tuple(messages), seeded=seeded, where="messages")


def text_requests(body: Any, spec: Any, base: DecodingConfig, settings: ServeSettings) -> list[CompletionRequest]:
    prompts = text_prompts(body.prompt)
    name = (lambda i: "prompt") if isinstance(body.prompt, str) else (lambda i: f"prompt[{i}]")
    _checked([{"prompt": p} for p in prompts], spec, settings, name, "prompt")
    decoding, seeded = decoding_for(body, base)
    return [CompletionRequest(decoding, text=p, seeded=seeded, where=name(i)) for i, p in enumerate(prompts)]


def _checked(items: list[dict[str, Any]], spec: Any, settings: ServeSettings, name: Any, param: str) -> None:
    """The served limits (characters, items) and the task's checks, their messages naming the request's fields."""
    try:
        check_inputs(items, spec, settings)
    except ServeError as exc:
        message = exc.message
        for i in range(len(items)):
            field = name(i)
            for before, after in ((f"inputs[{i}].{param}", field), (f"inputs[{i}]: {param}", param),
                                  (f"inputs[{i}]", field)):
                message = message.replace(before, after)
        if message.startswith("inputs:"):
            message = param + message[len("inputs"):]
        raise OpenAIError(400 if exc.status == 422 else exc.status, message, param=param, code="invalid_value") \
            from None
