"""Request texts as a server may log them: every string of an item with its personal data replaced by
placeholders (``privacy.redaction``), so turning request logging on never writes a customer's data to a log."""

from __future__ import annotations

import json
from typing import Any

from tuneforge.privacy.redaction import Numbering, redact_text


def redacted_item(value: Any, analyzer: Any, numbering: Numbering | None = None) -> Any:
    """``value`` (a string, or lists and mappings of them) with every string redacted; one numbering per item, so
    the same person keeps their number across its fields."""
    numbering = numbering or Numbering()
    if isinstance(value, str):
        return redact_text(value, analyzer.analyze(value), numbering)
    if isinstance(value, dict):
        return {k: redacted_item(v, analyzer, numbering) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted_item(v, analyzer, numbering) for v in value]
    return value


def log_line(what: str, items: list[Any], analyzer: Any) -> str:
    """One log line: what was asked, and the redacted inputs as JSON (control characters escaped: one line)."""
    return f"{what}: " + json.dumps([redacted_item(item, analyzer) for item in items], ensure_ascii=True)
