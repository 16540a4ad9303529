"""Host-header check: a request whose ``Host`` is not one of the server's names gets a JSON 400.

A server on 127.0.0.1 without --api-key trusts whoever can reach it; a web page on another site can reach it
through DNS rebinding (its own name, resolved to 127.0.0.1), and then load and unload models. The browser still
sends that page's name as Host, so answering only to the names the server was bound under stops it.
"""

from __future__ import annotations

from typing import Any

from tuneforge.serve.openai_errors import error_body

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def default_hosts(bind: str) -> list[str]:
    """The names a server bound to ``bind`` answers to: the loopback names for a loopback address, the address
    itself otherwise; every interface (0.0.0.0, ::) cannot know its names: any (use --allowed-host)."""
    if bind in ("0.0.0.0", "::", ""):
        return ["*"]
    if bind in LOOPBACK:
        return list(LOOPBACK)
    return [bind]


def host_name(header: bytes) -> str:
    """The name of a Host header: the port and an IPv6 address's brackets dropped, lower case."""
    text = header.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


class HostCheck:
    def __init__(self, app: Any, hosts: list[str]) -> None:
        self.app = app
        self.hosts = {h.lower().strip("[]") for h in hosts}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "*" in self.hosts:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"host", b"")
        if host_name(header) in self.hosts:
            await self.app(scope, receive, send)
            return
        body = error_body(scope, 400, "unknown Host header; this server answers to "
                                      f"{', '.join(sorted(self.hosts))} (start it with --allowed-host NAME)")
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
