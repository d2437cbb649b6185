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


def unit_fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def add_embedding_arguments(p: argparse.ArgumentParser, default_model: str, models: list[str]) -> None:
    """The embedding model of ``classify`` and ``cluster``: a named configuration plus overrides."""
    g = p.add_argument_group("embedding model")
    g.add_argument("--model", choices=models, default=default_model,
                   help=f"named configuration (default: {default_model}; see docs/embeddings.md)")
    g.add_argument("--epochs", type=positive_int, help="override the model's training epochs")
    g.add_argument("--hidden", type=positive_int, help="override the hidden GCN width")
    g.add_argument("--latent", type=positive_int, help="override the latent dimension")
    g.add_argument("--lr", type=positive_float, help="override the Adam learning rate")
    g.add_argument("--representation", choices=["latent", "hidden+latent"],
                   help="override what is embedded: mu, or the last hidden layer concatenated with mu")
    g.add_argument("--hops", type=int, help="override the propagation steps applied to the representation")
    g.add_argument("--seeds", type=positive_int, default=1, help="number of seeds 0..N-1 (default: 1)")
    g.add_argument("--json", metavar="PATH", help="write the results as JSON")
    g.add_argument("--plot", metavar="DIR", help="write PNG figures (first seed) into DIR")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def embedding_overrides(args: argparse.Namespace) -> dict:
    """The ``--epochs/--hidden/...`` overrides given on the command line (``None`` when not given)."""
    return {k: getattr(args, k) for k in ("epochs", "hidden", "latent", "lr", "representation", "hops")}


def check_writable_dir(path: str | None, what: str) -> None:
    """Raise InputError early (before training) if ``path`` cannot become a writable folder."""
    from pathlib import Path

    from .._validation import InputError

    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{what} {p} exists and is not a folder")
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{what} {p}: folder {probe} is not writable")
