"""The OpenAI error shape, ``{"error": {"message", "type", "param", "code"}}``, for the OpenAI-compatible paths.

Clients of those paths (the ``openai`` library, LangChain, chat UIs) read ``error.message``; every other path
keeps ``{"error": "<one line>"}``. The middlewares (API key, body size, Host) and the app's handlers answer
through ``error_body`` so a 401 or 413 on ``/v1/chat/completions`` has the OpenAI shape too.
"""

from __future__ import annotations

import json
from typing import Any

from tuneforge.serve.errors import ServeError, one_line

OPENAI_PATHS = ("/v1/chat/completions", "/v1/completions")

TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 409: "invalid_request_error",
         413: "invalid_request_error", 499: "invalid_request_error", 500: "server_error", 503: "server_error",
         504: "server_error"}
CODES = {401: "invalid_api_key", 404: "not_found", 413: "request_too_large", 500: "internal_error",
         503: "overloaded", 504: "timeout"}


class OpenAIError(ServeError):
    """A refused request of the OpenAI-compatible API: ``param`` (the field at fault) and ``code`` as OpenAI names
    them (``model_not_found``, ``unsupported_parameter``)."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(status, message, **kwargs)
        self.param, self.code = param, code


def is_openai_path(path: str, method: str = "POST") -> bool:
    """The completion endpoints, and ``GET /v1/models/NAME`` (OpenAI's retrieve; this server has no other GET
    there). ``GET /v1/models`` keeps this server's shape: it answers both (see openai_routes.py)."""
    if path in OPENAI_PATHS:
        return True
    return method == "GET" and path.startswith("/v1/models/") and "/" not in path[len("/v1/models/"):]


def openai_error(status: int, message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    kind = TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": one_line(message), "type": kind, "param": param, "code": code or CODES.get(status)}}


def serve_error_content(path: str, method: str, exc: ServeError) -> dict[str, Any]:
    """What a ServeError answers on ``path``."""
    if not is_openai_path(path, method):
        return {"error": exc.message}
    return openai_error(exc.status, exc.message, getattr(exc, "param", None), getattr(exc, "code", None))


def error_body(scope: dict, status: int, message: str) -> bytes:
    """A middleware's error body for the request of ``scope``, in the shape of its path."""
    openai = is_openai_path(scope.get("path", ""), scope.get("method", ""))
    content = openai_error(status, message) if openai else {"error": message}
    return json.dumps(content).encode()
