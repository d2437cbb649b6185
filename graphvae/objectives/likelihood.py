r"""Likelihood terms :math:`\log p(\text{data} \mid z)` of the ELBO.

A likelihood is a module ``lik(z, target, generator) -> scalar`` returning the (estimated) total
log-likelihood, and ``lik.scale(target)``: the number of units the training loss averages over.
The graph case is :class:`LinkLikelihood`; the pixel likelihoods of the image VAE live in
:mod:`graphvae.objectives.pixel_likelihood` and plug into the same :class:`graphvae.objectives.elbo.ELBO`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from .._stages import stage
from ..nn.inner_product import PairPattern, pair_scores, pattern_scores  # noqa: F401 (pair_scores re-exported)
from ..nn.operator import adjacency_matrix, index_dtype


class Likelihood(nn.Module):
    r"""The contract of :math:`\log p(\text{data}\mid z)` in the one ELBO module.

    - ``forward(z, target, generator)``: the (estimated) total log-likelihood over the data, what the ELBO uses;
    - ``scale(target)``: the likelihood's normaliser :math:`c`, the number of units the training loss
      averages over (images in a batch, :math:`N^2` node pairs); penalties are expressed in it
      (:class:`graphvae.objectives.elbo.Penalty`);
    - ``log_prob_rows(z, target)``: the exact :math:`\log p(x_m\mid z_m)` of every row ``m`` (image), ``z``
      possibly with leading sample dimensions: what the importance-weighted bound needs
      (:meth:`graphvae.objectives.elbo.ELBO.iwae`); only for likelihoods that factorize over rows;
    - ``decode_mean(z)``: the mean of :math:`p(x\mid z)` (the decoder's mean image).
    """

    def scale(self, target) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def log_prob_rows(self, z: torch.Tensor, target) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not factorize over rows: no per-row log-likelihood")

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no mean decoder")


@dataclass(frozen=True)
class LinkTarget:
    """The observed (training) graph as the likelihood sees it, built once per graph.

    ``positives`` holds the positive ordered pairs: every training edge in both directions plus, if
    ``self_loops``, the diagonal (the paper's reconstruction target ``A + I``). ``keys = row * N + col``
    is sorted, for O(log E) membership tests of sampled pairs; ``key_filter`` is a hashed occupancy table
    of the keys (a one-hash Bloom filter, 4-8 slots per key) that rules out most non-positives in O(1).
    The table is cut into one small sub-table per chunk of ``2^filter_row_shift`` consecutive rows (about
    a thousand keys each), so that looking up the sampled pairs row by row walks through it in order
    instead of jumping around a table of hundreds of MB (:meth:`filter_slots`).

    ``components > 1`` (:meth:`disjoint_union`) marks a disjoint union of that many graphs of equal size
    ``n``, component ``c`` on nodes ``c n .. (c + 1) n - 1``: the likelihood is then the sum of the
    components' likelihoods, each with its own reweighting and its own non-edges (pairs across components
    are not part of any graph). That is how :mod:`graphvae.estimators.batched` trains several seeds as one model.
    """

    num_nodes: int
    positives: PairPattern
    keys: torch.Tensor
    num_edges: int  # directed training edges: the positives off the diagonal
    key_filter: torch.Tensor
    filter_row_shift: int = 0  # rows 2^shift * c .. 2^shift * (c + 1) - 1 share sub-table c of key_filter
    filter_bits: int = 0       # each sub-table has 2^bits slots
    components: int = 1
    component_edges: torch.Tensor | None = None      # [C] directed training edges per component (float)
    component_positives: torch.Tensor | None = None  # [C] positives per component (float)
    positive_component: torch.Tensor | None = None   # [P] the component of every positive pair

    @property
    def component_nodes(self) -> int:
        """Nodes per component (all of them when ``components == 1``)."""
        return self.num_nodes // self.components

    @classmethod
    def from_edges(cls, edge_index: torch.Tensor | np.ndarray | sp.csr_matrix, num_nodes: int,
                   self_loops: bool = True) -> "LinkTarget":
        """Build from an edge list ``[2, E]`` or the 0/1 adjacency of :func:`graphvae.nn.operator.adjacency_matrix`."""
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
        transpose = _compact(torch.from_numpy(order.T.tocsr().data - 1), num_nodes)  # int32 where it fits
        crow, col = _compact(crow, num_nodes), _compact(col, num_nodes)
        pattern = PairPattern(num_nodes, crow, col, crow, col, transpose, symmetric=True)  # A + I is symmetric
        keys = row * num_nodes + col
        # chunks of 2^shift rows holding about 1024 keys each, a sub-table of 4-8 slots per key for each
        per_row = max(keys.numel(), 1) / max(num_nodes, 1)
        shift = int(np.clip(np.floor(np.log2(1024 / per_row)), 0, max(int(num_nodes).bit_length() - 1, 0)))
        bits = max(4, int(np.ceil(np.log2(4 * per_row * (1 << shift)))))
        chunks = (max(num_nodes, 1) - 1 >> shift) + 1
        key_filter = torch.zeros(chunks << bits, dtype=torch.bool)
        target = cls(num_nodes, pattern, keys, int((row != col).sum()), key_filter, shift, bits)
        key_filter[target.filter_slots(row, keys)] = True
        return target

    @classmethod
    def disjoint_union(cls, adjacencies: "list[sp.csr_matrix]", self_loops: bool = True) -> "LinkTarget":
        """The target of the disjoint union of graphs of equal size (0/1 adjacencies), one component each."""
        sizes = {a.shape[0] for a in adjacencies}
        if len(sizes) != 1:
            raise ValueError(f"a disjoint union needs graphs of equal size, got sizes {sorted(sizes)}")
        n, count = sizes.pop(), len(adjacencies)
        union = cls.from_edges(sp.block_diag(adjacencies, format="csr"), n * count, self_loops)
        row = union.keys // union.num_nodes
        component = row // n
        off_diagonal = (row != union.keys % union.num_nodes).double()
        edges = torch.zeros(count, dtype=torch.float64).index_add_(0, component, off_diagonal)
        positives = torch.bincount(component, minlength=count).double()
        return cls(union.num_nodes, union.positives, union.keys, union.num_edges, union.key_filter,
                   union.filter_row_shift, union.filter_bits, count, edges, positives, component)

    @property
    def num_positive(self) -> int:
        return int(self.keys.numel())

    @property
    def num_negative(self) -> int:
        return self.num_nodes ** 2 - self.num_positive

    def is_positive(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """Boolean mask, flat: which ordered pairs ``(row, col)`` (broadcast together) are positives.

        Pairs whose hash slot is empty are not positives; only the rest (the positives and ~1/4 of
        the others, fewer on sparse graphs) are looked up by binary search in the sorted keys.
        """
        keys = row * self.num_nodes + col  # row and col may broadcast, e.g. [n, 1] and [n, k]
        # gathers as index_select (flat): several times faster than tensor[index] (aten::index) on large inputs
        candidate = self.key_filter.index_select(0, self.filter_slots(row, keys).reshape(-1))
        keys = keys.reshape(-1)
        index = candidate.nonzero().squeeze(1)
        found = keys.index_select(0, index)
        pos = torch.searchsorted(self.keys, found).clamp(max=self.keys.numel() - 1)
        return candidate.index_put_((index,), self.keys.index_select(0, pos) == found)

    def filter_slots(self, row: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Slots of ``keys`` (of pairs in rows ``row``, broadcastable) in ``key_filter``: sub-table of the row's chunk."""
        slots = _hash(keys, 1 << self.filter_bits)
        return slots.add_((row >> self.filter_row_shift) << self.filter_bits)


_HASH_MULTIPLIER = 0x9E3779B97F4A7C15 - (1 << 64)  # Fibonacci hashing: 2^64 / golden ratio, as a signed int64


def _hash(keys: torch.Tensor, size: int) -> torch.Tensor:
    """Multiplicative hash of int64 ``keys`` into ``[0, size)`` (``size`` a power of two); the product wraps."""
    bits = size.bit_length() - 1
    out = keys * _HASH_MULTIPLIER
    out >>= 64 - bits
    return out.bitwise_and_(size - 1)


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

    **Cache-sized blocks** (``local_block``; by default 1024 on graphs of at least 65,536 nodes, off below,
    so small graphs draw exactly as before). The estimate is unbiased for *any* relabelling ``p``, because the
    offset alone makes every partner uniform. On a large graph ``p`` is then drawn block by block: it maps
    each run of ``B`` consecutive positions onto one block of ``B`` consecutive nodes (blocks and the order
    inside each block random). The partners of a block of rows then lie in two blocks of nodes per slot,
    so the gathers of :math:`z_j` in the decoder and its backward stay within a few MB instead of
    jumping through all of :math:`Z`.
    """

    #: graphs of at least this many nodes (per component) sample in cache-sized blocks by default
    LOCAL_BLOCK_MIN_NODES = 1 << 16

    def __init__(self, negatives_per_positive: float = 1.0, reweight: bool = True, control_variate: bool = True,
                 local_block: int | None = None):
        super().__init__()
        if not negatives_per_positive > 0:
            raise ValueError(f"negatives_per_positive must be positive, got {negatives_per_positive}")
        if local_block is not None and local_block < 0:
            raise ValueError(f"local_block must be non-negative (0: off), got {local_block}")
        self.negatives_per_positive = negatives_per_positive
        self.reweight = reweight
        self.control_variate = control_variate
        self.local_block = local_block

    def block_size(self, num_nodes: int) -> int:
        """The block of :meth:`sample_pairs`' relabelling on a graph of ``num_nodes`` nodes (0: one uniform permutation)."""
        if self.local_block is not None:
            return self.local_block if self.local_block < num_nodes else 0
        return 1024 if num_nodes >= self.LOCAL_BLOCK_MIN_NODES else 0

    def scale(self, target: LinkTarget) -> float:
        return float(target.component_nodes) ** 2

    def negatives_per_node(self, target: LinkTarget) -> int:
        """``k``; for a disjoint union, of its first component (:meth:`check_union` asks them to agree)."""
        if target.components > 1:
            positives = float(target.component_positives[0])
            return max(2, int(np.ceil(self.negatives_per_positive * positives / target.component_nodes)))
        return max(2, int(np.ceil(self.negatives_per_positive * target.num_positive / target.num_nodes)))

    def check_union(self, target: LinkTarget) -> None:
        """Raise ``ValueError`` unless every component of ``target`` samples the same ``k`` as on its own."""
        n = target.component_nodes
        ks = {max(2, int(np.ceil(self.negatives_per_positive * float(p) / n))) for p in target.component_positives}
        if len(ks) > 1:
            raise ValueError(f"the components sample different numbers of pairs per node: {sorted(ks)}")

    def sample_pairs(self, target: LinkTarget, generator=None) -> tuple[PairPattern, torch.Tensor]:
        """The sampled pairs (``k`` per row and per column) and the mask of those that are not positives.

        For a disjoint union (``target.components > 1``) ``generator`` is one generator per component and
        each component draws exactly what it draws on its own, shifted to its node range.
        """
        c_count, n, k = target.components, target.component_nodes, self.negatives_per_node(target)
        total, device = n * c_count, target.keys.device
        itype = torch.int32 if index_dtype(total * k, total) == np.int32 else torch.int64
        generators = _per_component(generator, c_count)
        block = self.block_size(n)
        p = torch.stack([_relabelling(n, block, g, device) for g in generators])                     # [C, n]
        p_inv = torch.empty_like(p)
        p_inv.scatter_(1, p, torch.arange(n, device=device).expand(c_count, n))
        offsets = torch.stack([torch.randint(n, (k,), generator=g, device=device) for g in generators])  # [C, k]
        # p twice over, shifted to each component's node range: position a + o (a, o < n) needs no "mod n"
        p2 = (torch.cat([p, p], dim=1) + (torch.arange(c_count, device=device) * n)[:, None]).to(itype).view(-1)
        base = (torch.arange(c_count, device=device) * 2 * n)[:, None]
        p_inv = (p_inv + base).to(itype)[:, :, None]
        col = _take(p2, p_inv + (offsets.to(itype))[:, None, :])          # [C, n, k]: pi_t(i)
        col_t = _take(p2, p_inv + (n - offsets).to(itype)[:, None, :])    # pi_t^{-1}(j): row of the pair (., j) in slot t
        transpose = (col_t * k).add_(torch.arange(k, device=device, dtype=itype)).view(-1)
        keep = ~target.is_positive(torch.arange(total, device=device)[:, None], col.view(total, k)).view(-1)
        crow = _compact(torch.arange(0, total * k + 1, k, device=device), total)
        pairs = PairPattern(total, crow, _compact(col.view(-1), total), crow, _compact(col_t.view(-1), total), transpose)
        return pairs, keep

    def forward(self, z: torch.Tensor, target: LinkTarget, generator=None) -> torch.Tensor:
        """The total log-likelihood (for a disjoint union: the sum of the components' log-likelihoods)."""
        with stage("likelihood.positives"):
            pos_scores = pattern_scores(z, target.positives)
            pos = _component_sum(F.logsigmoid(pos_scores), target)
        neg = self.negative_sum(z, pos_scores, target, generator)
        if not self.reweight:
            return (pos + neg).sum()
        pairs_total = float(target.component_nodes) ** 2
        if target.components == 1:
            edges = float(target.num_edges)
            weight, norm = (pairs_total - edges) / edges, pairs_total / (2 * (pairs_total - edges))
            return norm * (weight * pos + neg)
        edges = target.component_edges                                   # float64: the constants as Python computes them
        weight = ((pairs_total - edges) / edges).to(z.dtype)
        norm = (pairs_total / (2 * (pairs_total - edges))).to(z.dtype)
        return (norm * (weight * pos + neg)).sum()

    def negative_sum(self, z: torch.Tensor, pos_scores: torch.Tensor, target: LinkTarget,
                     generator=None) -> torch.Tensor:
        r"""Unbiased estimate of :math:`\sum_{\mathcal N}\log\sigma(-s_{ij})` (``pos_scores``: the positives' logits).

        A scalar; for a disjoint union, one estimate per component (``[C]``).
        """
        n = target.component_nodes
        with stage("likelihood.sample_pairs"):
            pairs, keep = self.sample_pairs(target, generator)
        with stage("likelihood.pair_scores"):
            scores = pattern_scores(z, pairs)
        if self.control_variate:
            with stage("likelihood.control_variate"):
                return _negative_sum_with_control_variate(z, pos_scores, scores, keep, target)
        k = scores.numel() // target.num_nodes
        per_pair = F.logsigmoid(-scores) * keep
        total = per_pair.sum() if target.components == 1 else per_pair.view(target.components, -1).sum(1)
        return total * (n / k)


_FIT_ROWS = 8192  # the control variate's coefficients need a rough fit only: at most this many rows per slot


def _negative_sum_with_control_variate(z: torch.Tensor, pos_scores: torch.Tensor, scores: torch.Tensor,
                                       keep: torch.Tensor, target: LinkTarget) -> torch.Tensor:
    r"""Unbiased estimate of :math:`\sum_{\mathcal N}\log\sigma(-s_{ij})`: exact quadratic part plus sampled residual.

    ``scores``/``keep`` are in CSR order of :meth:`LinkLikelihood.sample_pairs`: row ``i``, slot ``t`` at
    ``i * k + t``. See :class:`LinkLikelihood` for the estimator. For a disjoint union of ``C`` graphs
    every sum runs per component (scores ``[C, n, k]``, coefficients ``[C, k]``) and the result is ``[C]``.
    """
    c_count, n = target.components, target.component_nodes
    k = scores.numel() // target.num_nodes
    shape = (n, k) if c_count == 1 else (c_count, n, k)
    s, mask = scores.view(shape), keep.view(shape).to(scores.dtype)
    fit_rows = (slice(None, _FIT_ROWS),) if c_count == 1 else (slice(None), slice(None, _FIT_ROWS))
    a, b, c = _leave_one_slot_out_fit(s.detach()[fit_rows], mask[fit_rows])  # [k] or [C, k] each, constants
    residual = _SampledResidual.apply(s, mask, a, b, c) * (n / k)
    if c_count == 1:
        column_sum = z.sum(0)
        count = float(n) ** 2 - pos_scores.numel()                                  # number of non-positive pairs
        sum_s = column_sum @ column_sum - pos_scores.sum()
        sum_s2 = (z.T @ z).square().sum() - pos_scores.square().sum()
        return a.mean() * count + b.mean() * sum_s + c.mean() * sum_s2 + residual
    zc = z.view(c_count, n, -1)
    column_sum = zc.sum(1)                                                          # [C, d]
    count = (float(n) ** 2 - target.component_positives).to(z.dtype)
    sum_s = column_sum.square().sum(1) - _component_sum(pos_scores, target)
    sum_s2 = (zc.transpose(1, 2) @ zc).square().sum((1, 2)) - _component_sum(pos_scores.square(), target)
    return a.mean(-1) * count + b.mean(-1) * sum_s + c.mean(-1) * sum_s2 + residual


def _relabelling(n: int, block: int, generator, device) -> torch.Tensor:
    """A random permutation of ``n`` nodes; with ``block > 0`` one that maps every ``block`` consecutive
    positions onto ``block`` consecutive nodes (the last, partial block onto itself)."""
    if block <= 0:
        return torch.randperm(n, generator=generator, device=device)
    full, rest = divmod(n, block)
    order = torch.randperm(full, generator=generator, device=device)
    inside = torch.rand(full, block, generator=generator, device=device).argsort(dim=1)
    p = (order[:, None] * block + inside).view(-1)
    if rest:
        p = torch.cat([p, full * block + torch.randperm(rest, generator=generator, device=device)])
    return p


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[index]`` for a 1-D ``values`` and an index of any shape, as one flat ``index_select`` (same result;
    ``aten::index`` is 3-4x slower on the tens of millions of entries of a large graph, more with int32 indices)."""
    return values.index_select(0, index.reshape(-1)).view(index.shape)


def _component_sum(values: torch.Tensor, target: LinkTarget) -> torch.Tensor:
    """Sum of per-positive ``values``: a scalar, or ``[C]`` per component of a disjoint union."""
    if target.components == 1:
        return values.sum()
    return values.new_zeros(target.components).index_add_(0, target.positive_component, values)


def _per_component(generator, count: int) -> list:
    """One generator (or ``None``) per component: a single one for one component, else a sequence of ``count``."""
    if count == 1:
        return [generator[0] if isinstance(generator, (list, tuple)) else generator]
    if not isinstance(generator, (list, tuple)) or len(generator) != count:
        raise ValueError(f"a disjoint union of {count} graphs needs one generator per component")
    return list(generator)


class _SampledResidual(torch.autograd.Function):
    """``sum(mask * (logsigmoid(-s) - a - b s - c s^2))`` over ``[n, k]`` scores, per-slot ``a, b, c`` held
    constant; one fused pass each way (the large-graph path touches every sampled pair only here).
    For ``[C, n, k]`` scores and ``[C, k]`` coefficients (a disjoint union) the sum is per component, ``[C]``."""

    @staticmethod
    def forward(ctx, s, mask, a, b, c):
        if s.dim() == 3:
            a, b, c = a[:, None], b[:, None], c[:, None]
        ctx.save_for_backward(s, mask, b, c)
        quadratic = (c * s).add_(b).mul_(s).add_(a)
        per_pair = F.logsigmoid(-s).sub_(quadratic).mul_(mask)
        return per_pair.sum() if s.dim() == 2 else per_pair.sum((1, 2))

    @staticmethod
    def backward(ctx, grad):
        s, mask, b, c = ctx.saved_tensors
        if s.dim() == 3:
            grad = grad[:, None, None]
        # d/ds [logsigmoid(-s) - a - b s - c s^2] = -sigmoid(s) - b - 2 c s
        grad_s = (2 * c * s).add_(b).add_(torch.sigmoid(s)).mul_(mask).mul_(-grad)
        return grad_s, None, None, None, None


@torch.no_grad()
def _leave_one_slot_out_fit(s: torch.Tensor, mask: torch.Tensor, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per slot ``t`` (columns of the ``[rows, k]`` inputs): ``a + b s + c s^2`` fitted on the other slots' kept pairs.

    ``[C, rows, k]`` inputs (a disjoint union) give ``[C, k]`` coefficients, each component fitted on its own pairs.
    ``reduce`` (optional) maps the ``[6, k]`` float64 sums of the normal equations to their total over
    several processes (:mod:`graphvae.training.distributed` all-reduces them, so that every rank solves the same fit).

    ``b + 2 c s`` is the least-squares line through ``-sigmoid(s)`` (the derivative of ``f = logsigmoid(-s)``),
    ``a`` the mean of what remains of ``f``. Degenerate fits (no pairs, constant scores) give zeros.
    """
    sig, ws = torch.sigmoid(s), mask * s
    columns = (mask, ws, ws * s, mask * sig, ws * sig, mask * F.logsigmoid(-s))
    rows = s.dim() - 2
    slot_sums = torch.stack([t.sum(rows) for t in columns]).double()          # [6, k] or [6, C, k]
    if reduce is not None:
        slot_sums = reduce(slot_sums)
    m, s1, s2, y, sy, fsum = slot_sums.sum(-1, keepdim=True) - slot_sums       # [k] each: leave slot t out
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
