r"""Graph operators: the normalized adjacency and constant sparse matrices with cached transposes.

The GCN propagation matrix (Kipf & Welling, ICLR 2017) is

.. math::  \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}, \qquad \tilde D_{ii} = 1 + \sum_j A_{ij}.

It depends only on the graph, so it is built once and cached as a CSR tensor. With no edges
(``A = 0``) it is exactly the identity: :class:`SparseOperator` then skips the product, so a GCN
layer on an edgeless graph *is* a dense layer -- the image VAE of :mod:`graphvae.data.images`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from .._validation import InputError
from .._sparse import csr_matmul, csr_tensor, index_dtype, spmm, to_torch_csr  # noqa: F401 (re-exported)


class SparseOperator:
    """A constant sparse matrix ``M`` (no gradient flows into it) with ``M`` and ``M^T`` cached as CSR.

    ``op @ dense`` is differentiable in ``dense``; its backward is one CSR product with the cached
    transpose, instead of the scatter that autograd through a sparse COO product would do.
    ``M = None`` stands for the identity of size ``n``.
    """

    def __init__(self, matrix: sp.spmatrix | None, n: int | None = None, symmetric: bool = False,
                 dtype: torch.dtype = torch.float32):
        if matrix is None:
            if n is None:
                raise ValueError("an identity operator needs its size n")
            self.shape = (n, n)
            self.csr = self.csr_t = None
            return
        matrix = sp.csr_matrix(matrix)
        self.shape = matrix.shape
        self.csr = to_torch_csr(matrix, dtype)
        self.csr_t = self.csr if symmetric else to_torch_csr(matrix.T.tocsr(), dtype)

    @classmethod
    def from_csr(cls, csr: torch.Tensor, csr_t: torch.Tensor | None = None) -> "SparseOperator":
        """The operator of a torch CSR matrix (sorted column indices) and its transpose (``None``: symmetric)."""
        out = cls.__new__(cls)
        out.shape = tuple(csr.shape)
        out.csr, out.csr_t = csr, csr if csr_t is None else csr_t
        return out

    @property
    def is_identity(self) -> bool:
        return self.csr is None

    @property
    def nnz(self) -> int:
        return self.shape[0] if self.csr is None else int(self.csr.values().numel())

    def to_scipy(self) -> sp.csr_matrix:
        """The matrix as scipy CSR (the identity included)."""
        if self.csr is None:
            return sp.identity(self.shape[0], dtype=np.float32, format="csr")
        c = self.csr
        return sp.csr_matrix((c.values().numpy(), c.col_indices().numpy(), c.crow_indices().numpy()), shape=self.shape)

    def keep_entries(self, keep: torch.Tensor, divisor: float = 1.0) -> "SparseOperator":
        r"""The operator of the stored entries where ``keep`` (a mask in CSR order) holds, values over ``divisor``.

        The dropout of the encoder's sparse features: with ``keep`` drawn with probability :math:`1 - p` and
        ``divisor`` :math:`1 - p` the result equals ``values * keep / (1 - p)`` on the same pattern (the
        dropped entries stored as zeros) as a matrix, but its products skip the dropped entries, and its
        transpose, which the backward of ``op @ W`` multiplies by, is taken from the cached transpose by one
        gather (:meth:`transpose_order`) instead of a conversion and a sort each call.
        """
        if self.csr is None:
            raise ValueError("the identity operator has no stored entries to keep")
        values, order = self.csr.values(), self.transpose_order()
        kept_t = _kept_csr(self.csr_t, keep.index_select(0, order), values.index_select(0, order), divisor)
        return SparseOperator.from_csr(_kept_csr(self.csr, keep, values, divisor), kept_t)

    def transpose_order(self) -> torch.Tensor:
        """``order[e]``: the CSR position in ``M`` of the entry stored at position ``e`` of ``M^T`` (computed once)."""
        if getattr(self, "_transpose_order", None) is None:
            c = self.csr
            nnz = int(c.values().numel())
            ids = sp.csr_matrix((np.arange(nnz, dtype=np.int64), c.col_indices().cpu().numpy(),
                                 c.crow_indices().cpu().numpy()), shape=self.shape)
            t = ids.T.tocsr()
            t.sort_indices()  # the cached transpose's order (to_torch_csr sorts its column indices)
            self._transpose_order = torch.from_numpy(t.data).to(c.values().device)
        return self._transpose_order

    def __matmul__(self, dense: torch.Tensor) -> torch.Tensor:
        if self.csr is None:
            return dense
        if not isinstance(dense, torch.Tensor) or dense.dim() != 2 or dense.shape[0] != self.shape[1]:
            got = list(dense.shape) if isinstance(dense, torch.Tensor) else type(dense).__name__
            raise InputError(f"a sparse operator of shape {list(self.shape)} multiplies a 2-D tensor of "
                             f"{self.shape[1]} rows, got {got}")
        csr, csr_t = self.csr, self.csr_t
        if dense.dtype != csr.dtype:  # e.g. a float64 model: the operator's values in its dtype (cast once, cached)
            if not dense.is_floating_point():
                raise InputError(f"a sparse operator multiplies floating-point tensors, got {dense.dtype}")
            csr, csr_t = self._as_dtype(dense.dtype)
        return _ConstantSpMM.apply(dense, csr, csr_t)

    def _as_dtype(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """``(M, M^T)`` with values in ``dtype`` (cached per dtype)."""
        cache = self.__dict__.setdefault("_dtype_cache", {})
        if dtype not in cache:
            def cast(c):
                return csr_tensor(c.crow_indices(), c.col_indices(), c.values().to(dtype), tuple(c.shape))
            csr = cast(self.csr)
            cache[dtype] = (csr, csr if self.csr_t is self.csr else cast(self.csr_t))
        return cache[dtype]

    def to(self, device: torch.device | str) -> "SparseOperator":
        out = SparseOperator.__new__(SparseOperator)
        out.shape = self.shape
        out.csr = None if self.csr is None else self.csr.to(device)
        out.csr_t = None if self.csr_t is None else (out.csr if self.csr_t is self.csr else self.csr_t.to(device))
        return out


def _kept_csr(csr: torch.Tensor, keep: torch.Tensor, values: torch.Tensor, divisor: float) -> torch.Tensor:
    """The CSR matrix of ``csr``'s pattern restricted to the entries where ``keep`` holds, values ``values / divisor``
    (``keep`` and ``values`` aligned with ``csr``'s entries)."""
    kept = keep.nonzero().squeeze(1)
    return csr_tensor(kept_row_pointers(csr.crow_indices(), keep), csr.col_indices().index_select(0, kept),
                      values.index_select(0, kept) / divisor, tuple(csr.shape))


def kept_row_pointers(crow: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Row pointers (``crow``'s dtype) of the CSR pattern ``crow`` restricted to the entries where ``keep`` holds
    (a mask in CSR order): the number of kept entries before each row's first position."""
    before = torch.zeros(keep.numel() + 1, dtype=crow.dtype, device=crow.device)
    torch.cumsum(keep, 0, dtype=crow.dtype, out=before[1:])  # kept entries before each position
    return before.index_select(0, crow.long())


class _ConstantSpMM(torch.autograd.Function):
    """``M @ X`` for a constant CSR ``M``; the backward is ``M^T @ grad`` with the cached transpose."""

    @staticmethod
    def forward(ctx, dense, csr, csr_t):
        ctx.csr_t = csr_t
        return spmm(csr, dense)

    @staticmethod
    def backward(ctx, grad):
        return spmm(ctx.csr_t, grad.contiguous()), None, None


def check_num_nodes(num_nodes) -> int:
    """``num_nodes`` as a non-negative ``int``, or :class:`graphvae.InputError`."""
    if isinstance(num_nodes, (bool, np.bool_)) or not isinstance(num_nodes, (int, np.integer)) or num_nodes < 0:
        raise InputError(f"num_nodes must be a non-negative integer, got {num_nodes!r}")
    return int(num_nodes)


def check_edge_index(edge_index, num_nodes: int) -> np.ndarray:
    """``edge_index`` as an int64 array ``[2, E]`` of node ids in ``0 .. num_nodes - 1``, or :class:`graphvae.InputError`.

    An empty array is the empty edge list; a float array is accepted only with whole-number values.
    """
    num_nodes = check_num_nodes(num_nodes)
    if isinstance(edge_index, torch.Tensor):
        edge_index = edge_index.detach().cpu().numpy()
    ei = np.asarray(edge_index)
    if ei.size == 0:
        return np.zeros((2, 0), dtype=np.int64)
    if ei.ndim != 2 or ei.shape[0] != 2:
        hint = (" (a dense adjacency matrix? pass scipy.sparse.csr_matrix(a), or its edge list a.nonzero())"
                if ei.ndim == 2 and ei.shape[0] == ei.shape[1] else
                " (an edge list [E, 2]? pass its transpose)" if ei.ndim == 2 and ei.shape[1] == 2 else "")
        raise InputError(f"edge_index must have shape [2, E], got {list(ei.shape)}{hint}")
    if ei.dtype.kind not in "iu":
        if ei.dtype.kind != "f" or not np.all(np.isfinite(ei)) or np.any(ei != np.round(ei)):
            raise InputError(f"edge_index must hold integer node ids, got dtype {ei.dtype}")
    if ei.min() < 0 or ei.max() >= num_nodes:
        raise InputError(f"edge_index holds node ids from {ei.min():g} to {ei.max():g}: they must lie in "
                         f"0 .. {num_nodes - 1} (num_nodes={num_nodes})")
    return ei.astype(np.int64, copy=False)


def check_edge_weight(edge_weight, num_edges: int) -> np.ndarray:
    """``edge_weight`` as a float64 array of ``num_edges`` weights that the graph readers accept
    (:func:`graphvae.data.graph_files.check_weights`: finite, non-negative, in float32's range), or
    :class:`graphvae.InputError`."""
    from ..data.graph_files import check_weights

    if isinstance(edge_weight, torch.Tensor):
        edge_weight = edge_weight.detach().cpu().numpy()
    w = np.asarray(edge_weight)
    if w.dtype.kind not in "iuf" or w.ndim > 1 and w.size != w.shape[-1] or w.size != num_edges:
        raise InputError(f"edge_weight must be {num_edges} numbers, one per column of edge_index, got shape "
                         f"{list(w.shape)} of dtype {w.dtype}")
    return check_weights(w.ravel(), "edge_weight")


def check_adjacency(adjacency: sp.spmatrix, num_nodes: int) -> sp.csr_matrix:
    """A scipy adjacency as :func:`adjacency_matrix` gives it (``num_nodes`` square, symmetric, 0/1, no self-loops), or
    :class:`graphvae.InputError`."""
    num_nodes = check_num_nodes(num_nodes)
    if adjacency.shape != (num_nodes, num_nodes):
        raise InputError(f"the adjacency must be {num_nodes} x {num_nodes} (num_nodes), got {adjacency.shape}")
    a = sp.csr_matrix(adjacency)
    if np.any(a.data != 1) or a.diagonal().any() or (a != a.T).nnz:
        raise InputError("a scipy adjacency must be symmetric 0/1 without self-loops (adjacency_matrix's); for "
                         "weighted edges pass edge_index and edge_weight")
    return a


def adjacency_matrix(edge_index: torch.Tensor | np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """The symmetric 0/1 adjacency (no self-loops) of an edge list ``[2, E]`` given in either or both directions.

    Raises :class:`graphvae.InputError` unless ``edge_index`` has shape ``[2, E]`` with ids in ``0 .. num_nodes - 1``.
    """
    ei = check_edge_index(edge_index, num_nodes)
    keep = ei[0] != ei[1]
    row, col = ei[0, keep], ei[1, keep]
    both = (np.concatenate([row, col]), np.concatenate([col, row]))
    a = sp.csr_matrix((np.ones(2 * row.size, np.float32), both), shape=(num_nodes, num_nodes))  # sums duplicates
    a.data[:] = 1.0
    return a


def gcn_normalize(adjacency: sp.csr_matrix) -> sp.csr_matrix:
    r""":math:`\tilde D^{-1/2}(A+I)\tilde D^{-1/2}` of a symmetric 0/1 adjacency without self-loops."""
    a = (adjacency + sp.identity(adjacency.shape[0], dtype=np.float32, format="csr")).tocsr()
    d_inv_sqrt = (1.0 / np.sqrt(np.diff(a.indptr).astype(np.float64))).astype(np.float32)
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    a.data = d_inv_sqrt[rows] * d_inv_sqrt[a.indices]  # binary A + I: the degree is the row length
    return a


def normalized_adjacency_matrix(edge_index: torch.Tensor | np.ndarray, num_nodes: int) -> sp.csr_matrix:
    r"""The scipy CSR matrix :math:`\tilde D^{-1/2}(A+I)\tilde D^{-1/2}` (input self-loops are replaced by one)."""
    return gcn_normalize(adjacency_matrix(edge_index, num_nodes))


def weighted_gcn_normalize(edge_index: torch.Tensor | np.ndarray, edge_weight: torch.Tensor | np.ndarray,
                           num_nodes: int) -> sp.csr_matrix:
    r""":math:`\tilde D^{-1/2}(W + I)\tilde D^{-1/2}` with :math:`\tilde D_{ii} = 1 + \sum_j W_{ij}`.

    ``edge_index`` ``[2, E]`` lists the edges with their non-negative weights in ``edge_weight``: in both directions
    (as graphvae's graphs do), each with the same weight, or in one direction, which is then mirrored (two
    directions of different weights raise :class:`graphvae.InputError`: :math:`\hat A` must be symmetric). A
    self-loop of weight 1 is added to every node, as PyG's ``gcn_norm(edge_index, edge_weight, add_self_loops=True)``
    does, with one difference: a self-loop given in ``edge_index`` is dropped (its weight replaced by that 1), where
    PyG keeps a given self-loop's weight. Computed in float64, stored in float32.
    """
    ei = check_edge_index(edge_index, num_nodes)
    w = check_edge_weight(edge_weight, ei.shape[1])
    keep = ei[0] != ei[1]
    n = num_nodes
    a = sp.csr_matrix((w[keep], (ei[0, keep], ei[1, keep])), shape=(n, n))  # duplicates summed, as gcn_norm does
    a.eliminate_zeros()  # zero-weight edges are no edges
    # an edge listed in one direction only is mirrored (as the 0/1 path symmetrizes); the operator must be symmetric
    listed = a.copy()
    listed.data[:] = 1.0
    a = a + a.multiply(listed - listed.multiply(listed.T)).T
    if (abs(a - a.T) > 1e-6 * abs(a).max()).nnz:
        raise InputError("the edge weights of the two directions of an edge differ: Â must be symmetric (give each "
                         "edge once, or both directions with the same weight)")
    a = (a + sp.identity(n, dtype=np.float64, format="csr")).tocsr()
    d_inv_sqrt = 1.0 / np.sqrt(np.asarray(a.sum(axis=1)).ravel())
    a = sp.csr_matrix(sp.diags(d_inv_sqrt) @ a @ sp.diags(d_inv_sqrt), dtype=np.float32)
    a.eliminate_zeros()  # nor are weights that round to 0 in float32
    return a


def normalized_adjacency(edge_index: torch.Tensor | np.ndarray | sp.csr_matrix, num_nodes: int,
                         edge_weight: torch.Tensor | np.ndarray | None = None) -> SparseOperator:
    r"""The GCN operator :math:`\hat A` as a :class:`SparseOperator` (the identity when there are no edges).

    ``edge_index`` may also be the 0/1 adjacency from :func:`adjacency_matrix`, to build it only once.
    With ``edge_weight`` (aligned with an ``edge_index`` that lists both directions) the weights enter
    :math:`\hat A` (:func:`weighted_gcn_normalize`); without, the 0/1 path is unchanged.
    Bad input (``edge_index`` not ``[2, E]`` or with ids outside ``0 .. num_nodes - 1``, a dense adjacency, weights
    that are not one finite non-negative number per edge, a scipy adjacency that is not ``num_nodes`` square,
    symmetric and 0/1 without self-loops) raises :class:`graphvae.InputError`.
    """
    if edge_weight is not None and not sp.issparse(edge_index):
        a = weighted_gcn_normalize(edge_index, edge_weight, num_nodes)
        if a.nnz == num_nodes and np.all(a.diagonal() == 1):
            return SparseOperator(None, n=num_nodes)
        return SparseOperator(a, symmetric=True)
    if sp.issparse(edge_index) and edge_weight is not None:
        raise InputError("edge_weight goes with an edge_index [2, E], not with a scipy adjacency")
    a = check_adjacency(edge_index, num_nodes) if sp.issparse(edge_index) else adjacency_matrix(edge_index, num_nodes)
    if a.nnz == 0:
        return SparseOperator(None, n=num_nodes)
    return SparseOperator(gcn_normalize(a), symmetric=True)
