"""The request bodies of ``POST /v1/chat/completions`` and ``POST /v1/completions``, and what a run cannot honour.

Fields follow OpenAI's API reference. An unknown field is refused as OpenAI refuses it ("Unrecognized request
argument supplied"), never dropped; a known one this server cannot honour with a value that asks for something
(``n: 2``, ``logprobs: true``, ``tools``, ``response_format: json_object``, penalties) gets a 400 naming it.
Fields that only label a request (``user``, ``metadata``, ``service_tier``) are accepted and have no effect.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from tuneforge.serve.errors import one_line
from tuneforge.serve.openai_errors import OpenAIError

_UNION_TAG = re.compile(r"^(str|int|float|bool|none)$|[\[\-]")  # pydantic's names of a union's members in a loc
INT64 = 2**63  # OpenAI's seed is a 64-bit integer; torch takes any of them


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: StrictBool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: StrictStr
    content: StrictStr | list[dict[str, Any]] | None = None  # a string, or parts [{"type": "text", "text"}]
    name: StrictStr | None = None  # a participant's name: accepted, not shown to the model
    tool_calls: Any = None  # tool use is refused (openai_decoding.chat_messages)
    tool_call_id: Any = None
    function_call: Any = None
    refusal: Any = None


class CompletionParams(BaseModel):
    """What both endpoints take."""

    model_config = ConfigDict(extra="forbid")

    model: StrictStr = Field(description="a served model's name (GET /v1/models)")
    max_tokens: StrictInt | None = Field(None, ge=1, description="most tokens of the reply; default: the run's "
                                                                 "inference.decoding.max_new_tokens")
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False,
                                      description="0: greedy; above 0: sampling; default: the run's decoding")
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False, description="below 1: nucleus sampling")
    stop: StrictStr | list[StrictStr] | None = Field(None, description="up to 4 strings that end the reply")
    seed: StrictInt | None = Field(None, ge=-INT64, lt=INT64, description="sampling: the same seed, request and "
                                                                          "batch give the same reply")
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    user: StrictStr | None = None
    metadata: dict[str, Any] | None = None
    service_tier: StrictStr | None = None
    n: Any = None
    logprobs: Any = None
    top_logprobs: Any = None
    presence_penalty: Any = None
    frequency_penalty: Any = None
    logit_bias: Any = None


class ChatCompletionRequest(CompletionParams):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1, description="max_tokens' newer name")
    tools: Any = None
    tool_choice: Any = None
    functions: Any = None
    function_call: Any = None
    parallel_tool_calls: Any = None
    response_format: Any = None
    modalities: Any = None
    audio: Any = None
    prediction: Any = None
    reasoning_effort: Any = None
    store: Any = None
    web_search_options: Any = None


class TextCompletionRequest(CompletionParams):
    prompt: StrictStr | list[Any] = Field(description="a text to continue (or a list of them)")
    echo: Any = None
    suffix: Any = None
    best_of: Any = None


def _off(*allowed: Any):
    return lambda value: value is None or any(value == a and type(value) is type(a) for a in allowed)


# field -> (accepted when, what to say): values that ask for nothing pass, as clients send defaults explicitly
UNSUPPORTED: dict[str, tuple[Any, str]] = {
    "n": (_off(1), "one choice per request (n: 1); send the request again for another"),
    "logprobs": (lambda v: v is None or v is False, "log probabilities are not returned"),
    "top_logprobs": (_off(0), "log probabilities are not returned"),
    "presence_penalty": (lambda v: v is None or v == 0, "no presence penalty (the run's "
                         "inference.decoding.repetition_penalty applies)"),
    "frequency_penalty": (lambda v: v is None or v == 0, "no frequency penalty (the run's "
                          "inference.decoding.repetition_penalty applies)"),
    "logit_bias": (lambda v: not v, "logit_bias is not supported"),
    "tools": (lambda v: not v, "tools and function calling are not supported: a generation run answers in text"),
    "functions": (lambda v: not v, "tools and function calling are not supported: a generation run answers in text"),
    "tool_choice": (_off("none"), "tools and function calling are not supported"),
    "function_call": (_off("none"), "tools and function calling are not supported"),
    "parallel_tool_calls": (lambda v: v is None or isinstance(v, bool), "tools are not supported"),
    "response_format": (lambda v: v is None or v == {"type": "text"}, "only text replies (response_format "
                        "{\"type\": \"text\"}); JSON modes are not supported"),
    "modalities": (lambda v: v is None or v == ["text"], "only text replies"),
    "audio": (lambda v: v is None, "only text replies"),
    "prediction": (lambda v: v is None, "predicted outputs are not supported"),
    "reasoning_effort": (lambda v: v is None, "not a reasoning model"),
    "web_search_options": (lambda v: v is None, "web search is not supported"),
    "store": (lambda v: v is None or v is False, "this server stores no completions"),
    "echo": (lambda v: v is None or v is False, "echo is not supported; the prompt is the one you sent"),
    "suffix": (lambda v: v is None or v == "", "suffix (insertion) is not supported"),
    "best_of": (_off(1), "best_of is not supported (one completion per prompt)"),
}


def parse_request(model: type[BaseModel], body: Any) -> Any:
    """The request, or a 400 naming the first bad field as ``param``."""
    if not isinstance(body, dict):
        raise OpenAIError(400, "the request body must be a JSON object", code="invalid_request")
    try:
        request = model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        parts = [p for p in first["loc"] if isinstance(p, int) or not _UNION_TAG.search(p)]
        param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or None
        if first["type"] == "extra_forbidden":
            raise OpenAIError(400, f"Unrecognized request argument supplied: {param}", param=param,
                              code="unrecognized_argument") from None
        raise OpenAIError(400, one_line(f"{param}: {first['msg']}"), param=param, code="invalid_value") from None
    for field, (accepted, why) in UNSUPPORTED.items():
        value = getattr(request, field, None)
        if not accepted(value):
            raise OpenAIError(400, f"{field}: {why}", param=field, code="unsupported_parameter")
    return request


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """The request body for ``/openapi.json``: the routes read their bodies themselves (to answer OpenAI's 400s),
    so FastAPI cannot describe them; nested models are inlined (their ``$defs`` would point nowhere there)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}
