import platform
import resource

import pytest
import torch

from tuneforge.engine.allocator import retain_freed_memory

glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="the setting is glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    assert retain_freed_memory()
    faults = []
    for _ in range(12):  # a 64 MB block, like a step's embedding gradient, freed and allocated again
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = torch.empty(16_000_000).fill_(1.0)
        del block
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    # malloc settles after a few rounds; handed back to the OS, every round would fault in ~15,600 pages.
    assert max(faults[-3:]) < 1000, faults
