r"""Likelihood terms :math:`\log p(\text{data} \mid z)` of the ELBO.

A likelihood is a module ``lik(z, target, generator) -> scalar`` returning the (estimated) total
log-likelihood, and ``lik.scale(target)``: the number of units the training loss averages over.
The graph case is :class:`LinkLikelihood`; the pixel likelihoods of the image VAE live in
:mod:`graphvae.pixel_likelihood` and plug into the same :class:`graphvae.elbo.ELBO`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from .operator import adjacency_matrix, index_dtype


class Likelihood(nn.Module):
    """Base class: ``forward(z, target, generator)`` gives log p(target | z) summed over the data."""

    def scale(self, target) -> float:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class PairPattern:
    """A set of ordered node pairs in CSR order (``crow``, ``col``) with the CSR of its transpose.

    Entry ``e`` of the transpose, ``(col_t[e]'s row, col_t[e])``, is entry ``transpose[e]`` of the
    pattern, so a gradient ``g`` on the pairs gives ``G^T`` as ``CSR(crow_t, col_t, g[transpose])``
    without any sorting.
    """

    num_nodes: int
    crow: torch.Tensor
    col: torch.Tensor
    crow_t: torch.Tensor
    col_t: torch.Tensor
    transpose: torch.Tensor

    def rows(self) -> torch.Tensor:
        """The row of every pair (int64)."""
        return torch.repeat_interleave(torch.arange(self.num_nodes, device=self.crow.device), self.crow.diff().long())


@dataclass(frozen=True)
class LinkTarget:
    """The observed (training) graph as the likelihood sees it, built once per graph.

    ``positives`` holds the positive ordered pairs: every training edge in both directions plus, if
    ``self_loops``, the diagonal (the paper's reconstruction target ``A + I``). ``keys = row * N + col``
    is sorted, for O(log E) membership tests of sampled pairs; ``key_filter`` is a hashed occupancy table
    of the keys (a one-hash Bloom filter, 4-8 slots per key) that rules out most non-positives in O(1).
    """

    num_nodes: int
    positives: PairPattern
    keys: torch.Tensor
    num_edges: int  # directed training edges: the positives off the diagonal
    key_filter: torch.Tensor

    @classmethod
    def from_edges(cls, edge_index: torch.Tensor | np.ndarray | sp.csr_matrix, num_nodes: int,
                   self_loops: bool = True) -> "LinkTarget":
        """Build from an edge list ``[2, E]`` or the 0/1 adjacency of :func:`graphvae.operator.adjacency_matrix`."""
        a = edge_index if sp.issparse(edge_index) else adjacency_matrix(edge_index, num_nodes)
        if self_loops:
            a = a + sp.identity(num_nodes, dtype=np.float32, format="csr")
        a = sp.csr_matrix(a)
        a.sort_indices()
        crow = torch.from_numpy(a.indptr.astype(np.int64))
        col = torch.from_numpy(a.indices.astype(np.int64))
        row = torch.repeat_interleave(torch.arange(num_nodes), crow.diff())
        # position of the pair (j, i) for each pair (i, j): the CSR entry order of the transpose
        order = sp.csr_matrix((np.arange(1, a.nnz + 1, dtype=np.int64), a.indices, a.indptr), shape=a.shape)
        transpose = torch.from_numpy(order.T.tocsr().data - 1)
        crow, col = _compact(crow, num_nodes), _compact(col, num_nodes)
        pattern = PairPattern(num_nodes, crow, col, crow, col, transpose)
        keys = row * num_nodes + col
        key_filter = torch.zeros(1 << max(4, int(np.ceil(np.log2(4 * max(keys.numel(), 1))))), dtype=torch.bool)
        key_filter[_hash(keys, key_filter.numel())] = True
        return cls(num_nodes, pattern, keys, int((row != col).sum()), key_filter)

    @property
    def num_positive(self) -> int:
        return int(self.keys.numel())

    @property
    def num_negative(self) -> int:
        return self.num_nodes ** 2 - self.num_positive

    def is_positive(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """Boolean mask: which ordered pairs ``(row, col)`` are positives.

        Pairs whose hash slot is empty are not positives; only the rest (the positives and ~1/4 of
        the others, fewer on sparse graphs) are looked up by binary search in the sorted keys.
        """
        keys = row * self.num_nodes + col
        candidate = self.key_filter[_hash(keys, self.key_filter.numel())]
        index = candidate.nonzero().squeeze(1)
        found = keys[index]
        pos = torch.searchsorted(self.keys, found).clamp(max=self.keys.numel() - 1)
        return candidate.index_put_((index,), self.keys[pos] == found)


_HASH_MULTIPLIER = 0x9E3779B97F4A7C15 - (1 << 64)  # Fibonacci hashing: 2^64 / golden ratio, as a signed int64


def _hash(keys: torch.Tensor, size: int) -> torch.Tensor:
    """Multiplicative hash of int64 ``keys`` into ``[0, size)`` (``size`` a power of two); the product wraps."""
    bits = size.bit_length() - 1
    return ((keys * _HASH_MULTIPLIER) >> (64 - bits)) & (size - 1)


class LinkLikelihood(Likelihood):
    r"""Bernoulli likelihood of the adjacency under the inner-product decoder :math:`p(A_{ij}=1)=\sigma(z_i^\top z_j)`.

    The reconstruction target is :math:`A + I` over all :math:`N^2` ordered pairs: :math:`\mathcal P` the
    positives (training edges both ways and the diagonal), :math:`\mathcal N` the other pairs. With
    ``reweight=True`` (the default) it is the objective of Kipf & Welling's reference implementation,
    which weights the rare positives by :math:`w = (N^2 - 2E)/2E` (:math:`2E` the directed training
    edges) and normalizes by :math:`c = N^2 / (2(N^2 - 2E))`:

    .. math:: \log p(A\mid Z) = c\Big(w\sum_{\mathcal P}\log\sigma(s_{ij}) + \sum_{\mathcal N}\log\sigma(-s_{ij})\Big),

    so that ``-log p / N^2`` is exactly their ``norm * mean(weighted_cross_entropy)``; ``reweight=False``
    gives the plain Bernoulli log-likelihood (:math:`w = c = 1`).
    The positive sum is exact (O(E)). The sum over the :math:`O(N^2)` non-edges is estimated without
    bias: every node :math:`i` gets ``k`` partners :math:`\pi_t(i)`, ``t < k``, each uniform over all
    :math:`N` nodes, pairs that are positives are masked out and the sum is weighted by :math:`N/k`,
    so its expectation is exactly the full sum. ``k = max(2, ceil(negatives_per_positive * |P| / N))``.

    **Control variate** (``control_variate=True``, the default). A few uniform partners per node give a
    noisy estimate of the global repulsion :math:`\sum_j \sigma(s_{ij}) z_j` that the non-edges exert on
    :math:`z_i`; on CiteSeer that noise alone costs about one AUC point. So the non-edge term
    :math:`f(s) = \log\sigma(-s)` is split into a quadratic :math:`g(s) = a + bs + cs^2` and the
    residual :math:`f - g`. The quadratic sums over all pairs in closed form,

    .. math:: \sum_{i,j} 1 = N^2,\qquad \sum_{i,j} s_{ij} = \lVert Z^\top \mathbf 1\rVert^2,\qquad
              \sum_{i,j} s_{ij}^2 = \lVert Z^\top Z\rVert_F^2,

    minus the same sums over the positives (O(Nd^2 + E)), and only the small residual is sampled.
    The coefficients of slot ``t`` are a least-squares fit of :math:`g'` to :math:`f' = -\sigma` (and of
    :math:`a` to the mean residual) on the sampled pairs of the *other* slots (their first 8192 rows),
    held constant. Given them, slot ``t``'s offset is still uniform and independent, so the estimate and
    its gradient stay exactly unbiased for any :math:`Z`; the fit only lowers the variance.

    The partners come from random permutations :math:`\pi_t(i) = p[(p^{-1}[i] + o_t) \bmod N]` (one
    random relabelling ``p`` per call, one uniform offset :math:`o_t` per slot), so the sampled pairs
    have exactly ``k`` entries in every row *and* every column: both the pair matrix and its transpose
    are CSR matrices built without a sort, and the decoder's backward pass is two sparse-dense products
    (:class:`_PairScores`). Memory and time are O(E + Nd^2); no :math:`N\times N` tensor is formed.
    """

    def __init__(self, negatives_per_positive: float = 1.0, reweight: bool = True, control_variate: bool = True):
        super().__init__()
        if not negatives_per_positive > 0:
            raise ValueError(f"negatives_per_positive must be positive, got {negatives_per_positive}")
        self.negatives_per_positive = negatives_per_positive
        self.reweight = reweight
        self.control_variate = control_variate

    def scale(self, target: LinkTarget) -> float:
        return float(target.num_nodes) ** 2

    def negatives_per_node(self, target: LinkTarget) -> int:
        return max(2, int(np.ceil(self.negatives_per_positive * target.num_positive / target.num_nodes)))

    def sample_pairs(self, target: LinkTarget, generator: torch.Generator | None = None) -> tuple[PairPattern, torch.Tensor]:
        """The sampled pairs (``k`` per row and per column) and the mask of those that are not positives."""
        n, k = target.num_nodes, self.negatives_per_node(target)
        device = target.keys.device
        p = torch.randperm(n, generator=generator, device=device)
        p_inv = torch.empty_like(p)
        p_inv[p] = torch.arange(n, device=device)
        offsets = torch.randint(n, (k,), generator=generator, device=device)
        forward, backward = p_inv[:, None] + offsets, p_inv[:, None] - offsets
        forward -= n * (forward >= n)                # (a + o) mod n without a division
        backward += n * (backward < 0)
        col = p[forward]                             # [n, k]: pi_t(i)
        col_t = p[backward]                          # [n, k]: pi_t^{-1}(j), the row of the pair (., j) in slot t
        crow = torch.arange(0, n * k + 1, k, device=device)
        transpose = (col_t * k + torch.arange(k, device=device)).ravel()
        rows = torch.arange(n, device=device).repeat_interleave(k)
        keep = ~target.is_positive(rows, col.ravel())
        crow = _compact(crow, n)
        pairs = PairPattern(n, crow, _compact(col.ravel(), n), crow, _compact(col_t.ravel(), n), transpose)
        return pairs, keep

    def forward(self, z: torch.Tensor, target: LinkTarget, generator: torch.Generator | None = None) -> torch.Tensor:
        pos_scores = pattern_scores(z, target.positives)
        pos = F.logsigmoid(pos_scores).sum()
        neg = self.negative_sum(z, pos_scores, target, generator)
        if not self.reweight:
            return pos + neg
        pairs_total, edges = float(target.num_nodes) ** 2, float(target.num_edges)
        weight, norm = (pairs_total - edges) / edges, pairs_total / (2 * (pairs_total - edges))
        return norm * (weight * pos + neg)

    def negative_sum(self, z: torch.Tensor, pos_scores: torch.Tensor, target: LinkTarget,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Unbiased estimate of :math:`\sum_{\mathcal N}\log\sigma(-s_{ij})` (``pos_scores``: the positives' logits)."""
        n = target.num_nodes
        pairs, keep = self.sample_pairs(target, generator)
        scores = pattern_scores(z, pairs)
        if self.control_variate:
            return _negative_sum_with_control_variate(z, pos_scores, scores, keep, target)
        return (F.logsigmoid(-scores) * keep).sum() * (n / (scores.numel() // n))


_FIT_ROWS = 8192  # the control variate's coefficients need a rough fit only: at most this many rows per slot


def _negative_sum_with_control_variate(z: torch.Tensor, pos_scores: torch.Tensor, scores: torch.Tensor,
                                       keep: torch.Tensor, target: LinkTarget) -> torch.Tensor:
    r"""Unbiased estimate of :math:`\sum_{\mathcal N}\log\sigma(-s_{ij})`: exact quadratic part plus sampled residual.

    ``scores``/``keep`` are in CSR order of :meth:`LinkLikelihood.sample_pairs`: row ``i``, slot ``t`` at
    ``i * k + t``. See :class:`LinkLikelihood` for the estimator.
    """
    n = target.num_nodes
    k = scores.numel() // n
    s, mask = scores.view(n, k), keep.view(n, k).to(scores.dtype)
    a, b, c = _leave_one_slot_out_fit(s.detach()[:_FIT_ROWS], mask[:_FIT_ROWS])  # [k] each, constants
    residual = _SampledResidual.apply(s, mask, a, b, c) * (n / k)
    column_sum = z.sum(0)
    count = float(n) ** 2 - pos_scores.numel()                                  # number of non-positive pairs
    sum_s = column_sum @ column_sum - pos_scores.sum()
    sum_s2 = (z.T @ z).square().sum() - pos_scores.square().sum()
    return a.mean() * count + b.mean() * sum_s + c.mean() * sum_s2 + residual


class _SampledResidual(torch.autograd.Function):
    """``sum(mask * (logsigmoid(-s) - a - b s - c s^2))`` over ``[n, k]`` scores, per-slot ``a, b, c`` held
    constant; one fused pass each way (the large-graph path touches every sampled pair only here)."""

    @staticmethod
    def forward(ctx, s, mask, a, b, c):
        ctx.save_for_backward(s, mask, b, c)
        quadratic = (c * s).add_(b).mul_(s).add_(a)
        return F.logsigmoid(-s).sub_(quadratic).mul_(mask).sum()

    @staticmethod
    def backward(ctx, grad):
        s, mask, b, c = ctx.saved_tensors
        # d/ds [logsigmoid(-s) - a - b s - c s^2] = -sigmoid(s) - b - 2 c s
        grad_s = (2 * c * s).add_(b).add_(torch.sigmoid(s)).mul_(mask).mul_(-grad)
        return grad_s, None, None, None, None


@torch.no_grad()
def _leave_one_slot_out_fit(s: torch.Tensor, mask: torch.Tensor, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per slot ``t`` (columns of the ``[rows, k]`` inputs): ``a + b s + c s^2`` fitted on the other slots' kept pairs.

    ``reduce`` (optional) maps the ``[6, k]`` float64 sums of the normal equations to their total over
    several processes (:mod:`graphvae.distributed` all-reduces them, so that every rank solves the same fit).

    ``b + 2 c s`` is the least-squares line through ``-sigmoid(s)`` (the derivative of ``f = logsigmoid(-s)``),
    ``a`` the mean of what remains of ``f``. Degenerate fits (no pairs, constant scores) give zeros.
    """
    sig, ws = torch.sigmoid(s), mask * s
    columns = (mask, ws, ws * s, mask * sig, ws * sig, mask * F.logsigmoid(-s))
    slot_sums = torch.stack([t.sum(0) for t in columns]).double()             # [6, k]
    if reduce is not None:
        slot_sums = reduce(slot_sums)
    m, s1, s2, y, sy, fsum = slot_sums.sum(1, keepdim=True) - slot_sums        # [k] each: leave slot t out
    count = m.clamp(min=1)
    mean_s, mean_s2, mean_y = s1 / count, s2 / count, -y / count
    var = mean_s2 - mean_s ** 2
    slope = torch.where(var > 1e-12, (-sy / count - mean_s * mean_y) / var.clamp(min=1e-12), 0.0)
    b, c = mean_y - slope * mean_s, slope / 2
    a = fsum / count - b * mean_s - c * mean_s2
    return a.to(s.dtype), b.to(s.dtype), c.to(s.dtype)


def _compact(index: torch.Tensor, n: int) -> torch.Tensor:
    """CSR index tensors as int32 where they fit: the sparse kernels then skip a conversion per call."""
    return index.to(torch.int32) if index_dtype(index.numel(), n) == np.int32 else index


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, size=(n, n), check_invariants=False)


class _PairScores(torch.autograd.Function):
    r"""Scores :math:`s_e = z_{i_e}^\top z_{j_e}` of a :class:`PairPattern`, as one sampled dense-dense product.

    Backward: :math:`\partial L/\partial Z = G Z + G^\top Z` with :math:`G_{i_e j_e} = \partial L/\partial s_e`:
    two CSR products (the transpose from the pattern's precomputed permutation), no scatter.
    """

    @staticmethod
    def forward(ctx, z, crow, col, crow_t, col_t, transpose):
        ctx.save_for_backward(z, crow, col, crow_t, col_t, transpose)
        ones = torch.ones(col.numel(), dtype=z.dtype, device=z.device)
        return torch.sparse.sampled_addmm(_csr(crow, col, ones, z.shape[0]), z, z.T, beta=0.0).values()

    @staticmethod
    def backward(ctx, grad):
        z, crow, col, crow_t, col_t, transpose = ctx.saved_tensors
        n = z.shape[0]
        grad_z = torch.sparse.mm(_csr(crow, col, grad, n), z) + torch.sparse.mm(_csr(crow_t, col_t, grad[transpose], n), z)
        return grad_z, None, None, None, None, None


def pattern_scores(z: torch.Tensor, pairs: PairPattern) -> torch.Tensor:
    """Inner-product decoder logits for every pair of ``pairs``, in CSR order (differentiable in ``z``)."""
    return _PairScores.apply(z, pairs.crow, pairs.col, pairs.crow_t, pairs.col_t, pairs.transpose)


def pair_scores(z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    r"""Inner-product decoder logits :math:`s_{ij} = z_i^\top z_j` for the pairs ``(row[e], col[e])``."""
    return (z[row] * z[col]).sum(-1)
