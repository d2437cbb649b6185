"""Set operations on int64 keys (node pairs as ``u * N + v``) by sorting.

numpy's ``np.unique`` takes a hash-based path for integers that is ~100x slower than a sort on 10M
keys, and ``np.searchsorted`` with unsorted queries is ~15x slower than with sorted ones; these
helpers keep splitting and graph cleaning O(E log E) and fast at millions of edges.
"""
from __future__ import annotations

import numpy as np


def unique_sorted(keys: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``keys``."""
    s = np.sort(keys)
    return s[np.r_[True, s[1:] != s[:-1]]] if s.size else s


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(uniques, inverse)`` with ``uniques[inverse] == values`` (as ``np.unique(..., return_inverse=True)``).

    Integers within a range of at most 4x their count (node ids, mostly) are ranked through a table of that range,
    O(n) instead of a sort (10x faster on 4M ids)."""
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low < 4 * values.size:
            # in int64: a small dtype's difference could overflow (int8 from -100 to 100)
            offset = (values - np.uint64(low)).astype(np.int64) if values.dtype == np.uint64 else \
                values.astype(np.int64) - low
            present = np.zeros(high - low + 1, dtype=bool)
            present[offset] = True
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(values.dtype) + values.dtype.type(low), rank[offset]
    order = np.argsort(values, kind="stable")
    s = values[order]
    first = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, dtype=bool)
    inverse = np.empty(values.size, dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return s[first], inverse


def first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct key, in increasing order."""
    order = np.argsort(keys, kind="stable")
    s = keys[order]
    first = np.r_[True, s[1:] != s[:-1]] if s.size else np.zeros(0, dtype=bool)
    return np.sort(order[first])


def is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``keys`` occur in the sorted array ``sorted_keys``."""
    if sorted_keys.size == 0 or keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    order = np.argsort(keys)
    pos = np.searchsorted(sorted_keys, keys[order]).clip(max=sorted_keys.size - 1)
    out = np.empty(keys.shape, dtype=bool)
    out[order] = sorted_keys[pos] == keys[order]
    return out
