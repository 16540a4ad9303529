import ctypes
import platform

import pytest
import torch

from tuneforge.engine.speed.allocator import retain_freed_memory

glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="the setting is glibc's")
def test_big_blocks_come_from_the_reusable_heap_not_mmap():
    assert retain_freed_memory()
    libc = ctypes.CDLL("libc.so.6")
    libc.sbrk.restype = ctypes.c_void_p
    libc.sbrk.argtypes = [ctypes.c_long]
    # A 64 MB block, like a step's embedding gradient. glibc's default serves it with mmap (far above
    # the program break) and unmaps it on free, so every step would page-fault it in again; with the
    # setting it comes from the heap, below the break, where freed memory stays for reuse.
    block = torch.empty(16_000_000).fill_(1.0)
    assert block.data_ptr() < libc.sbrk(0)
