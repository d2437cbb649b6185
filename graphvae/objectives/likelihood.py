r"""Likelihood terms :math:`\log p(\text{data} \mid z)` of the ELBO.

A likelihood is a module ``lik(z, target, generator) -> scalar`` returning the (estimated) total
log-likelihood, and ``lik.scale(target)``: the number of units the training loss averages over.
The graph case is :class:`LinkLikelihood`; the pixel likelihoods of the image VAE live in
:mod:`graphvae.objectives.pixel_likelihood` and plug into the same :class:`graphvae.objectives.elbo.ELBO`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from .._stages import stage
from .._validation import InputError
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
    positive_component: torch.Tensor | None = None   # [P] the component of every positive pair
    positive_counts: torch.Tensor | None = None      # [C] positives per component (int64: segment lengths)
    #: per-target constants of the sampler (aranges, CSR row pointers, the rows' keys and filter slots), built on
    #: first use by :meth:`LinkLikelihood.sample_pairs` so that an epoch does not rebuild them
    cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def component_nodes(self) -> int:
        """Nodes per component (all of them when ``components == 1``)."""
        return self.num_nodes // self.components

    @classmethod
    def from_edges(cls, edge_index: torch.Tensor | np.ndarray | sp.csr_matrix, num_nodes: int,
                   self_loops: bool = True) -> "LinkTarget":
        """Build from an edge list ``[2, E]`` or the 0/1 adjacency of :func:`graphvae.nn.operator.adjacency_matrix`."""
        if sp.issparse(edge_index) and edge_index.shape != (num_nodes, num_nodes):
            raise InputError(f"the adjacency must be {num_nodes} x {num_nodes} (num_nodes), got {edge_index.shape}")
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
        counts = torch.bincount(component, minlength=count)
        return cls(union.num_nodes, union.positives, union.keys, union.num_edges, union.key_filter,
                   union.filter_row_shift, union.filter_bits, count, edges, component, counts)

    @property
    def component_positives(self) -> torch.Tensor | None:
        """``[C]`` positives per component as float64 (``positive_counts`` converted)."""
        return None if self.positive_counts is None else self.positive_counts.double()

    @property
    def num_positive(self) -> int:
        return int(self.keys.numel())

    @property
    def num_negative(self) -> int:
        return self.num_nodes ** 2 - self.num_positive

    def is_positive(self, row: torch.Tensor, col: torch.Tensor, row_slots: torch.Tensor | None = None) -> torch.Tensor:
        """Boolean mask, flat: which ordered pairs ``(row, col)`` (broadcast together) are positives.

        Pairs whose hash slot is empty are not positives; only the rest (the positives and ~1/4 of
        the others, fewer on sparse graphs) are looked up by binary search in the sorted keys.
        ``row_slots`` (optional, for a sampler that asks about the same rows every epoch): ``row`` is then
        already ``row * num_nodes`` (int64) and ``row_slots`` is ``(row >> filter_row_shift) << filter_bits``.
        """
        if row_slots is None:
            keys = row * self.num_nodes + col  # row and col may broadcast, e.g. [n, 1] and [n, k]
            slots = self.filter_slots(row, keys)
        else:
            keys = row + col
            slots = _hash(keys, 1 << self.filter_bits).add_(row_slots)
        # gathers as index_select (flat): several times faster than tensor[index] (aten::index) on large inputs
        candidate = self.key_filter.index_select(0, slots.view(-1))
        keys = keys.view(-1)
        index = candidate.nonzero().view(-1)
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
    held constant (with grouped offsets, below: on the slots of the other groups). Given them, slot ``t``'s
    offset is still uniform and independent, so the estimate and
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
    inside each block random). The partners of a block of rows then lie in two blocks of nodes per slot.
    That bounds where the gathers of :math:`z_j` go but gives no reuse (each slot is a permutation: every
    :math:`z_j` is read once per slot), so the slots also share offsets in three groups
    (:meth:`offset_groups`): group ``g`` draws one uniform :math:`o_g` and its slots use :math:`o_g, o_g + 1,
    \dots`; the partners of a block of rows in all the slots of a group then lie in the same two blocks of
    nodes, and each :math:`z_j` read is reused by the group's slots from the cache (the decoder's
    ``sampled_addmm`` and its two backward products 3-5x faster per pair at 1M nodes, ``docs/benchmarks.md``).
    Each slot's offset is still uniform, so each partner is, and the estimate unbiased; slot ``t``'s
    control-variate coefficients are fitted on the other groups' slots only, which are independent of it.
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
            return self._pairs_per_node(float(target.component_positives[0]), target.component_nodes)
        return self._pairs_per_node(target.num_positive, target.num_nodes)

    def _pairs_per_node(self, positives: float, nodes: int) -> int:
        """``ceil(negatives_per_positive * positives / nodes)``, at least 2 and at most ``nodes``: a row has ``nodes``
        partners (the estimate is unbiased for any ``k``; sparse kernels index out of bounds with more slots than
        columns, which crashed the process for ``negatives_per_positive`` above ``N² / P``)."""
        wanted = float(np.ceil(self.negatives_per_positive * positives / nodes))  # inf for a huge ratio: capped first
        return int(min(nodes, max(2, wanted)))

    def offset_groups(self, num_nodes: int, k: int) -> int:
        r"""How many independent offsets :meth:`sample_pairs` draws for its ``k`` slots (0: one per slot).

        With cache-sized blocks (:meth:`block_size`), the slots form ``min(3, k)`` groups of consecutive
        slots; group ``g`` draws one uniform offset :math:`o_g` and its slots use :math:`o_g, o_g + 1, \dots`
        (mod ``N``), so the partners of a block of rows in all the slots of a group lie in the same two blocks of
        nodes and every gather of :math:`z_j` hits the cache. Each slot's offset is still uniform, so each
        partner is; the control variate of a slot is fitted on the *other groups'* slots, independent of it.
        """
        return min(_OFFSET_GROUPS, k) if self.block_size(num_nodes) else 0

    def check_union(self, target: LinkTarget) -> None:
        """Raise ``ValueError`` unless every component of ``target`` samples the same ``k`` as on its own."""
        n = target.component_nodes
        ks = {self._pairs_per_node(float(p), n) for p in target.component_positives}
        if len(ks) > 1:
            raise ValueError(f"the components sample different numbers of pairs per node: {sorted(ks)}")

    def sample_pairs(self, target: LinkTarget, generator=None) -> tuple[PairPattern, torch.Tensor]:
        """The sampled pairs (``k`` per row and per column) and the mask of those that are not positives.

        For a disjoint union (``target.components > 1``) ``generator`` is one generator per component and
        each component draws exactly what it draws on its own, shifted to its node range.
        """
        c_count, n, k = target.components, target.component_nodes, self.negatives_per_node(target)
        const = _sampler_constants(target, k)
        device, itype, total = const["device"], const["itype"], n * c_count
        generators = _per_component(generator, c_count)
        block = self.block_size(n)
        if c_count == 1:
            p = _relabelling(n, block, generators[0], device).view(1, n)                               # [1, n]
            offsets = _offsets(n, k, self.offset_groups(n, k), generators[0], device).view(1, k)        # [1, k]
        else:
            p = torch.stack([_relabelling(n, block, g, device) for g in generators])                   # [C, n]
            offsets = torch.stack([_offsets(n, k, self.offset_groups(n, k), g, device) for g in generators])
        p_inv = torch.empty_like(p).scatter_(1, p, const["arange"])
        # p twice over, shifted to each component's node range: position a + o (a, o < n) needs no "mod n"
        p = p.to(itype)
        if c_count > 1:
            p += const["node_base"]
        p2 = torch.cat((p, p), 1).view(-1)
        p_inv = p_inv.to(itype)
        if c_count > 1:
            p_inv += const["double_base"]
        # both gathers as one: slot t's partner pi_t(i) (shift o_t) and the row of the pair (., j) (shift n - o_t)
        shifts = torch.stack((offsets, n - offsets)).to(itype)                                         # [2, C, k]
        if c_count == 1 and n * k > _KEEP_CHUNK_PAIRS:  # in blocks of rows: no [2, N k] array of positions
            both, rows = torch.empty(2, n, k, dtype=itype, device=device), max(1, _KEEP_CHUNK_PAIRS // k)
            for start in range(0, n, rows):
                position = torch.add(p_inv[0, start:start + rows, None], shifts.view(2, 1, 1, k))       # [2, rows, k]
                for half in range(2):
                    torch.index_select(p2, 0, position[half].view(-1), out=both[half, start:start + rows].view(-1))
        else:
            both = p2.index_select(0, torch.add(p_inv.view(1, c_count, n, 1), shifts.view(2, c_count, 1, k)).view(-1))
        col, col_t = both.view(2, total * k).unbind(0)
        transpose = torch.add(const["slot"], col_t.view(total, k), alpha=k).view(-1)
        if "non_positive" in const:  # a direct-address table of each component's n^2 pairs: one gather, exact
            keep = const["non_positive"].index_select(0, torch.add(const["table_rows"], col.view(total, k)).view(-1))
        else:  # in blocks of rows: the int64 keys and hash slots of a block stay in cache (no array of N k int64)
            keep = torch.empty(total * k, dtype=torch.bool, device=device)
            cols, rows = col.view(total, k), max(1, _KEEP_CHUNK_PAIRS // k)
            for start in range(0, total, rows):
                stop = min(start + rows, total)
                found = target.is_positive(const["row_keys"][start:stop], cols[start:stop], const["row_slots"][start:stop])
                torch.logical_not(found, out=keep[start * k:stop * k])
        crow = const["crow"]
        return PairPattern(total, crow, col, crow, col_t, transpose), keep

    def forward(self, z: torch.Tensor, target: LinkTarget, generator=None) -> torch.Tensor:
        """The total log-likelihood (for a disjoint union: the sum of the components' log-likelihoods).

        ``z`` must be ``[num_nodes, d]`` floating point, and a reweighted target must have edges
        (:class:`graphvae.InputError` otherwise)."""
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] != target.num_nodes or not z.is_floating_point():
            got = f"{list(z.shape)} {z.dtype}" if isinstance(z, torch.Tensor) else type(z).__name__
            raise InputError(f"z must be a floating-point [num_nodes, d] tensor with num_nodes = {target.num_nodes} "
                             f"(the target's), got {got}")
        if self.reweight and target.num_edges == 0:
            raise InputError("the reweighted link likelihood needs a graph with edges (reweight=False takes none)")
        with stage("likelihood.positives"):
            pos_scores = pattern_scores(z, target.positives)
            if target.components == 1 and pos_scores.numel() > _CHUNK_PAIRS:
                pos = _ChunkedLogSigmoidSum.apply(pos_scores)
            else:
                pos = _component_sum(F.logsigmoid(pos_scores), target)
        neg = self.negative_sum(z, pos_scores, target, generator)
        if not self.reweight:
            return (pos + neg).sum()
        pairs_total = float(target.component_nodes) ** 2
        if target.components == 1:
            edges = float(target.num_edges)
            weight, norm = (pairs_total - edges) / edges, pairs_total / (2 * (pairs_total - edges))
            return torch.add(neg, pos, alpha=weight).mul_(norm)
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
                groups = self.offset_groups(n, scores.numel() // target.num_nodes)
                return _negative_sum_with_control_variate(z, pos_scores, scores, keep, target, groups)
        k = scores.numel() // target.num_nodes
        per_pair = F.logsigmoid(-scores) * keep
        total = per_pair.sum() if target.components == 1 else per_pair.view(target.components, -1).sum(1)
        return total * (n / k)


_FIT_ROWS = 8192  # the control variate's coefficients need a rough fit only: at most this many rows per slot


def _negative_sum_with_control_variate(z: torch.Tensor, pos_scores: torch.Tensor, scores: torch.Tensor,
                                       keep: torch.Tensor, target: LinkTarget, groups: int = 0) -> torch.Tensor:
    r"""Unbiased estimate of :math:`\sum_{\mathcal N}\log\sigma(-s_{ij})`: exact quadratic part plus sampled residual.

    ``scores``/``keep`` are in CSR order of :meth:`LinkLikelihood.sample_pairs`: row ``i``, slot ``t`` at
    ``i * k + t``. See :class:`LinkLikelihood` for the estimator; ``groups > 0``: the slots share offsets in that
    many groups (:meth:`LinkLikelihood.offset_groups`) and each slot is fitted on the other groups. For a disjoint union of ``C`` graphs
    every sum runs per component (scores ``[C, n, k]``, coefficients ``[C, k]``) and the result is ``[C]``.
    Both parts have hand-written gradients (:class:`_ClosedFormQuadratic`, :class:`_SampledResidual`).
    """
    c_count, n = target.components, target.component_nodes
    k = scores.numel() // target.num_nodes
    s, mask = scores.view(c_count, n, k), keep.view(c_count, n, k)
    if n * k > _CHUNK_PAIRS:  # a large graph: the residual in cache-sized row blocks (_ChunkedResidual)
        with torch.no_grad():
            fit = (s.detach()[:, :_FIT_ROWS], mask[:, :_FIT_ROWS])
            coef = _fit_coefficients(*fit, groups=groups)                          # [3, C, k]: a, b, c, constants
        residual = _ChunkedResidual.apply(s, mask, coef, n / k)                    # [C]
    else:
        with torch.no_grad():  # f(s) and f'(s) = -sigmoid(s) once, for the fit and for both passes of the residual
            sig, f = torch.sigmoid(s), F.logsigmoid(-s)
        fit = (s.detach(), mask, sig, f)
        if n > _FIT_ROWS:
            fit = tuple(t[:, :_FIT_ROWS] for t in fit)
        coef = _fit_coefficients(fit[0], fit[1], sig=fit[2], f=fit[3], groups=groups)  # [3, C, k]: a, b, c
        a, b, c = coef.unbind(0)
        residual = _SampledResidual.apply(s, mask, a, b, c, n / k, f, sig)        # [C]
    if c_count == 1:
        count = float(n) ** 2 - pos_scores.numel()                                 # number of non-positive pairs
        quadratic = _ClosedFormQuadratic.apply(z, pos_scores, coef.mean(-1), count, None, None)
        return (quadratic + residual).view(())
    count = (float(n) ** 2 - target.component_positives).to(z.dtype)
    return _ClosedFormQuadratic.apply(z, pos_scores, coef.mean(-1), count, target.positive_component,
                                      target.positive_counts) + residual


class _ClosedFormQuadratic(torch.autograd.Function):
    r"""The control variate's quadratic :math:`g(s) = \bar a + \bar b s + \bar c s^2` summed over the non-positive
    pairs of every component, in closed form and with its gradient by hand:

    .. math:: \sum_{\mathcal N} g = \bar a\,|\mathcal N| + \bar b\big(\lVert Z^\top\mathbf 1\rVert^2 - \textstyle\sum_{\mathcal P} s\big)
              + \bar c\big(\lVert Z^\top Z\rVert_F^2 - \textstyle\sum_{\mathcal P} s^2\big),\qquad
              \frac{\partial}{\partial Z} = 2\bar b\,\mathbf 1 (Z^\top\mathbf 1)^\top + 4\bar c\, Z Z^\top Z,\quad
              \frac{\partial}{\partial s_{\mathcal P}} = -\bar b - 2\bar c\, s_{\mathcal P}.

    ``coef`` ``[3, C]`` holds :math:`(\bar a, \bar b, \bar c)` per component (constants), ``count`` the
    non-positive pairs (a number, or ``[C]``), ``component`` the component of every positive (``None``: one graph)
    and ``lengths`` the positives per component (each component's positives are one contiguous run).
    Returns ``[C]``. One autograd node instead of about fifteen (``tests/test_likelihood.py`` checks it against autograd).
    """

    @staticmethod
    def forward(ctx, z, pos_scores, coef, count, component, lengths):
        c_count = coef.shape[1]
        zc = z.view(c_count, -1, z.shape[1])
        column_sum = zc.sum(1)                                                         # [C, d]
        gram = torch.bmm(zc.transpose(1, 2), zc)                                       # [C, d, d]
        if component is None:  # sum s and sum s^2 without a [2, P] array (P: tens of millions on a large graph)
            pos_sums = torch.stack((pos_scores.sum(), torch.dot(pos_scores, pos_scores)))[:, None]     # [2, 1]
        else:
            positive = torch.stack((pos_scores, pos_scores * pos_scores))              # [2, P]
            pos_sums = _segment_sums(positive, lengths)                                # [2, C]
        sums = torch.stack(((column_sum * column_sum).sum(1), (gram * gram).sum((1, 2)))).sub_(pos_sums)
        ctx.save_for_backward(zc, column_sum, gram, pos_scores, coef, component)
        out = (coef[1:] * sums).sum(0)
        return out.add_(coef[0], alpha=count) if isinstance(count, float) else out.add_(coef[0] * count)

    @staticmethod
    def backward(ctx, grad):
        zc, column_sum, gram, pos_scores, coef, component = ctx.saved_tensors
        scaled = coef[1:] * grad                                                       # [2, C]: b g, c g
        gb, gc = scaled.unbind(0)
        grad_z = torch.baddbmm(gb[:, None, None] * column_sum[:, None, :], zc, gram * gc[:, None, None], beta=2, alpha=4)
        if component is not None:
            scaled = scaled.index_select(1, component)                                 # per positive
        grad_pos = torch.addcmul(scaled[0], pos_scores, scaled[1], value=2).neg_()
        return grad_z.view(-1, zc.shape[2]), grad_pos, None, None, None, None


def _sampler_constants(target: LinkTarget, k: int) -> dict:
    """What :meth:`LinkLikelihood.sample_pairs` needs every epoch and that depends only on ``target`` and ``k``:
    built once and kept in ``target.cache`` (an epoch then spends its operations on the draws only)."""
    key = ("sampler", k)
    const = target.cache.get(key)
    if const is not None:
        return const
    c_count, n = target.components, target.component_nodes
    total, device = n * c_count, target.keys.device
    itype = torch.int32 if index_dtype(total * k, total) == np.int32 else torch.int64
    rows = torch.arange(total, device=device)[:, None]
    components = torch.arange(c_count, device=device)[:, None]
    const = {
        "device": device, "itype": itype,
        "arange": torch.arange(n, device=device).expand(c_count, n),            # source of the inverse permutation
        "node_base": (components * n).to(itype),                                # component c's first node
        "double_base": (components * 2 * n).to(itype),                          # its first entry of the doubled p
        "slot": torch.arange(k, device=device, dtype=itype),
        "row_keys": rows * total,                                                # row * N of every row
        "row_slots": (rows >> target.filter_row_shift) << target.filter_bits,    # its sub-table of the key filter
        "crow": _compact(torch.arange(0, total * k + 1, k, device=device), total),
    }
    if c_count * n * n <= _DIRECT_TABLE_MAX_PAIRS:
        # component c's pairs (row, col), both in c n .. (c + 1) n - 1, at c n^2 + (row - c n) n + (col - c n)
        # = row n - c n + col: a table of C n^2 entries (pairs across components are never sampled)
        def table_row(row: torch.Tensor) -> torch.Tensor:  # where row's entries start: row n - c n
            return row * n - row // n * n

        keys_row = target.keys // total
        non_positive = torch.ones(c_count * n * n, dtype=torch.bool, device=device)
        positive_slots = table_row(keys_row) + (target.keys - keys_row * total)   # row n - c n + col
        const["non_positive"] = non_positive.index_fill_(0, positive_slots, False)
        const["table_rows"] = table_row(rows)
    target.cache[key] = const
    return const


#: sampled pairs per block of rows whose membership :meth:`LinkLikelihood.sample_pairs` looks up at once (16 MB of int64
#: keys: under glibc's 32 MB ``mmap`` threshold, so the blocks' temporaries are recycled, not faulted in afresh)
_KEEP_CHUNK_PAIRS = 1 << 21

#: graphs (disjoint unions: components times their nodes squared) of at most this many ordered pairs (one graph of
#: 8192 nodes, five of Cora's 2708; 64 MB of bool) look sampled pairs up in a table of all pairs
_DIRECT_TABLE_MAX_PAIRS = 1 << 26


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


#: groups of slots that share an offset when sampling in cache-sized blocks (:meth:`LinkLikelihood.offset_groups`)
_OFFSET_GROUPS = 3


def _offsets(n: int, k: int, groups: int, generator, device) -> torch.Tensor:
    """The ``k`` slot offsets of :meth:`LinkLikelihood.sample_pairs`, each uniform on ``0 .. n - 1``.

    ``groups == 0``: ``k`` independent draws. Otherwise slot ``t`` is in group ``g = t * groups // k``, which draws
    one ``o_g``; the slot's offset is ``(o_g + t - t_g) mod n`` with ``t_g`` the group's first slot.
    """
    if not groups:
        return torch.randint(n, (k,), generator=generator, device=device)
    group = torch.arange(k, device=device) * groups // k
    first = torch.searchsorted(group, torch.arange(groups, device=device))          # each group's first slot
    base = torch.randint(n, (groups,), generator=generator, device=device)
    within = torch.arange(k, device=device) - first.index_select(0, group)
    return (base.index_select(0, group) + within) % n


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[index]`` for a 1-D ``values`` and an index of any shape, as one flat ``index_select`` (same result;
    ``aten::index`` is 3-4x slower on the tens of millions of entries of a large graph, more with int32 indices)."""
    return values.index_select(0, index.reshape(-1)).view(index.shape)


def _component_sum(values: torch.Tensor, target: LinkTarget) -> torch.Tensor:
    """Sum of per-positive ``values``: a scalar, or ``[C]`` per component of a disjoint union."""
    if target.components == 1:
        return values.sum()
    return _segment_sums(values, target.positive_counts)


def _segment_sums(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Sums over the last dimension of ``values`` in consecutive runs of ``lengths`` (``[..., P]`` -> ``[..., C]``).

    The positives are in CSR order, so each component's are one run. A segmented sum reads them in order; the
    ``index_add_`` it replaces scatters into a handful of outputs, several times slower on the CPU (1-3 ms against
    0.3 ms for the 117k positives of ten Cora splits, slower still with two threads).
    """
    if values.dim() > 1:
        lengths = lengths.expand(*values.shape[:-1], -1)
    return torch.segment_reduce(values, "sum", lengths=lengths, axis=values.dim() - 1)


def _per_component(generator, count: int) -> list:
    """One generator (or ``None``) per component: a single one for one component, else a sequence of ``count``."""
    if count == 1:
        return [generator[0] if isinstance(generator, (list, tuple)) else generator]
    if not isinstance(generator, (list, tuple)) or len(generator) != count:
        raise ValueError(f"a disjoint union of {count} graphs needs one generator per component")
    return list(generator)


class _SampledResidual(torch.autograd.Function):
    """``weight * sum(mask * (logsigmoid(-s) - a - b s - c s^2))`` over ``[n, k]`` scores, per-slot ``a, b, c`` held
    constant; one fused pass each way (the large-graph path touches every sampled pair only here).
    For ``[C, n, k]`` scores and ``[C, k]`` coefficients (a disjoint union) the sum is per component, ``[C]``.
    ``mask`` may be float (0/1) or bool; ``weight`` is a number (the estimator's ``N / k``)."""

    @staticmethod
    def forward(ctx, s, mask, a, b, c, weight=1.0, f=None, sig=None):
        # f = logsigmoid(-s) and sig = sigmoid(s) may be given (computed once for the fit and both passes)
        if s.dim() == 3:
            a, b, c = a[:, None], b[:, None], c[:, None]
        ctx.save_for_backward(s, mask, b, c, sig)
        ctx.weight = weight
        quadratic = (c * s).add_(b).mul_(s).add_(a)
        per_pair = (F.logsigmoid(-s) if f is None else f).sub(quadratic).mul_(mask)
        total = per_pair.sum() if s.dim() == 2 else per_pair.sum((1, 2))
        return total if weight == 1.0 else total.mul_(weight)

    @staticmethod
    def backward(ctx, grad):
        s, mask, b, c, sig = ctx.saved_tensors
        if s.dim() == 3:
            grad = grad[:, None, None]
        # d/ds [logsigmoid(-s) - a - b s - c s^2] = -sigmoid(s) - b - 2 c s
        grad_s = torch.addcmul(b, c, s, value=2).add_(torch.sigmoid(s) if sig is None else sig).mul_(mask)
        grad_s = grad_s.mul_(grad).mul_(-ctx.weight)
        return grad_s, None, None, None, None, None, None, None


#: sampled pairs per row block of :class:`_ChunkedResidual` (16 MB of float32 scores: under glibc's 32 MB ``mmap``
#: threshold, so the block's temporaries are recycled from the heap; few blocks, so few extra operations)
_CHUNK_PAIRS = 1 << 22


class _ChunkedResidual(torch.autograd.Function):
    r""":class:`_SampledResidual` (same value and gradient, up to the order of the float32 sums) for large graphs:
    ``weight * sum(mask * (logsigmoid(-s) - a - b s - c s^2))`` over ``[C, n, k]`` scores, ``coef = (a, b, c)``
    ``[3, C, k]`` held constant, computed in blocks of rows of about :data:`_CHUNK_PAIRS` pairs.

    The gradient :math:`-w\,\mathrm{mask}\,(\sigma(s) + b + 2cs)` does not depend on the upstream gradient
    but through a scalar factor, so the forward pass writes it block by block into one buffer, and every
    temporary (:math:`\sigma(s)`, :math:`\log\sigma(-s)`, the quadratic) is the size of a block, recycled
    from block to block. The whole-size version allocates about eight arrays of ``n k`` floats per
    step; above 32 MB each is a fresh ``mmap`` whose pages the kernel faults in and zeroes (glibc returns
    such blocks to the system on free), which is most of why a million-node epoch cost more per edge than
    a 100k-node one (``docs/benchmarks.md``). The backward pass scales the buffer in place (so it runs once:
    the graph cannot be retained through this node).
    """

    @staticmethod
    def forward(ctx, s, mask, coef, weight):
        c_count, n, k = s.shape
        a, b, c = coef[:, :, None].unbind(0)                                           # [C, 1, k] each
        grad_s = torch.empty_like(s)
        total = s.new_zeros(c_count)
        rows = max(1, _CHUNK_PAIRS // k)
        for start in range(0, n, rows):
            block, keep, out = s[:, start:start + rows], mask[:, start:start + rows], grad_s[:, start:start + rows]
            f = F.logsigmoid(-block)
            quadratic = (c * block).add_(b).mul_(block).add_(a)
            total += f.sub_(quadratic).mul_(keep).sum((1, 2))
            # d/ds [logsigmoid(-s) - a - b s - c s^2] = -(sigmoid(s) + b + 2 c s), times the mask and -weight
            torch.addcmul(b, c, block, value=2, out=out).add_(torch.sigmoid(block)).mul_(keep).mul_(-weight)
        ctx.grad_s = grad_s
        return total.mul_(weight)

    @staticmethod
    def backward(ctx, grad):
        grad_s, ctx.grad_s = ctx.grad_s, None
        if grad_s is None:
            raise RuntimeError("the sampled residual's backward runs once (do not retain its graph)")
        return grad_s.mul_(grad[:, None, None]), None, None, None


class _ChunkedLogSigmoidSum(torch.autograd.Function):
    r""":math:`\sum_e \log\sigma(s_e)` of a large 1-D ``s`` (the positives' logits) with its gradient
    :math:`\sigma(-s)` written block by block in the forward pass: one array of ``s``'s size instead of
    ``logsigmoid``'s output, its buffer and its backward's result (see :class:`_ChunkedResidual`)."""

    @staticmethod
    def forward(ctx, s):
        grad_s, total = torch.empty_like(s), s.new_zeros(())
        for start in range(0, s.numel(), _CHUNK_PAIRS):
            block = s[start:start + _CHUNK_PAIRS]
            total += F.logsigmoid(block).sum()
            torch.sigmoid(block.neg(), out=grad_s[start:start + _CHUNK_PAIRS])
        ctx.grad_s = grad_s
        return total

    @staticmethod
    def backward(ctx, grad):
        grad_s, ctx.grad_s = ctx.grad_s, None
        if grad_s is None:
            raise RuntimeError("the positives' log-likelihood backward runs once (do not retain its graph)")
        return grad_s.mul_(grad)


def _leave_one_slot_out_fit(s: torch.Tensor, mask: torch.Tensor, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
                            groups: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per slot ``t`` (columns of the ``[rows, k]`` inputs): ``a + b s + c s^2`` fitted on the other slots' kept pairs.

    ``[C, rows, k]`` inputs (a disjoint union) give ``[C, k]`` coefficients, each component fitted on its own pairs.
    ``reduce`` (optional) maps the ``[6, k]`` float64 sums of the normal equations to their total over
    several processes (:mod:`graphvae.training.distributed` all-reduces them, so that every rank solves the same fit).

    ``b + 2 c s`` is the least-squares line through ``-sigmoid(s)`` (the derivative of ``f = logsigmoid(-s)``),
    ``a`` the mean of what remains of ``f``. Degenerate fits (no pairs, constant scores) give zeros.
    ``groups > 0``: the slots share offsets in that many groups (:func:`_offsets`); slot ``t`` is then fitted on
    the slots of the other groups, the pairs independent of its own.
    """
    a, b, c = _fit_coefficients(s, mask, reduce, groups=groups).unbind(0)
    return a, b, c


@torch.no_grad()
def _fit_coefficients(s: torch.Tensor, mask: torch.Tensor, reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
                      sig: torch.Tensor | None = None, f: torch.Tensor | None = None, groups: int = 0) -> torch.Tensor:
    """:func:`_leave_one_slot_out_fit` as one tensor ``[3, ..., k]`` (``a``, ``b``, ``c``), in few operations;
    ``sig = sigmoid(s)`` and ``f = logsigmoid(-s)`` may be passed in when the caller has them. ``groups > 0``:
    slot ``t`` belongs to group ``t * groups // k`` (:func:`_offsets`) and is fitted on the slots of the other groups."""
    sig = torch.sigmoid(s) if sig is None else sig
    f = F.logsigmoid(-s) if f is None else f
    # the six sums over rows of mask * (1, s, s^2, sigmoid, s sigmoid, logsigmoid(-s)), per slot
    columns = torch.stack((mask, s, s * s, sig, s * sig, f))                         # (a bool mask is promoted)
    slot_sums = (columns * mask).sum(s.dim() - 1).double()                         # [6, k] or [6, C, k]
    if reduce is not None:
        slot_sums = reduce(slot_sums)
    # a few dozen numbers: numpy's per-call cost is a fraction of torch's (on an accelerator: one small copy)
    return torch.from_numpy(_solve_fit(slot_sums.cpu().numpy(), groups)).to(device=s.device, dtype=s.dtype)


def _solve_fit(slot_sums: np.ndarray, groups: int) -> np.ndarray:
    """The tail of :func:`_fit_coefficients` in numpy (float64) on the ``[6, ..., k]`` sums: leave slot ``t`` (or its
    whole group) out, then solve the per-slot least squares, in a few microseconds instead of some forty torch calls
    (a tenth of a small graph's epoch)."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # a diverging run's inf sums give NaN
        return _solve_fit_sums(slot_sums, groups)                          # coefficients; the trainer reports it


def _solve_fit_sums(slot_sums: np.ndarray, groups: int) -> np.ndarray:
    k = slot_sums.shape[-1]
    if groups:
        group = np.arange(k) * groups // k
        group_sums = np.stack([slot_sums[..., group == g].sum(-1) for g in range(groups)], -1)
        others = slot_sums.sum(-1, keepdims=True) - group_sums[..., group]
    else:
        others = slot_sums.sum(-1, keepdims=True) - slot_sums
    mean_s, mean_s2, mean_sig, mean_s_sig, mean_f = others[1:] / np.maximum(others[0], 1)
    var = mean_s2 - mean_s * mean_s
    # least-squares slope of y = -sigmoid(s): cov(s, y) / var(s), cov = mean(s y) - mean(s) mean(y); c = slope / 2
    c = np.where(var > 1e-12, (mean_s * mean_sig - mean_s_sig) / np.maximum(var + var, 2e-12), 0.0)
    b = -mean_sig - 2 * c * mean_s
    a = mean_f - b * mean_s - c * mean_s2
    return np.stack((a, b, c))


def _compact(index: torch.Tensor, n: int) -> torch.Tensor:
    """CSR index tensors as int32 where they fit: the sparse kernels then skip a conversion per call. Their values
    must fit too: row pointers run up to the number of entries, not to their own length."""
    largest = int(index.max()) if index.numel() else 0
    return index.to(torch.int32) if index_dtype(max(index.numel(), largest), n) == np.int32 else index
