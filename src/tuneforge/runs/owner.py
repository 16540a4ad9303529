"""Which process owns a running run, so ``tuneforge runs`` can tell a run still training from one whose process
was killed (SIGKILL, out of memory, a lost machine) and never wrote its end.

run.json keeps the owner's pid, host and the process's start time (Linux: /proc/PID/stat's start tick, which
tells a pid reused by a later process apart). A run whose owner ran on another host is taken as running: this
machine cannot see that process.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def owner() -> dict[str, Any]:
    """This process, as run.json records its owner."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_started": _start_tick(os.getpid())}


def owner_gone(info: dict[str, Any]) -> bool:
    """True when run.json's owner ran on this host and that process no longer exists (or its pid is reused)."""
    record = info.get("owner")
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return False  # a run from before owners were recorded: nothing to tell by
    if record.get("host") != socket.gethostname():
        return False
    pid = record["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process of that pid: it exists
    started = record.get("pid_started")
    return started is not None and _start_tick(pid) not in (None, started)


def _start_tick(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (Linux), None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: the fields after its last ")" are plain
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[19])  # field 22 of the whole line
