"""What a long command says on stderr, and the memory it has used: anything may import these."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(f"tuneforge: {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
