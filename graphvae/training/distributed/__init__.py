r"""Data-parallel VGAE training over ``torch.distributed`` (gloo on CPU, NCCL on GPU), launched by ``torchrun``.

Each rank owns a contiguous range of nodes after a locality ordering (:mod:`.partition`): its rows of
:math:`\hat A`, their features and the positive pairs whose source it owns. GCN layers exchange only the
boundary rows they need (:mod:`.halo`), the link likelihood splits into per-rank sums plus a few
all-reduced global sums (:mod:`.likelihood`), and the shared ELBO and trainer run unchanged on every
rank with gradients all-reduced (:mod:`.fit`). See ``docs/scale_out.md`` for the design and numbers.

This package file is light on purpose: :func:`launched` and :func:`timeout_from_env` only read the
environment, so the single-process path never imports ``torch.distributed``, and the command line checks
``GRAPHVAE_DIST_TIMEOUT`` before it loads any data.
"""
from __future__ import annotations

import os

#: seconds every collective and the rendezvous may take unless ``GRAPHVAE_DIST_TIMEOUT`` says otherwise
DEFAULT_TIMEOUT = 300.0

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


def timeout_from_env() -> float:
    """``GRAPHVAE_DIST_TIMEOUT`` in seconds (default :data:`DEFAULT_TIMEOUT`); :class:`graphvae.InputError` if it is
    not a positive number of at most 1e7."""
    from ..._validation import InputError

    text = os.environ.get("GRAPHVAE_DIST_TIMEOUT", str(DEFAULT_TIMEOUT))
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"GRAPHVAE_DIST_TIMEOUT must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 10**7:  # inf or 1e20 overflowed the process group's timedelta: a misleading rendezvous error
        raise InputError(f"GRAPHVAE_DIST_TIMEOUT must be a positive number of seconds of at most 1e7, got {text!r}")
    return value
