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

import gc
import os
import sys
from contextlib import contextmanager

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: glibc's ceiling for its own, dynamic ``M_MMAP_THRESHOLD`` on 64-bit systems (``DEFAULT_MMAP_THRESHOLD_MAX``, 32 MiB);
#: ``mallopt`` accepts larger values too (glibc 2.36 here took 1 GiB)
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


def retain_freed_memory(mmap_threshold: int = MAX_MMAP_THRESHOLD, trim_threshold: int = 1 << 30) -> bool:
    """Serve allocations below ``mmap_threshold`` bytes from the heap and keep up to ``trim_threshold`` bytes of
    freed heap memory for reuse (glibc ``mallopt``). Returns whether both settings were applied (``False``
    off Linux/glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) & bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))


#: the kernel's transparent-huge-page mode: ``always [madvise] never`` with the active one in brackets
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"


def use_huge_pages() -> bool:
    """Back PyTorch's CPU tensors of 2 MB and more with transparent huge pages (2 MB pages instead of 4 kB).

    A large graph's epoch allocates and frees arrays of tens of megabytes (one value per sampled pair, the
    layers' activations and their gradients); glibc maps each afresh, and the kernel faults it in one 4 kB
    page at a time. With huge pages it takes 512 times fewer faults, and the random reads of the embedding
    rows (the positives and sampled pairs of the link likelihood) miss the TLB less often. At a million
    nodes this halved the system time of a training run and took about a quarter off the epoch, with the
    same results (``docs/benchmarks.md``, eighth round).

    The switch is PyTorch's own (``THP_MEM_ALLOC_ENABLE``: its CPU allocator then aligns such tensors to
    2 MB and asks for huge pages with ``madvise``); PyTorch reads it once, at the process's first tensor
    allocation, so this must run before any tensor is made, and a value the user set is kept. Returns whether
    huge pages are now requested (``False`` off Linux or where the kernel's setting is ``never``).
    Process-wide: the command line and the benchmarks call it, the library never does.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open(THP_SETTING) as f:
            setting = f.read()
    except OSError:  # a kernel without transparent huge pages
        return False
    if "[always]" not in setting and "[madvise]" not in setting:
        return False
    return os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1") == "1"


#: whether :func:`pause_collection` paused the cyclic garbage collector and :func:`keep_imported_objects` has not resumed it
_paused = False


@contextmanager
def collection_paused():
    """Python's cyclic garbage collector paused inside the block, and as it was after it: for code that builds
    millions of small lists and tuples that all stay alive (the rows of a large edge list), which each collection
    would walk again (reading a 5M-edge CSV: 26.5 s with the collector running, 18.9 s paused). A library function may
    use it: the process is left as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def pause_collection() -> None:
    """Pause Python's cyclic garbage collector while a command imports its libraries.

    ``import torch`` and scikit-learn create about 220k objects that live until the process exits; while they
    are made, every full collection walks all of them again. With the collector paused during these imports and
    the objects frozen after them (:func:`keep_imported_objects`), importing them and exiting took 2.9-3.8 s of
    CPU instead of 4.4-5.4 s on a busy 2-core machine (``docs/benchmarks.md``, sixth round).
    Process-wide: only the command line calls it.
    """
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def keep_imported_objects() -> None:
    """If :func:`pause_collection` paused the collector: move every object alive now into its permanent
    generation (``gc.freeze``) and resume it; otherwise do nothing.

    Later collections then skip the imported libraries' objects. Objects frozen here are never collected as
    garbage again (reference cycles among them stay in memory until the process ends), which is why only a
    process that keeps them to its end (the command line, before training) pauses and freezes.
    """
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def freeze_before_exit() -> None:
    """Freeze every object alive now (``gc.freeze``, collector resumed if paused) just before the process exits.

    Python collects garbage several times while it shuts down, each time walking every tracked object; with
    torch and scikit-learn loaded the interpreter's exit took 1.2-2.1 s on a busy 2-core machine, 0.3 s with the
    objects frozen. Nothing is lost: the process's memory goes back to the system when it ends, ``atexit``
    handlers still run, and open files are still flushed and closed. Only the command line's entry point calls it.
    """
    global _paused
    gc.freeze()
    if _paused:
        gc.enable()
        _paused = False


__all__ = ["retain_freed_memory", "MAX_MMAP_THRESHOLD", "use_huge_pages", "collection_paused", "pause_collection",
           "keep_imported_objects",
           "freeze_before_exit"]
