"""What a grounded reply stands on: the rows a service returned, the row being talked about, and the prompt
line that shows them to the reply model.

SGD's assistant offers a search's results one at a time, in the order the service returned them: the first
offer after a search is row 0, each later offer the next row, and details asked about ("what's their phone
number?") come from the row offered last. ``offered_row`` follows that.
"""

from __future__ import annotations

from typing import Any

from tuneforge.assistant.formats import flat

MAX_ROWS_SHOWN = 3  # rows a prompt shows: the one talked about and the next ones (SGD offers one at a time)
OFFERING_ACTS = ("OFFER",)


def latest_results(turns: list[dict[str, Any]], upto: int, service: str) -> tuple[list[dict[str, str]], int | None]:
    """The rows of the service's latest call at or before turn ``upto`` (a system turn), and that turn's index."""
    for j in range(upto, -1, -1):
        for frame in turns[j].get("frames", ()):
            if turns[j]["speaker"] == "system" and frame.get("service") == service and "service_results" in frame:
                return list(frame["service_results"]), j
    return [], None


def offered_row(turns: list[dict[str, Any]], upto: int, service: str, offers_now: bool) -> int:
    """The index of the row turn ``upto`` talks about: offers since the rows came back, counted."""
    _, since = latest_results(turns, upto, service)
    if since is None:
        return 0
    earlier = sum(1 for t in turns[since:upto] if t["speaker"] == "system" and any(
        f.get("service") == service and any(a["act"] in OFFERING_ACTS for a in f.get("acts", ()))
        for f in t.get("frames", ())))
    return earlier if offers_now else max(earlier - 1, 0)


def rows_text(rows: list[dict[str, str]], first: int = 0) -> str:
    """``Results: 2 found. #1 name=Sino; phone=… | #2 …`` from row ``first`` on (``Results: none`` without rows)."""
    if not rows:
        return "Results: none"
    shown = rows[first:first + MAX_ROWS_SHOWN]
    body = " | ".join(f"#{first + n + 1} " + "; ".join(f"{flat(k)}={flat(str(v))}" for k, v in row.items())
                      for n, row in enumerate(shown))
    return f"Results: {len(rows)} found. {body}"
