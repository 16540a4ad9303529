"""``create_app(settings)``: the FastAPI application of ``tuneforge serve`` (tests drive it without a socket).

Endpoints: GET /v1/models (this server's list, with OpenAI's "object"/"data" added), POST
/v1/models/{name}/predict (``"stream": true``: Server-Sent Events, see streaming.py), POST /v1/models (load),
DELETE /v1/models/{name}, GET /healthz, /readyz, /metrics; /openapi.json (no /docs: its scripts come from a CDN);
with an assistant (``--assistant FILE``) POST /v1/assist and its chat page at GET /; the OpenAI-compatible
POST /v1/chat/completions, POST /v1/completions and GET /v1/models/{name} (openai_routes.py).
Every error answers ``{"error": "..."}``; on the OpenAI-compatible paths, OpenAI's ``{"error": {"message", ...}}``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tuneforge.errors import TuneforgeError
from tuneforge.serve.errors import ServeError, one_line
from tuneforge.serve.jobs import predict_items
from tuneforge.serve.limits import check_inputs
from tuneforge.serve.metrics import Metrics
from tuneforge.serve.openai_errors import is_openai_path, openai_error, serve_error_content
from tuneforge.serve.openai_routes import add_openai_routes, completing_models, openai_model
from tuneforge.serve.registry import ModelRegistry, load_error
from tuneforge.serve.settings import ServeSettings

log = logging.getLogger("tuneforge.serve")


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo ("input") is an error, not an empty request

    inputs: list[Any] = Field(description='items as in `predict --input` JSONL: {"text"} (and "text_pair"), '
                                          '{"question", "context"}, {"prompt"}; a bare string for one-text tasks')
    stream: StrictBool = Field(False, description="one input of a model whose task streams (generation): the reply "
                                                  "as Server-Sent Events, `piece` events then `done`")


class PredictResponse(BaseModel):
    model: str
    predictions: list[Any]


class LoadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(description="the model's name in URLs")
    run: StrictStr = Field(description="a run directory under the server's --root")


def create_app(settings: ServeSettings, registry: ModelRegistry | None = None) -> FastAPI:
    """The app; loads ``settings.runs`` (and the assistant's runs) now, unless a ``registry`` is given, so a bad
    run fails at start."""
    metrics = Metrics()
    assistant = None
    if settings.assistant is not None:
        from tuneforge.assistant.config import load_assistant_config

        assistant = load_assistant_config(settings.assistant, [str(s) for s in settings.schema_files])
    if registry is None:
        registry = ModelRegistry(settings, metrics)
        registry.load_all([*settings.runs, *(assistant.run_args() if assistant else [])],
                          assistant.run_overrides() if assistant else None)
    else:
        registry.metrics = metrics

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        registry.close()

    # /docs and /redoc would load their scripts from a CDN (blank offline, and a third party in the page): off;
    # the schema stays at /openapi.json for any viewer.
    app = FastAPI(title="tuneforge", summary="Predictions of finished tuneforge runs", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.registry, app.state.metrics, app.state.settings = registry, metrics, settings
    app.state.text_log = text_logger(settings)
    _add_middleware(app, settings)
    _add_error_handlers(app, metrics)
    if assistant is not None:
        from tuneforge.serve.assistant import add_assistant

        add_assistant(app, assistant, registry, settings)
    add_openai_routes(app, registry, settings, metrics)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: answers at once, whatever the models are doing (they run on other threads)."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Readiness: at least one model loaded and every model's worker running."""
        if not registry.ready():
            return JSONResponse({"error": "not ready: no model loaded, or a model's worker stopped"}, 503)
        return JSONResponse({"status": "ready", "models": sorted(registry.snapshot())})

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        """Every served model under "models"; OpenAI's list of those that answer /v1/chat/completions under
        "data" (with "object": "list"), so OpenAI clients and tools read the same path."""
        return {"object": "list", "data": [openai_model(m) for m in completing_models(registry)],
                "models": [m.describe() for _, m in sorted(registry.snapshot().items())]}

    @app.post("/v1/models", status_code=201)
    async def load_model(body: LoadRequest) -> dict[str, Any]:
        """Load a run directory under --root while serving (in a worker thread: other models keep answering)."""
        path = registry.resolve_under_root(body.run)
        try:
            model = await run_in_threadpool(registry.load, body.name, path, None)
        except (TuneforgeError, ServeError) as exc:
            raise load_error(exc, {str(path): body.run, str(Path(settings.root).resolve()): "<root>"}) from None
        return model.describe()

    @app.delete("/v1/models/{name}")
    async def unload_model(name: str) -> dict[str, str]:
        await run_in_threadpool(registry.unload, name)
        return {"unloaded": name}

    @app.post("/v1/models/{name}/predict", response_model=PredictResponse,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "predictions; with stream: true, Server-Sent Events"}})
    async def predict(name: str, body: PredictRequest, request: Request) -> Any:
        label = name if name in registry.models else "_unknown"  # bounded metric labels
        async with metrics.counted(label):
            return await _predict(registry, settings, name, body, request.is_disconnected, app.state.text_log)

    return app


