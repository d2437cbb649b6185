"""Helpers shared by the subcommands: argument types, JSON output and summary statistics."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any

import numpy as np

from .._validation import atomic_write


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def mean_std(values) -> dict[str, float]:
    """``{"mean", "std"}`` of a list (population std, 0 for one value)."""
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std())}


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2) + "\n"
    atomic_write(path, lambda tmp: open(tmp, "w").write(text))


#: below this many nodes per training step, one torch thread is as fast as two and is not slowed down by
#: a busy machine (two threads that wait for each other on a shared CPU can be 10x slower)
SMALL_GRAPH_NODES = 200_000


def set_threads(requested: int | None, nodes_per_step: int) -> int:
    """Set torch's thread count for this CLI process: ``requested``, else 1 for small graphs, else torch's default.

    Only the CLI entry points call this (it changes process-wide state); library calls never do.
    """
    import torch

    if requested is None and nodes_per_step <= SMALL_GRAPH_NODES:
        requested = 1
    if requested is not None:
        torch.set_num_threads(requested)
    return torch.get_num_threads()
