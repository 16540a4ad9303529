"""uvicorn's HTTP/1.1 protocol with two changes: a deadline for a request's headers, and JSON for malformed HTTP.

uvicorn waits for a request's headers as long as the client likes (a connection that sends one byte a minute is
held for ever: 500 such connections exhaust the server), and answers a request it cannot parse with a plain
text 400. Here a connection whose headers are not complete ``read_timeout_s`` after it opened (or after its
previous response) is closed, and a malformed request gets ``{"error": ...}`` like every other error.
"""

from __future__ import annotations

import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def protocol_class(read_timeout_s: float) -> type[H11Protocol]:
    """The protocol class to give ``uvicorn.run(http=...)``."""
    return type("TuneforgeH11Protocol", (_JsonH11Protocol,), {"read_timeout_s": read_timeout_s})


class _JsonH11Protocol(H11Protocol):
    read_timeout_s: float = 10.0
    _header_timer: Any = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in (the body is the app's to time)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers have the same deadline (keep-alive idles are uvicorn's)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.read_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": f"malformed HTTP request ({msg.rstrip('.')})"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        try:
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                          h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # the connection is past the point of answering: close it
            pass
        self.transport.close()
