r"""The link likelihood of :class:`graphvae.objectives.likelihood.LinkLikelihood`, split over ranks.

With rank :math:`r` owning rows :math:`R_r`, the estimate of the single process is a sum of per-rank
terms plus a few global sums:

- positives: rank :math:`r` scores the pairs :math:`(i, j)` of :math:`A + I` with :math:`i \in R_r`;
- the closed-form quadratic control variate needs :math:`Z^\top\mathbf 1` and :math:`Z^\top Z`:
  sums of per-rank :math:`Z_r^\top\mathbf 1`, :math:`Z_r^\top Z_r`, all-reduced (:class:`.halo.AllReduceSum`);
  the positives' corrections are per-rank sums again;
- the coefficient fit is global: its normal equations (six sums per slot over the rows with original
  label below ``_FIT_ROWS``) are all-reduced before they are solved, so every rank uses the single
  process's coefficients;
- the sampled residual: every rank draws the *same* relabelling and offsets (one generator stream, as the
  single process) and keeps only its own rows' partners; partner embeddings come from the all-gathered
  :math:`Z` (:class:`.halo.AllGatherRows`), whose backward returns each partner's gradient to its owner.

Memory: the sampler and the residual work through the rank's rows in blocks (:data:`ROW_BLOCK_ENTRIES`
pairs at a time), so neither has int64 or float temporaries of the size of all the rank's pairs.

So for the same seed the sum over ranks of this likelihood is the single process's estimate (up to
float rounding in the order of sums), and so are the gradients.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..._validation import InputError
from ...nn.latent import Posterior
from ...nn.operator import csr_matmul, index_dtype
from ...objectives import likelihood as single
from ...objectives.likelihood import LinkLikelihood, LinkTarget, _leave_one_slot_out_fit, _offsets, _SampledResidual
from . import runtime
from .halo import AllGatherRows, AllReduceSum
from .partition import Shard


#: rows of pairs handled at once by the sampler and the residual (a few MB of temporaries per block)
ROW_BLOCK_ENTRIES = 1 << 16


@dataclass(frozen=True)
class LocalPairs:
    """Pairs with rows on this rank (local labels) and columns anywhere (partition labels), CSR both ways.

    ``crow_t/col_t`` is the CSR of the transpose (``N`` rows); its entry ``e`` is entry ``transpose[e]``.
    """

    num_rows: int
    num_cols: int
    crow: torch.Tensor
    col: torch.Tensor
    crow_t: torch.Tensor
    col_t: torch.Tensor
    transpose: torch.Tensor


@dataclass(frozen=True)
class ShardTarget:
    """The likelihood target on one rank: global counts, its positives and the membership test of its rows."""

    num_nodes: int          # N, global
    num_edges: int          # directed training edges, global
    num_positive: int       # |P|, global
    positives: LocalPairs   # the positives this rank owns
    membership: LinkTarget  # its positive keys (original labels) with the hashed filter: is_positive()
    orig_ids: torch.Tensor  # original label of every local row
    new_of_orig: torch.Tensor
    fit_rows: torch.Tensor  # local rows whose original label is below the fit's row limit
    bounds: np.ndarray
    rank: int
    components: int = 1

    @classmethod
    def from_shard(cls, shard: Shard) -> "ShardTarget":
        n = shard.num_nodes
        indptr, cols = torch.from_numpy(shard.adj_indptr), torch.from_numpy(shard.adj_indices)
        positives = local_pairs(indptr, cols, shard.num_local, n)
        membership = _membership(shard.keys, n)
        orig = torch.from_numpy(shard.orig_ids)
        fit_rows = (orig < single._FIT_ROWS).nonzero().squeeze(1)
        return cls(n, shard.num_edges, shard.num_positive, positives, membership, orig,
                   torch.from_numpy(shard.new_of_orig), fit_rows, shard.bounds, shard.rank)


def _membership(keys: np.ndarray, n: int) -> LinkTarget:
    """A :class:`graphvae.objectives.likelihood.LinkTarget` of this rank's positive keys, built by its own constructor
    (so its membership filter is the single process's, whatever its layout), without the pair pattern."""
    ones = np.ones(keys.size, dtype=np.float32)
    rows_of_rank = sp.csr_matrix((ones, (keys // n, keys % n)), shape=(n, n))
    return dataclasses.replace(LinkTarget.from_edges(rows_of_rank, n, self_loops=False), positives=None)


def local_pairs(crow: torch.Tensor, col: torch.Tensor, num_rows: int, num_cols: int) -> LocalPairs:
    """A :class:`LocalPairs` from a row-sorted CSR (``crow`` int64, ``col`` int64 in ``[0, num_cols)``).

    The transpose is a counting sort by column: ``O(nnz + num_cols)``, no comparison sort.
    """
    nnz = col.numel()
    counts = torch.bincount(col, minlength=num_cols)
    crow_t = torch.zeros(num_cols + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=crow_t[1:])
    rows = torch.repeat_interleave(torch.arange(num_rows), crow.diff())
    order = torch.argsort(col, stable=True) if nnz else col
    if index_dtype(nnz, max(num_rows, num_cols)) == np.int32:
        order = order.to(torch.int32)
    return _compact_pairs(num_rows, num_cols, crow, col, crow_t, rows[order.long()], order)


def _compact_pairs(num_rows, num_cols, crow, col, crow_t, col_t, transpose) -> LocalPairs:
    small = index_dtype(col.numel(), max(num_rows, num_cols)) == np.int32
    c = (lambda t: t.to(torch.int32)) if small else (lambda t: t)
    return LocalPairs(num_rows, num_cols, c(crow), c(col), c(crow_t), c(col_t), transpose)


def row_blocks(crow: torch.Tensor, entries: int | None = None) -> list[tuple[int, int, int, int]]:
    """``(r0, r1, e0, e1)``: consecutive row ranges of a CSR holding about ``entries`` pairs each (at least
    one row; default :data:`ROW_BLOCK_ENTRIES`)."""
    entries = entries or ROW_BLOCK_ENTRIES
    crow = crow.long()
    num_rows, nnz = crow.numel() - 1, int(crow[-1])
    cuts = torch.searchsorted(crow, torch.tensor(range(entries, nnz, entries), dtype=torch.int64), right=True) - 1
    rows = torch.unique(torch.cat([torch.tensor([0]), cuts.clamp(min=1), torch.tensor([num_rows])])).tolist()
    ends = crow[rows].tolist()
    return [(rows[i], rows[i + 1], ends[i], ends[i + 1]) for i in range(len(rows) - 1) if rows[i + 1] > rows[i]]


class _LocalPairScores(torch.autograd.Function):
    r""":math:`s_e = z_{i_e}^\top z^{\text{all}}_{j_e}` for local rows ``i`` and columns ``j`` of the gathered ``Z``.

    Forward: block by block of rows (:func:`row_blocks`), the gathered rows' dot products (no pattern copy,
    no temporaries of the size of all pairs). Backward: :math:`G Z^{\text{all}}` for the local rows and
    :math:`G^\top Z_{\text{local}}` for the gathered rows, two CSR products (as
    :class:`graphvae.objectives.likelihood._PairScores`, with a rectangular pattern).
    """

    @staticmethod
    def forward(ctx, z_local, z_all, pairs: LocalPairs):
        ctx.save_for_backward(z_local, z_all)
        ctx.pairs = pairs
        out = z_local.new_empty(pairs.col.numel())
        crow = pairs.crow
        for r0, r1, e0, e1 in row_blocks(crow):
            rows = torch.repeat_interleave(torch.arange(r1 - r0), crow[r0 + 1:r1 + 1].long() - crow[r0:r1].long())
            zi = z_local[r0:r1].index_select(0, rows)
            torch.sum(zi.mul_(z_all.index_select(0, pairs.col[e0:e1])), 1, out=out[e0:e1])
        return out

    @staticmethod
    def backward(ctx, grad):
        runtime.release_free_memory()  # the residual's and the ELBO's freed temporaries: this is the step's peak
        z_local, z_all = ctx.saved_tensors
        p = ctx.pairs
        grad_local = csr_matmul(p.crow, p.col, grad, z_all)  # G Z_all: no CSR tensor (nor its beta warning)
        grad_t = grad.index_select(0, p.transpose)  # grad[transpose]; index_select is several times faster
        grad_all = csr_matmul(p.crow_t, p.col_t, grad_t, z_local)
        return grad_local, grad_all, None


class DistributedLinkLikelihood(LinkLikelihood):
    """:class:`graphvae.objectives.likelihood.LinkLikelihood` on one rank's rows: ``forward(z_local, ShardTarget, generator)``.

    Returns this rank's share of the log-likelihood; the shares sum to the single process's estimate.
    The global closed-form term is counted on rank 0 only (the other ranks add it times zero, so that
    every rank runs the same collectives in backward).
    """

    @classmethod
    def like(cls, single: LinkLikelihood) -> "DistributedLinkLikelihood":
        """The distributed counterpart of ``single``, with the same settings (every constructor argument)."""
        if not isinstance(single, LinkLikelihood):
            raise InputError(f"distributed training supports the link likelihood, not {type(single).__name__}")
        names = [n for n in inspect.signature(LinkLikelihood.__init__).parameters if n != "self"]
        return cls(**{n: getattr(single, n) for n in names if hasattr(single, n)})

    def scale(self, target) -> float:
        return float(target.num_nodes) ** 2

    def relabelling(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """The single process's random relabelling of the nodes (the same draw from the same stream).

        Where :mod:`graphvae.objectives.likelihood` draws it with a helper of its own (e.g. in cache-sized blocks),
        that helper is used, so the ranks keep drawing what the single process draws
        (``tests/test_distributed.py::test_rank_sampler_draws_the_single_process_pairs`` checks it).
        """
        draw, block_size = getattr(single, "_relabelling", None), getattr(self, "block_size", None)
        if draw is not None and block_size is not None:
            return draw(n, block_size(n), generator, torch.device("cpu"))
        return torch.randperm(n, generator=generator)

    def sample_local_pairs(self, target: ShardTarget, generator: torch.Generator | None = None
                           ) -> tuple[LocalPairs, torch.Tensor]:
        """This rank's rows of the single process's sampled pairs (same draws), and their non-positive mask.

        Row ``i``'s partner in slot ``t`` is :math:`p[(p^{-1}[i] + o_t) \bmod N]`, worked out in blocks of rows
        so that no temporary holds all the rank's pairs in int64.
        """
        n, k = target.num_nodes, self.negatives_per_node(target)
        n_r = target.orig_ids.numel()
        itype = torch.int32 if index_dtype(n_r * k, n) == np.int32 else torch.int64
        p = self.relabelling(n, generator)
        p_inv = torch.empty_like(p)
        p_inv[p] = torch.arange(n)
        offsets = _offsets(n, k, self.offset_groups(n, k), generator, torch.device("cpu"))  # the single process's offsets
        position = p_inv.index_select(0, target.orig_ids)                 # [n_r]: p^{-1}[i]
        del p_inv
        new_of_orig = target.new_of_orig.to(itype)
        col = torch.empty((n_r, k), dtype=itype)
        keep = torch.empty((n_r, k), dtype=torch.bool)
        step = max(1, ROW_BLOCK_ENTRIES // k)
        for r0 in range(0, n_r, step):
            r1 = min(r0 + step, n_r)
            forward = position[r0:r1, None] + offsets
            forward -= n * (forward >= n)
            partner = p.index_select(0, forward.view(-1)).view(r1 - r0, k)  # original labels
            rows = target.orig_ids[r0:r1, None]                            # broadcast: no [rows, k] row tensor
            keep[r0:r1] = ~target.membership.is_positive(rows, partner).view(r1 - r0, k)
            col[r0:r1] = new_of_orig.index_select(0, partner.view(-1)).view(r1 - r0, k)  # partition labels
        del p, position, new_of_orig
        # transpose by counting: in each slot the partners are distinct, so one scatter per slot places them
        counts = torch.bincount(col.view(-1), minlength=n)
        crow_t = torch.zeros(n + 1, dtype=torch.int64)
        torch.cumsum(counts, 0, out=crow_t[1:])
        del counts
        fill = crow_t[:-1].clone()
        col_t = torch.empty(n_r * k, dtype=itype)
        transpose = torch.empty(n_r * k, dtype=itype)
        local_rows = torch.arange(n_r, dtype=itype)
        for t in range(k):
            c = col[:, t].long()
            pos = fill.index_select(0, c)
            col_t[pos] = local_rows
            transpose[pos] = local_rows * k + t
            fill[c] += 1
        del fill
        crow = torch.arange(0, n_r * k + 1, k)
        return _compact_pairs(n_r, n, crow, col.view(-1), crow_t, col_t, transpose), keep.view(-1)

    def forward(self, z: torch.Tensor, target: ShardTarget, generator: torch.Generator | None = None) -> torch.Tensor:
        z_all = AllGatherRows.apply(z, target.bounds)
        pos_scores = _LocalPairScores.apply(z, z_all, target.positives)
        pos = F.logsigmoid(pos_scores).sum()
        neg = self._negative_share(z, z_all, pos_scores, target, generator)
        runtime.release_free_memory()  # the sampler's and the kernels' temporaries, before backward
        if not self.reweight:
            return pos + neg
        pairs_total, edges = float(target.num_nodes) ** 2, float(target.num_edges)
        weight, norm = (pairs_total - edges) / edges, pairs_total / (2 * (pairs_total - edges))
        return norm * (weight * pos + neg)

    def _negative_share(self, z, z_all, pos_scores, target: ShardTarget, generator) -> torch.Tensor:
        n = target.num_nodes
        pairs, keep = self.sample_local_pairs(target, generator)
        scores = _LocalPairScores.apply(z, z_all, pairs)
        k = self.negatives_per_node(target)
        if not self.control_variate:
            return (F.logsigmoid(-scores) * keep).sum() * (n / k)
        s, keep = scores.view(-1, k), keep.view(-1, k)
        reduce = lambda sums: runtime.all_reduce_(sums, "coefficient fit")
        fit_mask = keep[target.fit_rows].to(scores.dtype)
        a, b, c = _leave_one_slot_out_fit(s.detach()[target.fit_rows], fit_mask, reduce=reduce,
                                          groups=self.offset_groups(n, k))
        # the shared residual, block by block of rows: its temporaries stay a few MB
        step = max(1, ROW_BLOCK_ENTRIES // k)
        # (the mask stays bool: the residual only multiplies by it)
        parts = [_SampledResidual.apply(s_block, keep_block, a, b, c)
                 for s_block, keep_block in zip(s.split(step), keep.split(step))]
        residual = torch.stack(parts).sum() * (n / k)
        d = z.shape[1]
        sums = AllReduceSum.apply(torch.cat([z.sum(0), (z.T @ z).ravel()]))   # Z^T 1 and Z^T Z, global
        column_sum, gram = sums[:d], sums[d:]
        count = float(n) ** 2 - target.num_positive
        closed_form = a.mean() * count + b.mean() * (column_sum @ column_sum) + c.mean() * gram.square().sum()
        own = 1.0 if target.rank == 0 else 0.0
        return own * closed_form - b.mean() * pos_scores.sum() - c.mean() * pos_scores.square().sum() + residual


@dataclass(frozen=True)
class ShardPosterior(Posterior):
    """A posterior over this rank's rows whose sample uses the single process's noise for those rows.

    ``rsample`` draws the full ``[N, d]`` noise from the shared generator stream and keeps the rows
    ``orig_ids``, so a distributed run with the same seed sees the same :math:`\\varepsilon` per node.
    """

    orig_ids: torch.Tensor | None = None
    num_nodes: int = 0

    def rsample(self, num_samples: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.logstd is None or num_samples is not None or self.orig_ids is None:
            return super().rsample(num_samples, generator)
        eps = torch.randn((self.num_nodes, self.mu.shape[1]), generator=generator, dtype=self.mu.dtype)
        return self.mu + eps[self.orig_ids] * self.logstd.exp()


class ShardEncoder(nn.Module):
    """Wraps the shared :class:`graphvae.nn.encoder.GCNEncoder` so that its posterior is a :class:`ShardPosterior`."""

    def __init__(self, encoder: nn.Module, orig_ids: torch.Tensor, num_nodes: int):
        super().__init__()
        self.encoder = encoder
        self.orig_ids = orig_ids
        self.num_nodes = num_nodes

    def forward(self, inp, return_hidden: bool = False):
        runtime.release_free_memory()  # a step starts: what the previous step's backward freed
        posterior, hidden = self.encoder(inp, return_hidden=True)
        posterior = ShardPosterior(posterior.mu, posterior.logstd, self.orig_ids, self.num_nodes)
        return (posterior, hidden) if return_hidden else posterior
