"""Request limits, checked before anything is queued: body size, inputs per request, characters, item shapes.

A bad request is refused here with a one-line message naming the field (``inputs[3].text``), so it never
reaches a batch where it could fail other clients' requests, and oversized input never reaches memory twice.
"""

from __future__ import annotations

from typing import Any

from tuneforge.errors import TuneforgeError
from tuneforge.serve.errors import ServeError
from tuneforge.serve.openai_errors import error_body
from tuneforge.serve.settings import ServeSettings

BODY_METHODS = {"POST", "PUT", "PATCH"}


def check_inputs(inputs: list[Any], spec: Any, settings: ServeSettings) -> list[Any]:
    """The predict items of a request's ``inputs``, in the form ``Run.predict`` takes (as ``predict --input``).

    ``spec`` is the model's ``TaskSpec``: its ``input_fields`` (and ``optional_input_fields``) are the string
    fields one object must (may) have; a task with its own reader (``input_reader_path``: generation's
    prompt or messages) gets its objects as given, checked by the task itself.
    """
    if not inputs:
        raise ServeError(422, "inputs: empty; give at least one input")
    if len(inputs) > settings.max_items:
        raise ServeError(413, f"inputs: {len(inputs)} inputs; at most {settings.max_items} per request")
    items, total = [], 0
    for i, raw in enumerate(inputs):
        where = f"inputs[{i}]"
        chars = _check_strings(raw, where, depth=0)
        if chars > settings.max_chars:
            raise ServeError(413, f"{where}: {chars} characters; at most {settings.max_chars} per input")
        total += chars
        if total > settings.max_request_chars:
            raise ServeError(413, f"inputs: more than {settings.max_request_chars} characters in one request")
        items.append(_item(raw, spec, where))
    return items


def check_text(value: str, where: str, settings: ServeSettings) -> str:
    """One text field of a request (the assistant's message): not empty, valid Unicode, at most ``max_chars``."""
    chars = _check_strings(value, where, depth=0)
    if chars > settings.max_chars:
        raise ServeError(413, f"{where}: {chars} characters; at most {settings.max_chars}")
    if not value.strip():
        raise ServeError(422, f"{where}: empty")
    return value


def _item(raw: Any, spec: Any, where: str) -> Any:
    required, optional = tuple(spec.input_fields), tuple(spec.optional_input_fields)
    if spec.input_reader_path:  # not flat string fields (chat messages): the task checks its own items, here
        if not isinstance(raw, str | dict):  # before they are queued, as strictly as flat items
            raise ServeError(422, f"{where}: expected a string or an object")
        try:
            spec.check_input(raw, where)
        except TuneforgeError as exc:
            raise ServeError(422, str(exc)) from None
        return raw
    if isinstance(raw, str) and len(required) == 1:  # a bare text, as on the predict command line
        raw = {required[0]: raw}
    fields = " and ".join(repr(f) for f in required) + (
        f" (optional {', '.join(repr(f) for f in optional)})" if optional else "")
    if not isinstance(raw, dict):
        raise ServeError(422, f"{where}: expected an object with {fields}")
    unknown = [k for k in raw if k not in required and k not in optional]
    if unknown:
        raise ServeError(422, f"{where}: unknown field {unknown[0]!r}; expected {fields}")
    for name in required + optional:
        value = raw.get(name)
        if value is None and name in optional:
            continue
        if not isinstance(value, str):
            raise ServeError(422, f"{where}.{name}: {'missing' if value is None else 'expected a string'}")
        if not value.strip():
            raise ServeError(422, f"{where}.{name}: empty")
    if len(required) > 1:
        return {f: raw[f] for f in required}
    extra = [raw[f] for f in optional if raw.get(f) is not None]
    return (raw[required[0]], *extra) if extra else raw[required[0]]


def _check_strings(value: Any, where: str, depth: int) -> int:
    """Characters in all the strings of an item; refuses text a tokenizer cannot encode (lone surrogates)."""
    if depth > 4:  # items are flat objects or a list of messages; deeper is an attempt to exhaust the parser
        raise ServeError(422, f"{where}: nested too deeply")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ServeError(422, f"{where}: not valid Unicode text (a lone surrogate escape)") from None
        return len(value)
    if isinstance(value, dict):
        return sum(_check_strings(v, f"{where}.{k}", depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return sum(_check_strings(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
    return 0


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before the app sees it.

    The declared Content-Length is checked first; then the body is read (chunked uploads too) and counted
    as it arrives, so a client that lies about its length or sends none is cut off at the limit. The body
    is handed on to the app from memory (it is at most ``max_bytes``). A JSON body must be UTF-8 (RFC 8259).
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _refuse(scope, send, 413, f"request body over {self.max_bytes} bytes")
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(scope, send, 413, f"request body over {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False
        if _is_json(scope) and not _utf8(body):  # FastAPI would say only "error parsing the body"
            await _refuse(scope, send, 400, "request body is not valid JSON (UTF-8 encoded)")
            return

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server's receive does

        await self.app(scope, replay, send)


def _is_json(scope: dict) -> bool:
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"application/json"


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _refuse(scope: dict, send: Any, status: int, message: str) -> None:
    body = error_body(scope, status, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
