r"""The inner-product edge decoder of the VGAE: logits :math:`s_{ij} = z_i^\top z_j`, :math:`p(A_{ij}=1\mid Z) = \sigma(s_{ij})`.

Used by the link likelihood (training, over a :class:`PairPattern` of sampled pairs with a sparse
backward pass) and by the metrics (held-out pairs): a module of its own so that evaluation does not
depend on the loss.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .operator import csr_matmul, csr_tensor


@dataclass(frozen=True)
class PairPattern:
    """A set of ordered node pairs in CSR order (``crow``, ``col``) with the CSR of its transpose.

    Entry ``e`` of the transpose, ``(col_t[e]'s row, col_t[e])``, is entry ``transpose[e]`` of the
    pattern, so a gradient ``g`` on the pairs gives ``G^T`` as ``CSR(crow_t, col_t, g[transpose])``
    without any sorting. ``symmetric``: the pattern is its own transpose (``crow_t``/``col_t`` are
    ``crow``/``col``, as for the positives of :class:`graphvae.likelihood.LinkTarget`), so ``G + G^T`` is one
    CSR matrix on the pattern itself.
    """

    num_nodes: int
    crow: torch.Tensor
    col: torch.Tensor
    crow_t: torch.Tensor
    col_t: torch.Tensor
    transpose: torch.Tensor
    symmetric: bool = False

    def rows(self) -> torch.Tensor:
        """The row of every pair (int64)."""
        return torch.repeat_interleave(torch.arange(self.num_nodes, device=self.crow.device), self.crow.diff().long())



def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    return csr_tensor(crow, col, values, (n, n))


class _PairScores(torch.autograd.Function):
    r"""Scores :math:`s_e = z_{i_e}^\top z_{j_e}` of a :class:`PairPattern`, as one sampled dense-dense product.

    Backward: :math:`\partial L/\partial Z = G Z + G^\top Z` with :math:`G_{i_e j_e} = \partial L/\partial s_e`:
    two CSR products (the transpose from the pattern's precomputed permutation), no scatter. On a
    symmetric pattern (the positives) it is one product, :math:`(G + G^\top) Z` with the values
    :math:`g_e + g_{\text{transpose}(e)}` on the pattern itself: half the random reads of :math:`Z`.
    """

    @staticmethod
    def forward(ctx, z, crow, col, crow_t, col_t, transpose, symmetric=False):
        ctx.save_for_backward(z, crow, col, crow_t, col_t, transpose)
        ctx.symmetric = symmetric
        # written in place into the pattern's own values (out=: torch then copies neither the pattern's indices nor
        # its values into a new result; 10 fewer calls). With beta=0 the kernel computes dot + 0 * value, so the
        # values start finite: zeros.
        scores = _csr(crow, col, z.new_zeros(col.numel()), z.shape[0])
        return torch.sparse.sampled_addmm(scores, z, z.T, beta=0.0, out=scores).values()

    @staticmethod
    def backward(ctx, grad):
        z, crow, col, crow_t, col_t, transpose = ctx.saved_tensors
        grad_t = grad.index_select(0, transpose)  # grad[transpose]; index_select is several times faster than aten::index
        if ctx.symmetric:
            return csr_matmul(crow, col, grad_t.add_(grad), z), None, None, None, None, None, None
        return csr_matmul(crow, col, grad, z).add_(csr_matmul(crow_t, col_t, grad_t, z)), None, None, None, None, None, None


def pattern_scores(z: torch.Tensor, pairs: PairPattern) -> torch.Tensor:
    """Inner-product decoder logits for every pair of ``pairs``, in CSR order (differentiable in ``z``)."""
    return _PairScores.apply(z, pairs.crow, pairs.col, pairs.crow_t, pairs.col_t, pairs.transpose, pairs.symmetric)


def pair_scores(z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    r"""Inner-product decoder logits :math:`s_{ij} = z_i^\top z_j` for the pairs ``(row[e], col[e])``."""
    return (z[row] * z[col]).sum(-1)
