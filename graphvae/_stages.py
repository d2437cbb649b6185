"""Stage labels for ``torch.profiler`` that cost nothing while no profiler runs.

``record_function`` costs several microseconds per use even without a profiler; the trainer, the ELBO
and the link likelihood label about ten stages per step, so :func:`stage` only creates the label
while a profiler is active (``benchmarks/_profile.py``).
"""
from __future__ import annotations

from contextlib import nullcontext

import torch
from torch.profiler import record_function

_OFF = nullcontext()


def stage(name: str):
    """``record_function(name)`` while a torch profiler is active, else a no-op context manager."""
    return record_function(name) if torch.autograd.profiler._is_profiler_enabled else _OFF
