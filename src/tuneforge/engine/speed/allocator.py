"""Keep freed memory in the process instead of handing it back to the OS after every step.

glibc serves big blocks (a 47 MB embedding gradient, 6 MB activations) with mmap and returns them
with munmap, and trims the heap whenever its top is free. A training step frees and re-allocates
the same sizes every time, so each step page-faults its memory in again: about 16,000 faults per
MiniLM step at batch 32, each a kernel entry plus a page zeroed. Turning mmap off and raising the
trim threshold lets malloc reuse the blocks. Memory is not returned until the process ends, and peak RSS
can be a little higher (1464 vs 1358 MiB for MiniLM at batch 32, docs/benchmarks.md).
A no-op off glibc (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4  # from glibc's malloc.h
RETURNED_BLOCK = 1 << 20  # with retain_memory off, blocks of 1 MiB and more go back to the OS when freed


@functools.cache
def retain_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse; True when it took effect."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_TRIM_THRESHOLD, 2**30) and libc.mallopt(M_MMAP_MAX, 0))
    except (OSError, AttributeError):
        return False


@functools.cache
def return_freed_memory() -> bool:
    """Fix malloc's mmap threshold at 1 MiB, so every large block is returned when freed; True when it took effect.

    glibc raises the threshold (up to 32 MiB) each time a mapped block is freed, after which tensors of
    varying size (batches whose lengths differ: retrieval's queries and passages, dialogue-state inputs) are
    carved from the heap and fragment it: a bi-encoder's RSS grew by ~50 MB a step to 9 GB and was killed,
    where a fixed threshold held it under 1 GB (docs/benchmarks.md).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, RETURNED_BLOCK))
    except (OSError, AttributeError):
        return False
