"""Optional API key: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` on every request but health checks.

Pure ASGI (no body is read before the key is checked), compared in constant time so the key cannot be
guessed byte by byte from response times.
"""

from __future__ import annotations

import hmac
from typing import Any

from tuneforge.serve.openai_errors import error_body

OPEN_PATHS = {"/healthz", "/readyz"}  # probes of orchestrators carry no secrets


class ApiKeyAuth:
    def __init__(self, app: Any, api_key: str) -> None:
        self.app = app
        self.key = api_key.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        body = error_body(scope, 401, "missing or wrong API key (Authorization: Bearer KEY or X-API-Key: KEY)")
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, scope: dict) -> bool:
        """Either header with the key lets the request in: an empty or wrong X-API-Key (a proxy that adds an
        empty one) never hides a right Bearer token, and the other way round."""
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        given = [headers.get(b"x-api-key", b""), token.strip() if scheme.lower() == b"bearer" else b""]
        return any(hmac.compare_digest(key, self.key) for key in given if key)
