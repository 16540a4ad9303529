"""metrics.jsonl: one JSON object per logged step or evaluation, appended as training goes (and forwarded
to the trackers of training.report_to, see trackers.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tuneforge.engine.tracking import Tracker, open_trackers
from tuneforge.errors import RunError
from tuneforge.util.atomic import write_text


class MetricsLog:
    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path, self.enabled = path, enabled
        self.trackers: list[Tracker] = []

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        for tracker in self.trackers:
            tracker.write(record)

    @contextmanager
    def tracking(self, names: list[str], run_dir: Path, resumed_at: int | None) -> Iterator[None]:
        """While the block runs, every record also goes to the trackers of ``names`` (on the process that
        writes the log: the main one); they are closed however the block ends, marked failed if it raised."""
        self.trackers = open_trackers(names, run_dir, resumed_at) if self.enabled else []
        failed = True
        try:
            yield
            failed = False
        finally:
            trackers, self.trackers = self.trackers, []
            for tracker in trackers:
                tracker.close(failed)

    def truncate_after(self, step: int) -> None:
        """On resume, drop what was logged after the checkpoint: those steps will run again."""
        if not (self.enabled and self.path.is_file()):
            return
        kept = [record for record in read_metrics(self.path) if record.get("step", 0) <= step]
        write_text(self.path, "".join(json.dumps(record) + "\n" for record in kept))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl. A torn last line (no newline: the process was killed mid-write) is left
    out; a bad line before it is a one-line error naming it."""
    if not path.is_file():
        return []
    *lines, tail = path.read_bytes().split(b"\n")
    records = []
    for number, line in enumerate([*lines, tail], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if number > len(lines):
                break  # the torn write of a killed run
            raise RunError(f"{path}:{number}: damaged ({str(exc).splitlines()[0][:200]})") from None
        records.append(record)
    return records