def text_logger(settings: ServeSettings) -> Any:
    """With --log-texts: a function logging a request's inputs with their personal data redacted; else None, and
    no request text is ever written to the log."""
    if not settings.log_texts:
        return None
    from tuneforge.privacy.analyzer import PiiAnalyzer
    from tuneforge.privacy.entities import chosen_entities
    from tuneforge.privacy.log_redaction import log_line

    analyzer = PiiAnalyzer(chosen_entities(None, settings.log_ner_run), settings.log_ner_run)

    def write(what: str, items: list[Any]) -> None:
        log.info("%s", log_line(what, items, analyzer))

    return write


async def _predict(registry: ModelRegistry, settings: ServeSettings, name: str, body: PredictRequest,
                   disconnected: Any = None, text_log: Any = None) -> Any:
    model = registry.get(name)
    if body.stream and not model.spec.streams:
        raise ServeError(422, f"stream: model {name!r} answers whole predictions only (its task does not stream); "
                              "send \"stream\": false")
    items = check_inputs(body.inputs, model.spec, settings)
    if text_log is not None:
        await run_in_threadpool(text_log, f"predict {name}", items)
    if body.stream:
        if len(items) != 1:
            raise ServeError(422, f"stream: give exactly one input to stream (got {len(items)})")
        from tuneforge.serve.streaming import stream_reply

        return await stream_reply(model, items[0], settings)
    return {"model": name, "predictions": await predict_items(model, items, settings, disconnected)}


def _add_middleware(app: FastAPI, settings: ServeSettings) -> None:
    from tuneforge.serve.auth import ApiKeyAuth
    from tuneforge.serve.limits import BodySizeLimit

    # added innermost first: CORS answers preflights (which carry no key), then the key, then the body is read
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyAuth, api_key=settings.api_key)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])
    if settings.allowed_hosts is not None:  # outermost: a rebinding page's request goes no further
        from tuneforge.serve.host_check import HostCheck

        app.add_middleware(HostCheck, hosts=settings.allowed_hosts)


def _add_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(ServeError)
    async def serve_error(request: Request, exc: ServeError) -> JSONResponse:
        return JSONResponse(serve_error_content(request.url.path, request.method, exc), exc.status,
                            headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:  # unknown routes, wrong methods
        message = one_line(str(exc.detail))
        content = openai_error(exc.status_code, message) if is_openai_path(request.url.path, request.method) \
            else {"error": message}
        return JSONResponse(content, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = validation_message(exc.errors())
        name = request.path_params.get("name")
        label = None
        if request.url.path.endswith("/predict") and name is not None:
            label = name if name in request.app.state.registry.models else "_unknown"
        elif request.url.path == "/v1/assist":
            from tuneforge.serve.assistant import ASSIST_LABEL

            label = ASSIST_LABEL
        if label is not None:
            metrics.request(label, status, 0.0)
            metrics.error(label, "bad_request")
        return JSONResponse({"error": message}, status)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        message = "internal error; the server log has the details"
        content = openai_error(500, message) if is_openai_path(request.url.path, request.method) \
            else {"error": message}
        return JSONResponse(content, 500)


def validation_message(errors: list[dict[str, Any]]) -> tuple[int, str]:
    """One line naming the first bad field (``inputs[2]``), from pydantic's list; 400 when the body is no JSON."""
    if not errors:
        return 422, "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return 400, "request body is not valid JSON (UTF-8 encoded)"
    parts = [p for p in first.get("loc", ()) if p != "body"]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return 422, one_line(f"{field}: {first.get('msg', 'invalid')}{more}")
