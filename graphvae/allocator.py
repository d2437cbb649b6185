"""Process-level tuning of glibc's ``malloc`` for training loops that allocate the same large tensors each step.

PyTorch's CPU tensors come from ``malloc``. glibc serves a large request with a fresh ``mmap`` (or grows the
heap) and hands it back to the kernel when it is freed (``munmap``, or trimming the top of the heap), so
a training step that allocates a few ``pairs x 128`` float tensors of ~10 MB each pays the kernel's page
faults and page zeroing for every one of them, every step. On MaskGAE's decoder (``graphvae linkpred
--model best``, Cora) that was about 30% of the CPU time of an epoch. :func:`retain_freed_memory` raises
glibc's ``M_MMAP_THRESHOLD`` (allocations below it come from the heap) and ``M_TRIM_THRESHOLD`` (free
memory at the top of the heap is kept up to this size), so freed blocks are reused by the next step.

It changes the allocator of the *whole process* (and keeps up to ``trim_threshold`` bytes of freed memory
resident), so the library never calls it on its own: the command line (which owns its process) and the
benchmarks do. It does nothing off glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: glibc's largest accepted ``M_MMAP_THRESHOLD`` on 64-bit systems (``DEFAULT_MMAP_THRESHOLD_MAX``)
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


def retain_freed_memory(mmap_threshold: int = MAX_MMAP_THRESHOLD, trim_threshold: int = 1 << 30) -> bool:
    """Serve allocations below ``mmap_threshold`` bytes from the heap and keep up to ``trim_threshold`` bytes of
    freed heap memory for reuse (glibc ``mallopt``). Returns whether both settings were applied (``False``
    off Linux/glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) & bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))


__all__ = ["retain_freed_memory", "MAX_MMAP_THRESHOLD"]
