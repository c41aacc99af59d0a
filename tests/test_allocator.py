"""lab.exercises.cifar.allocator: memory that training frees stays with the process for reuse."""

import platform
import subprocess
import sys

import pytest

# Allocate 64 MB the way a training step does (big tensors, all freed at the
# end) and print the share of it the process still holds after freeing it.
FREE_AND_MEASURE = """
import os, sys, torch
from lab.exercises.cifar.allocator import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory()
resident = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
torch.ones(1000).sum()  # torch's own first-use memory is not what is measured
before = resident()
tensors = [torch.ones(2_000_000) for _ in range(8)]  # 8 MB each
full = resident()
del tensors
print((resident() - before) / (full - before))
"""


def share_kept_after_free(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", FREE_AND_MEASURE, mode], capture_output=True, text=True, check=True)
    return float(result.stdout.split()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_training_buffers_stay_with_the_process():
    assert share_kept_after_free("retain") > 0.9
    # glibc's defaults hand the memory back, so the next batch faults it in again
    assert share_kept_after_free("default") < 0.5
