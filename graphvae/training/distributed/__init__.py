r"""Data-parallel VGAE training over ``torch.distributed`` (gloo on CPU, NCCL on GPU), launched by ``torchrun``.

Each rank owns a contiguous range of nodes after a locality ordering (:mod:`.partition`): its rows of
:math:`\hat A`, their features and the positive pairs whose source it owns. GCN layers exchange only the
boundary rows they need (:mod:`.halo`), the link likelihood splits into per-rank sums plus a few
all-reduced global sums (:mod:`.likelihood`), and the shared ELBO and trainer run unchanged on every
rank with gradients all-reduced (:mod:`.fit`). See ``docs/scale_out.md`` for the design and numbers.

This package file is light on purpose: :func:`launched` only reads the environment, so the
single-process path never imports ``torch.distributed``.
"""
from __future__ import annotations

import os

#: the variables torchrun sets for every worker; ``WORLD_SIZE`` alone decides whether we run distributed
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(RuntimeError):
    """A failure of the distributed run itself (a lost peer, a timeout, no rendezvous): reported as one line."""


def launched() -> bool:
    """``True`` when this process was started by ``torchrun`` (or with its environment variables)."""
    return "WORLD_SIZE" in os.environ


def rank_from_env() -> int:
    """This process's rank from the launcher's environment (0 when not launched distributed)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0
