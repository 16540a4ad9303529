"""Every failure of the server answers ``{"error": "<one line>"}`` with a 4xx/5xx status; never a traceback."""

from __future__ import annotations


class ServeError(Exception):
    """A request the server refuses: the status to answer with and a one-line message for the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 kind: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = one_line(message)
        self.headers = headers or {}
        self.kind = kind or KINDS.get(status, "bad_request")  # the /metrics error kind: a 503 is not always overload


KINDS = {503: "overloaded", 504: "timeout", 500: "internal", 404: "not_found", 499: "client_gone"}


def one_line(message: str, limit: int = 500) -> str:
    """Clients log the error; a multi-line or huge message (an echoed 1 MB input) would flood their logs."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
