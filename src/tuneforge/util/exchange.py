"""``exchange(a, b)``: swap two paths in one step (Linux renameat2 RENAME_EXCHANGE), so neither is ever missing.

Promoting a directory with two renames (old away, new in) leaves a moment, or after a crash for good, with no
directory at the name at all. Where the kernel or file system cannot exchange, the two renames are the
fallback (b first moved aside, so a failure never loses either).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):  # not glibc 2.28+, or not Linux
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return call


def exchange(a: str | Path, b: str | Path) -> None:
    """Afterwards ``a`` holds what ``b`` held and the other way round; both must exist."""
    call = _renameat2()
    if call is not None:
        if call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return
        if ctypes.get_errno() not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: no exchange here; else a real error
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(a))
    aside = Path(b).with_name(Path(b).name + ".exchange")
    os.replace(b, aside)
    os.replace(a, b)
    os.replace(aside, a)
