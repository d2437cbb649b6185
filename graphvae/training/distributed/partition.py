r"""Node partitions: a locality ordering, contiguous ranges of it per rank, and what one rank holds (a :class:`Shard`).

The nodes are relabelled by reverse Cuthill-McKee (:func:`scipy.sparse.csgraph.reverse_cuthill_mckee`),
which places neighbours at nearby positions (it minimizes the bandwidth of :math:`A`), and rank
:math:`r` owns the new labels :math:`[\lfloor rN/P\rfloor, \lfloor (r+1)N/P\rfloor)`. Its *boundary*
(halo) is the set of other ranks' nodes adjacent to its own: exactly the rows a GCN layer must receive.

Sampling still works in the original labels (so that a seeded distributed run draws the same pairs as
the single process); ``new_of_orig`` maps them to the partition's labels.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..._validation import InputError
from ...nn.operator import gcn_normalize


def locality_order(adjacency: sp.csr_matrix, method: str = "rcm", seed: int = 0) -> np.ndarray:
    """``order[new] = original``: ``"rcm"`` (reverse Cuthill-McKee), ``"natural"`` or ``"random"`` (for comparison)."""
    n = adjacency.shape[0]
    if method == "natural":
        return np.arange(n, dtype=np.int64)
    if method == "random":
        return np.random.default_rng(seed).permutation(n).astype(np.int64)
    if method == "rcm":
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        return reverse_cuthill_mckee(sp.csr_matrix(adjacency), symmetric_mode=True).astype(np.int64)
    raise ValueError(f"unknown ordering {method!r}")


def balanced_bounds(num_nodes: int, world_size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """``bounds[r] .. bounds[r + 1]``: the contiguous range of rank ``r``.

    Without ``weights`` the sizes differ by at most one; with ``weights`` (one per node, in range order)
    the ranges carry nearly equal total weight, every rank keeping at least one node.
    """
    if world_size > num_nodes:
        raise InputError(f"the world size ({world_size} ranks) is larger than the number of nodes ({num_nodes}): "
                         f"every rank must own at least one node")
    if weights is None:
        return (np.arange(world_size + 1, dtype=np.int64) * num_nodes) // world_size
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    targets = cum[-1] * np.arange(1, world_size) / world_size
    idx = np.searchsorted(cum, targets, side="left")                   # cum[idx] >= target
    before = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0.0)
    inner = np.where(cum[idx] - targets < targets - before, idx + 1, idx)  # the nearer cut
    ranks = np.arange(1, world_size)
    inner = np.clip(inner, ranks, num_nodes - world_size + ranks)       # at least one node each
    inner = np.maximum.accumulate(np.maximum(inner, ranks))
    for i in range(1, inner.size):                                      # strictly increasing
        inner[i] = max(inner[i], inner[i - 1] + 1)
    return np.concatenate([[0], inner, [num_nodes]]).astype(np.int64)


def work_per_node(adjacency: sp.csr_matrix) -> np.ndarray:
    """The pairs a node's row costs per step: its positives (degree + 1) and its ``k`` sampled partners.

    Ranges balanced on this carry equal shares of the likelihood and sparse products (equal node counts
    do not: reverse Cuthill-McKee puts the hubs at one end, and the DC-SBM's last half then holds 1.8x
    the edges of the first).
    """
    degree = np.diff(sp.csr_matrix(adjacency).indptr).astype(np.float64)
    n = degree.size
    k = max(2.0, np.ceil((degree.sum() + n) / n))
    return degree + 1.0 + k


def boundary_fraction(adjacency: sp.csr_matrix, order: np.ndarray, world_size: int) -> float:
    """Fraction of the nodes that some other rank needs (they have a neighbour owned elsewhere)."""
    n = adjacency.shape[0]
    new_of_orig = np.empty(n, dtype=np.int64)
    new_of_orig[order] = np.arange(n)
    bounds = balanced_bounds(n, world_size)
    a = sp.coo_matrix(adjacency)
    owner_row = np.searchsorted(bounds, new_of_orig[a.row], side="right") - 1
    owner_col = np.searchsorted(bounds, new_of_orig[a.col], side="right") - 1
    return float(np.unique(a.row[owner_row != owner_col]).size / n)


@dataclass
class Shard:
    """What rank ``rank`` of ``world_size`` holds: everything here is ``O(its rows + their edges)`` except
    ``new_of_orig`` (``N`` integers, the label map every rank needs to place sampled partners).

    ``adj_*``: its rows of :math:`\\hat A` in CSR, columns in the partition's (new) labels; the same
    pattern is its rows of :math:`A + I`, the positives it owns. ``keys``: those positives as sorted
    ``orig_row * N + orig_col``, for membership tests of sampled pairs. ``x``: its feature rows (dense
    ``[n_r, F]`` float32, or scipy CSR).
    """

    num_nodes: int
    rank: int
    world_size: int
    bounds: np.ndarray
    orig_ids: np.ndarray
    new_of_orig: np.ndarray
    adj_indptr: np.ndarray
    adj_indices: np.ndarray
    adj_data: np.ndarray
    keys: np.ndarray
    num_edges: int
    num_positive: int
    x: np.ndarray | sp.csr_matrix

    @property
    def lo(self) -> int:
        return int(self.bounds[self.rank])

    @property
    def hi(self) -> int:
        return int(self.bounds[self.rank + 1])

    @property
    def num_local(self) -> int:
        return self.hi - self.lo

    def drop_setup_arrays(self) -> None:
        """Free the rows of Â, the features and the positive keys once the operator, the encoder input and
        the likelihood target are built from them (the target keeps its own copy of the keys)."""
        self.adj_indptr = self.adj_indices = self.adj_data = self.x = self.keys = None

    def save(self, path: str | Path) -> None:
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "x"}
        if sp.issparse(self.x):
            x = sp.csr_matrix(self.x)
            arrays.update(x_indptr=x.indptr, x_indices=x.indices, x_data=x.data, x_shape=np.array(x.shape))
        else:
            arrays["x_dense"] = np.asarray(self.x)
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "Shard":
        with np.load(path) as z:
            if "x_dense" in z:
                x = z["x_dense"]
            else:
                x = sp.csr_matrix((z["x_data"], z["x_indices"], z["x_indptr"]), shape=tuple(z["x_shape"]))
            kw = {f.name: z[f.name] for f in fields(cls) if f.name != "x"}
        for name in ("num_nodes", "rank", "world_size", "num_edges", "num_positive"):
            kw[name] = int(kw[name])
        return cls(x=x, **kw)


def metis_order(adjacency: sp.csr_matrix, world_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, bounds)`` from METIS (``pymetis``, optional: ``pip install pymetis``): part ``r`` becomes
    the range ``bounds[r] .. bounds[r + 1]`` of the order (parts are balanced by METIS, not exactly equal)."""
    try:
        import pymetis
    except ImportError:
        raise InputError("partition 'metis' needs the optional package pymetis (pip install pymetis)") from None
    a = sp.csr_matrix(adjacency)
    _, membership = pymetis.part_graph(world_size, pymetis.CSRAdjacency(a.indptr, a.indices))
    membership = np.asarray(membership, dtype=np.int64)
    sizes = np.bincount(membership, minlength=world_size)
    if (sizes == 0).any():
        raise InputError(f"METIS left a rank without nodes ({world_size} parts of {a.shape[0]} nodes): use 'rcm'")
    return np.argsort(membership, kind="stable"), np.concatenate([[0], np.cumsum(sizes)])


