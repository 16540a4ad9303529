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


PROBE = """
import random, sys
import torch
from tuneforge.engine.speed.allocator import return_freed_memory
if sys.argv[1] == "fixed":
    assert return_freed_memory()
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20
random.seed(0)
start, keep = rss(), []
for step in range(300):  # blocks of varying size, a few alive at a time: a loop whose batch shapes vary
    keep.append(torch.empty(random.randint(1 << 18, 1 << 23), dtype=torch.uint8).fill_(1))
    if len(keep) > 8:
        keep.pop(random.randrange(len(keep)))
keep.clear()
print(rss() - start)
"""


@pytest.mark.skipif(not glibc, reason="the setting is glibc's")
def test_with_retain_memory_off_freed_blocks_of_varying_size_go_back_to_the_os(tmp_path):
    import subprocess
    import sys

    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    left = {mode: int(subprocess.run([sys.executable, str(probe), mode], capture_output=True, text=True,
                                     check=True).stdout) for mode in ("fixed", "dynamic")}
    # glibc's own threshold climbs as blocks are freed, then carves them from the heap, which fragments
    assert left["fixed"] <= 20 < left["dynamic"]
