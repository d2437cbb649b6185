"""Summaries over seeds: every table of graphvae reports mean ± std."""
from __future__ import annotations

from typing import Iterable


def mean_std(values: Iterable[float]) -> dict[str, float]:
    """``{"mean", "std"}`` of the values (population std, 0 for one value)."""
    import numpy as np

    from .._validation import InputError

    a = np.asarray(list(values), dtype=float)
    if a.size == 0:  # numpy gives NaN with RuntimeWarnings, and JSON would hold NaN
        raise InputError("mean ± std of no values: nothing to summarize")
    return {"mean": float(a.mean()), "std": float(a.std())}
