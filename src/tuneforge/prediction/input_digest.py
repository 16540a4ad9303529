"""What a partial ``predict --output`` file was predicted from: a running digest of its input items.

``--resume`` keeps the lines already predicted and predicts only the rest, so an input edited in between would
leave stale predictions for its first lines and still exit 0. Before each chunk is written, the sha256 of every
item so far (in order, as JSON) is appended to ``<partial>.inputs`` as ``COUNT HEX``; a resume recomputes it over
the current input's first COUNT items and refuses a different one. A chunk is written only after its record, so
every complete chunk on disk has one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tuneforge.errors import ConfigError


class InputDigest:
    def __init__(self, partial: Path) -> None:
        self.path = partial.with_name(partial.name + ".inputs")
        self._hash = hashlib.sha256()

    def recorded(self) -> dict[int, str] | None:
        """COUNT -> digest of the records on disk; None when there is no record file (a partial file written
        before digests were kept: nothing to compare with)."""
        if not self.path.is_file():
            return None
        records = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            count, _, digest = line.partition(" ")
            if count.isdigit() and len(digest) == 64:
                records[int(count)] = digest
        return records

    def add(self, items: Iterable[Any]) -> None:
        for item in items:
            self._hash.update(json.dumps(item, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")

    def check(self, items: Iterable[Any], count: int, input_name: str, partial: Path) -> None:
        """Resume after ``count`` kept lines: the current input's first ``count`` items (``items``) must be the
        ones predicted; the records are then cut to ``count`` (later ones belong to lines cut off)."""
        records = self.recorded()
        self.add(items)
        if count and records is not None and records.get(count) != self._hash.hexdigest():
            raise ConfigError(f"{input_name}: its first {count} item(s) changed since {partial} was written; delete "
                              f"{partial} (and {self.path.name}) to predict the whole input again")
        kept = [f"{n} {d}\n" for n, d in sorted((records or {}).items()) if n <= count]
        self._write("".join(kept), "w")

    def record(self, items: list[Any], count: int) -> None:
        """Before a chunk is written: the digest of every item up to and including it."""
        self.add(items)
        self._write(f"{count} {self._hash.hexdigest()}\n", "a")

    def _write(self, text: str, mode: str) -> None:
        with self.path.open(mode, encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