class Partition:
    """A locality ordering of a graph cut into ``world_size`` contiguous ranges; :meth:`shard` gives one rank's part.

    ``method``: ``"rcm"`` (default), ``"metis"`` (optional ``pymetis``; a smaller boundary, see
    ``docs/scale_out.md``), or ``"natural"``/``"random"`` for comparison. Any partition gives the same
    estimate and gradients; it only changes how many rows the ranks exchange.
    """

    def __init__(self, adjacency: sp.csr_matrix, world_size: int, method: str = "rcm",
                 ahat: sp.csr_matrix | None = None):
        n = adjacency.shape[0]
        self.num_nodes, self.world_size = n, world_size
        balanced_bounds(n, world_size)  # too many ranks: an InputError before any work
        if method == "metis":
            self.order, self.bounds = metis_order(adjacency, world_size)
        else:
            self.order = locality_order(adjacency, method)
            self.bounds = balanced_bounds(n, world_size, work_per_node(adjacency)[self.order])
        self.new_of_orig = np.empty(n, dtype=np.int64)
        self.new_of_orig[self.order] = np.arange(n)
        self.num_edges = int(adjacency.nnz)  # directed, off the diagonal (the positives add the N self-pairs)
        # the GCN operator (``ahat``: a weighted graph's, on the pattern of ``adjacency`` + I) and its rows per rank
        self.ahat = gcn_normalize(sp.csr_matrix(adjacency)) if ahat is None else sp.csr_matrix(ahat)

    def shard(self, rank: int, x) -> Shard:
        """Rank ``rank``'s rows; ``x`` the full features (numpy, scipy or a torch tensor, dense or sparse)."""
        n = self.num_nodes
        lo, hi = int(self.bounds[rank]), int(self.bounds[rank + 1])
        rows = self.order[lo:hi]
        sub = self.ahat[rows]
        orig_cols = sub.indices.astype(np.int64)
        local = sp.csr_matrix((sub.data, self.new_of_orig[orig_cols], sub.indptr), shape=(hi - lo, n))
        local.sort_indices()
        orig_row = np.repeat(rows, np.diff(sub.indptr))
        keys = np.sort(orig_row * n + orig_cols)
        return Shard(n, rank, self.world_size, self.bounds.copy(), rows.copy(), self.new_of_orig,
                     local.indptr.astype(np.int64), local.indices.astype(np.int64), local.data.astype(np.float32),
                     keys, self.num_edges, self.num_edges + n, _feature_rows(x, rows))


def _feature_rows(x, rows: np.ndarray):
    if sp.issparse(x):
        return sp.csr_matrix(x, dtype=np.float32)[rows]
    import torch

    if isinstance(x, torch.Tensor):
        if x.layout != torch.strided:
            from ...nn.encoder import _as_scipy

            return _as_scipy(x)[rows]
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32)[rows])
