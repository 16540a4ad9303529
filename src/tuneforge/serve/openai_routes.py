"""The OpenAI-compatible API: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models/NAME``.

``model`` is a served model's name; only runs whose task completes (``TaskSpec.completes``: generation) answer,
any other is a 400. A request goes through the same machinery as ``/predict``: the API key, body-size and
character limits, the model's queue (a full one: 503 with Retry-After, which the ``openai`` client retries),
micro-batching (with other completion requests that decode alike), ``timeout_s`` (504), a client that leaves
stops its generation, and ``/metrics`` under the model's name. Every error has the OpenAI shape (openai_errors.py),
and a 422 of the shared checks is a 400 here, as OpenAI answers. ``GET /v1/models`` is this server's list with
OpenAI's ``object``/``data`` added (app.py), so both kinds of client read it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request

from tuneforge.serve.errors import ServeError
from tuneforge.serve.jobs import enqueue, outcome
from tuneforge.serve.metrics import Metrics
from tuneforge.serve.openai_chunks import Chunks, chat_response, text_response
from tuneforge.serve.openai_decoding import chat_request, text_requests
from tuneforge.serve.openai_errors import OpenAIError
from tuneforge.serve.openai_schemas import ChatCompletionRequest, TextCompletionRequest, openapi_body, parse_request
from tuneforge.serve.registry import LoadedModel, ModelRegistry
from tuneforge.serve.settings import ServeSettings
from tuneforge.serve.streaming import Trimmed, stream_call


def openai_model(model: LoadedModel) -> dict[str, Any]:
    return {"id": model.name, "object": "model", "created": model.loaded_at, "owned_by": "tuneforge"}


def completing_models(registry: ModelRegistry) -> list[LoadedModel]:
    """The models ``/v1/chat/completions`` answers with, by name: OpenAI's ``GET /v1/models`` lists these."""
    return [m for _, m in sorted(registry.snapshot().items()) if m.spec.completes]


def add_openai_routes(app: FastAPI, registry: ModelRegistry, settings: ServeSettings, metrics: Metrics) -> None:
    @app.post("/v1/chat/completions", summary="OpenAI-compatible chat completion (docs/serving-openai.md)",
              openapi_extra=openapi_body(ChatCompletionRequest))
    async def chat_completions(request: Request) -> Any:
        return await _answer(request, ChatCompletionRequest, True, registry, settings, metrics)

    @app.post("/v1/completions", summary="OpenAI-compatible text completion (docs/serving-openai.md)",
              openapi_extra=openapi_body(TextCompletionRequest))
    async def completions(request: Request) -> Any:
        return await _answer(request, TextCompletionRequest, False, registry, settings, metrics)

    @app.get("/v1/models/{name}", summary="OpenAI's model object of a model that answers completions")
    async def retrieve_model(name: str) -> dict[str, Any]:
        return openai_model(_completing(registry, name, param=None))


async def _answer(request: Request, schema: type, chat: bool, registry: ModelRegistry, settings: ServeSettings,
                  metrics: Metrics) -> Any:
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        async with metrics.counted("_unknown"):
            raise OpenAIError(400, "request body is not valid JSON", code="invalid_json") from None
    name = body.get("model") if isinstance(body, dict) else None
    async with metrics.counted(name if isinstance(name, str) and name in registry.models else "_unknown"):
        try:
            return await _complete(parse_request(schema, body), chat, registry, settings, request)
        except OpenAIError:
            raise
        except ServeError as exc:  # the shared machinery's (timeout, overload, the task's own input checks)
            if exc.status != 422:
                raise OpenAIError(exc.status, exc.message, headers=exc.headers, kind=exc.kind) from None
            raise OpenAIError(400, exc.message, "messages" if chat else "prompt", "invalid_value",
                              kind=exc.kind) from None


async def _complete(body: Any, chat: bool, registry: ModelRegistry, settings: ServeSettings,
                    request: Request) -> Any:
    model = _completing(registry, body.model)
    base = model.run.config.inference.decoding
    if chat:
        items = [chat_request(body, model.spec, base, settings)]
    else:
        items = text_requests(body, model.spec, base, settings)
    if body.stream:
        if len(items) != 1:
            raise OpenAIError(400, "stream: give one prompt to stream", param="stream", code="unsupported_parameter")
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        item = items[0]
        return await stream_call(model, lambda write: model.run.stream_completion(item, Trimmed(write) if chat
                                                                                  else write),
                                 settings, Chunks(model.name, chat, include_usage))
    if body.stream_options is not None:
        raise OpenAIError(400, "stream_options: only with stream: true", param="stream_options",
                          code="invalid_value")
    done = await outcome(enqueue(lambda: model.batcher.submit(items, predict=model.run.complete), settings),
                         settings, model.name, request.is_disconnected)
    return chat_response(model.name, done[0]) if chat else text_response(model.name, done)


def _completing(registry: ModelRegistry, name: str, param: str | None = "model") -> LoadedModel:
    model = registry.models.get(name)
    if model is None:
        served = ", ".join(m.name for m in completing_models(registry)) or "none"
        raise OpenAIError(404, f"The model {name!r} does not exist (served: {served})", param=param,
                          code="model_not_found")
    if not model.spec.completes:
        raise OpenAIError(400, f"model {name!r} is a {model.spec.name} run; only generation runs answer "
                               f"completions (use POST /v1/models/{name}/predict)", param=param,
                          code="model_not_supported")
    return model
