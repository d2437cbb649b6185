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
