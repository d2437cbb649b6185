"""Summaries over seeds: every table of graphvae reports mean ± std."""
from __future__ import annotations

from typing import Iterable


def mean_std(values: Iterable[float]) -> dict[str, float]:
    """``{"mean", "std"}`` of the values (population std, 0 for one value)."""
    import numpy as np

    a = np.asarray(list(values), dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std())}
