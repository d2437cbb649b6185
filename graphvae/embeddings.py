"""Export and import node embeddings: ``.npy`` (the array) or ``.csv`` (original node id, then the vector)."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ._validation import InputError, atomic_write, readable_file


def save_embeddings(path: str | os.PathLike, embeddings: np.ndarray, node_ids: Sequence) -> None:
    """Write embeddings atomically; the format follows the suffix (``.npy`` or ``.csv``)."""
    path = Path(path)
    if len(node_ids) != len(embeddings):
        raise InputError(f"{len(node_ids)} node ids for {len(embeddings)} embeddings")
    if path.suffix == ".npy":
        def write(tmp):
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(embeddings, dtype=np.float32))
        atomic_write(path, write)
    elif path.suffix == ".csv":
        def write(tmp):
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["node_id"] + [f"z{i}" for i in range(embeddings.shape[1])])
                for node, row in zip(node_ids, np.asarray(embeddings)):
                    w.writerow([node, *(repr(float(v)) for v in row)])
        atomic_write(path, write)
    else:
        raise InputError(f"embeddings file must end in .npy or .csv, got {path}")


def load_embeddings(path: str | os.PathLike) -> tuple[list[str] | None, np.ndarray]:
    """Read embeddings back: ``(node_ids, array)``; ``node_ids`` is ``None`` for ``.npy``."""
    path = readable_file(path, "embeddings file")
    if path.suffix == ".npy":
        return None, np.load(path)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float32)
