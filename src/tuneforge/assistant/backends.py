"""Where a served assistant's rows come from: the service's backend, called with the tracked state.

A backend takes a service call ``{"service", "method", "parameters"}`` (SGD's ``service_call``: the active
intent and the slot values so far) and returns the rows the service found, a list of ``{slot: value}``:

    backend:
      kind: json                 # rows from a JSON file: {service: {method: [rows]}} or {service: [rows]};
      path: rows.json            #   a row is returned when every parameter it has agrees (for tests and demos)
    backend: {kind: python, callable: mypackage.booking:find}   # a function (call) -> rows
    backend: {kind: http, url: http://localhost:9000/call, timeout_s: 3}   # POST call as JSON -> rows as JSON

Any failure — an error raised, a timeout, a status not 2xx, an answer that is not rows — is a ``BackendError``,
which the assistant turns into a reply that says the service could not be reached (never a 500).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Rows = list[dict[str, str]]


class BackendError(Exception):
    """The service could not answer; the message says why, in one line."""


class BackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["json", "python", "http"]
    path: str | None = Field(None, description="json: the rows file, relative to the assistant file")
    callable: str | None = Field(None, description="python: module:function taking the call, returning rows")
    url: str | None = Field(None, description="http: the endpoint the call is POSTed to")
    timeout_s: float = Field(5.0, gt=0, le=120, description="a call slower than this fails")
    max_rows: int = Field(10, ge=1, le=1000, description="rows kept from an answer")


def service_call(service: str, intent: str, values: dict[str, str]) -> dict[str, Any]:
    return {"service": service, "method": intent, "parameters": dict(values)}


def load_backend(config: BackendConfig, base: Path) -> Callable[[dict[str, Any]], Rows]:
    """A synchronous function call -> rows for the configured kind (a bad configuration fails here, at start)."""
    from tuneforge.errors import ConfigError

    if config.kind == "json":
        if not config.path:
            raise ConfigError("backend: kind json needs path (a JSON file of rows)")
        path = Path(config.path) if Path(config.path).is_absolute() else base / config.path
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"backend.path: {path}: cannot read a JSON rows file ({exc})") from None
        return lambda call: _json_rows(table, call)
    if config.kind == "python":
        module, _, name = (config.callable or "").partition(":")
        try:
            return getattr(import_module(module), name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigError(f"backend.callable: {config.callable!r} is not an importable module:function "
                              f"({exc})") from None
    if not config.url or not config.url.startswith(("http://", "https://")):
        raise ConfigError("backend: kind http needs url (http:// or https://)")
    return lambda call: _http_rows(config.url, call, config.timeout_s)


def _json_rows(table: Any, call: dict[str, Any]) -> Rows:
    rows = table.get(call["service"], []) if isinstance(table, dict) else []
    if isinstance(rows, dict):
        rows = rows.get(call["method"], [])
    return [r for r in rows if all(str(r.get(k, v)).lower() == str(v).lower() for k, v in call["parameters"].items())]


def _http_rows(url: str, call: dict[str, Any], timeout_s: float) -> Rows:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, json.dumps(call).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 (configured URL)
            return json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise BackendError(f"the service answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise BackendError(f"the service did not answer ({getattr(exc, 'reason', exc)})") from None
    except ValueError:
        raise BackendError("the service's answer is not JSON") from None


async def fetch_rows(backend: Callable[[dict[str, Any]], Rows], call: dict[str, Any], config: BackendConfig) -> Rows:
    """The rows of one call, run off the event loop under the timeout; every failure a BackendError."""
    try:
        rows = await asyncio.wait_for(asyncio.to_thread(backend, call), config.timeout_s)
    except TimeoutError:
        raise BackendError(f"the service did not answer within {config.timeout_s:g} s") from None
    except BackendError:
        raise
    except Exception as exc:  # a user's backend may raise anything; the assistant must still answer
        raise BackendError(f"the service failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BackendError("the service's answer is not a list of rows ({slot: value} objects)")
    return [{str(k): str(v) for k, v in r.items()} for r in rows[:config.max_rows]]


def unavailable_reply(service: str) -> str:
    return f"Sorry, I couldn't reach the {service or 'booking'} service just now. Please try again in a moment."
