r"""Exchanging rows between ranks inside autograd: the halo of a GCN layer, all-gathered embeddings, global sums.

Every function here is a :class:`torch.autograd.Function` whose backward is the adjoint exchange, so the
gradient of the *global* loss reaches the rank that owns each row:

- :class:`HaloExchange`: rank ``r`` receives the rows ``H_j`` of its boundary nodes ``j`` from their owners;
  backward sends :math:`\partial L/\partial H_j` back and the owner adds it to its own rows' gradient.
- :class:`AllGatherRows`: every rank receives every rank's rows (the embeddings the sampled partners need);
  backward: the owner sums the gradients all ranks computed for its rows (one ``reduce`` per rank).
- :class:`AllReduceSum`: forward and backward are both sums over ranks.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ...nn.operator import SparseOperator
from . import runtime


class HaloPlan:
    """Who sends which rows to whom, for one fixed set of needed remote rows (built once per graph).

    ``send_index``: our local rows to send, grouped by destination rank; ``send_counts``/``recv_counts``:
    rows per rank each way. Received rows arrive grouped by source rank in increasing global label.
    """

    def __init__(self, needed: np.ndarray, bounds: np.ndarray):
        ctx = runtime.context()
        needed = np.asarray(needed, dtype=np.int64)
        owner = np.searchsorted(bounds, needed, side="right") - 1
        self.recv_counts = np.bincount(owner, minlength=ctx.world_size).tolist()
        self.send_counts = runtime.exchange_counts(self.recv_counts)
        requested = torch.empty(sum(self.send_counts), dtype=torch.int64)
        runtime.all_to_all(requested, torch.from_numpy(needed), self.send_counts, self.recv_counts, "setup")
        self.send_index = requested - int(bounds[ctx.rank])
        self.num_halo = int(needed.size)


class HaloExchange(torch.autograd.Function):
    """``halo = HaloExchange.apply(h_local, plan)``: the boundary rows this rank needs, ``[plan.num_halo, d]``."""

    @staticmethod
    def forward(ctx, h, plan: HaloPlan):
        ctx.plan, ctx.num_rows = plan, h.shape[0]
        out = h.new_empty((plan.num_halo, *h.shape[1:]))
        return runtime.all_to_all(out, h[plan.send_index], plan.recv_counts, plan.send_counts, "halo")

    @staticmethod
    def backward(ctx, grad):
        plan = ctx.plan
        back = grad.new_empty((plan.send_index.numel(), *grad.shape[1:]))
        runtime.all_to_all(back, grad.contiguous(), plan.send_counts, plan.recv_counts, "halo")
        grad_h = grad.new_zeros((ctx.num_rows, *grad.shape[1:]))
        return grad_h.index_add_(0, plan.send_index, back), None


class ShardOperator:
    r"""This rank's rows of :math:`\hat A` as an operator on row-partitioned matrices: ``op @ H_local``.

    ``op @ H`` receives the halo rows, then multiplies the local CSR block ``[n_r, n_r + halo]`` by
    ``[H_local; H_halo]`` -- the rows ``lo..hi`` of :math:`\hat A H`. It stands in for
    :class:`graphvae.nn.operator.SparseOperator` inside the unchanged :class:`graphvae.nn.encoder.GCNLayer`.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, lo: int, hi: int,
                 bounds: np.ndarray):
        n_local = hi - lo
        indices = np.asarray(indices, dtype=np.int64)
        own = (indices >= lo) & (indices < hi)
        needed = np.unique(indices[~own])
        local_col = np.where(own, indices - lo, n_local + np.searchsorted(needed, indices))
        block = sp.csr_matrix((data, local_col, indptr), shape=(n_local, n_local + needed.size))
        self.local = SparseOperator(block)
        self.plan = HaloPlan(needed, bounds)
        self.shape = (n_local, n_local + needed.size)
        self.nnz = int(block.nnz)

    is_identity = False

    def __matmul__(self, h: torch.Tensor) -> torch.Tensor:
        return self.local @ torch.cat([h, HaloExchange.apply(h, self.plan)])


class AllGatherRows(torch.autograd.Function):
    """``AllGatherRows.apply(h_local, bounds)``: the rows of all ranks, ``[N, d]`` in partition order.

    Forward: rank ``j`` broadcasts its rows straight into their place in the output (one broadcast per
    rank, no send buffer). Backward: the gradients of rank ``j``'s rows are summed onto rank ``j``
    (one reduce per rank, in place), so the owner gets what all ranks computed for its rows.
    """

    @staticmethod
    def forward(ctx, h, bounds: np.ndarray):
        c = runtime.context()
        ctx.bounds = bounds = [int(b) for b in bounds]
        out = h.new_empty((bounds[-1], *h.shape[1:]))
        out[bounds[c.rank]:bounds[c.rank + 1]] = h
        for j in range(c.world_size):
            runtime.broadcast_(out[bounds[j]:bounds[j + 1]], j, "gather")
        return out

    @staticmethod
    def backward(ctx, grad):
        c, bounds = runtime.context(), ctx.bounds
        # in place on autograd's buffer for the gathered rows: only this node reads it (no N x d copy)
        grad = grad.contiguous()
        for j in range(c.world_size):
            runtime.reduce_(grad[bounds[j]:bounds[j + 1]], j, "gather")
        return grad[bounds[c.rank]:bounds[c.rank + 1]].clone(), None


class AllReduceSum(torch.autograd.Function):
    """``AllReduceSum.apply(t)``: the sum of ``t`` over ranks (differentiable: the gradient is summed too)."""

    @staticmethod
    def forward(ctx, t):
        return runtime.all_reduce_(t.clone(), "global sums")

    @staticmethod
    def backward(ctx, grad):
        return runtime.all_reduce_(grad.clone(), "global sums")
