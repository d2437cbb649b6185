"""Sparse-tensor helpers shared by every layer: torch CSR tensors from index arrays or scipy matrices."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import scipy.sparse as sp
import torch


def index_dtype(nnz: int, size: int) -> type:
    """int32 CSR indices where they fit (sparse kernels skip a conversion per call), else int64."""
    return np.int32 if max(nnz, size) < 2**31 - 1 else np.int64


def csr_tensor(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``torch.sparse_csr_tensor`` without invariant checks (the callers build valid CSR).

    torch warns once per process that sparse CSR support is in beta; that one warning is silenced
    here on the first call only, so the per-epoch kernels never enter ``warnings.catch_warnings``.
    """
    global _CSR_WARNING_SEEN
    if not _CSR_WARNING_SEEN:
        _CSR_WARNING_SEEN = True
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(crow, col, values, size=size, check_invariants=False)
    return torch.sparse_csr_tensor(crow, col, values, size=size, check_invariants=False)


_CSR_WARNING_SEEN = False  # torch's own warning is once per process (TORCH_WARN_ONCE)


def to_torch_csr(matrix: sp.spmatrix | np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A scipy sparse (or dense numpy) matrix as a torch CSR tensor with sorted column indices."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    index = index_dtype(matrix.nnz, max(matrix.shape))
    return csr_tensor(torch.from_numpy(matrix.indptr.astype(index)), torch.from_numpy(matrix.indices.astype(index)),
                      torch.from_numpy(np.asarray(matrix.data)).to(dtype), matrix.shape)


def spmm(csr: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``csr @ dense`` for a torch CSR matrix (no autograd through ``csr``)."""
    return csr_matmul(csr.crow_indices(), csr.col_indices(), csr.values(), dense)


def csr_matmul(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``M @ dense`` for the CSR matrix ``M`` given by its row pointers, column indices and values; not
    differentiable (the autograd functions that call it give their own backward).

    On the CPU this is ``embedding_bag``: row ``i`` of the result is the sum of the rows ``dense[col[e]]`` weighted
    by ``values[e]`` over row ``i``'s entries, which is exactly a CSR row times ``dense``; PyTorch's
    ``embedding_bag`` kernel (FBGEMM) runs it about 2x faster than its sparse-CSR ``addmm`` (Cora's Â and
    features, 32 and 320 columns, and a 1M-node Â, one and two threads: ``docs/benchmarks.md``, seventh round).
    Elsewhere it is ``addmm`` with ``beta=0`` into a fresh buffer (neither zero-filled first nor copied after),
    unless torch's deterministic mode is on (``torch.use_deterministic_algorithms(True)``): cuSPARSE's CSR product
    may sum a row in a different order from one call to the next (measured on an H200: Cora's Â times a dense
    matrix differed in the last bits between calls), while ``embedding_bag``'s forward kernel sums each row in
    one fixed order; on a GPU it is faster on small graphs (Cora) and about 2x slower at a million nodes.
    """
    if dense.device.type == "cpu" or torch.are_deterministic_algorithms_enabled():
        if col.dtype != crow.dtype:
            col = col.to(crow.dtype)
        # detached: embedding_bag then takes its forward-only kernel (no bag bookkeeping kept for a backward)
        return torch.nn.functional.embedding_bag(col, dense.detach(), crow, mode="sum",
                                                 per_sample_weights=values.detach(), include_last_offset=True)
    out = dense.new_empty((crow.numel() - 1, dense.shape[1]))
    return torch.addmm(out, csr_tensor(crow, col, values, (crow.numel() - 1, dense.shape[0])), dense, beta=0.0,
                       out=out)


def deepcopy_through_pickle(obj, memo: dict):
    """``copy.deepcopy(obj)`` for an object that may hold torch sparse CSR tensors, which torch pickles but cannot
    deep-copy ("Cannot access storage of SparseCsrTensorImpl"): a pickle round trip, or, for an object that does not
    pickle (a lambda among its attributes), the standard deep copy of its state."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            clone = pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        clone = copy._reconstruct(obj, memo, *obj.__reduce_ex__(4))
    memo[id(obj)] = clone
    return clone
