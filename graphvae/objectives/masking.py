r"""Edge masking (MaskGAE, Li et al. 2023): hide part of the training edges from the encoder, reconstruct them.

Each epoch every undirected training edge is hidden independently with probability ``rate``. The
encoder sees :math:`\hat A` of the *visible* edges only; the likelihood's positives are exactly the
*hidden* edges (both directions), so the model is trained to predict links it cannot see, which is
the link-prediction task itself. The non-edge sum still runs over all pairs that are not training
edges (visible edges are neither positives nor negatives) and keeps the O(E) control-variate
estimate of :class:`graphvae.objectives.likelihood.LinkLikelihood`:

.. math:: \log p(A_{\text{hidden}}\mid Z) = c\Big(w\sum_{(i,j)\in\mathcal H}\log\sigma(s_{ij})
          + \sum_{(i,j)\notin\mathcal T}\log\sigma(-s_{ij})\Big),

:math:`\mathcal H` the hidden directed pairs, :math:`\mathcal T` the training pairs and the diagonal,
:math:`w = |\bar{\mathcal T}| / |\mathcal H|` and :math:`c = N^2 / (2|\bar{\mathcal T}|)` (the paper's
class balancing, with the hidden edges as the positive class). The positives are summed exactly over
the pattern of :math:`\mathcal T` with weight 0 on the visible pairs, so the closed-form quadratic and
the sampled residual of the non-edge estimate are unchanged.

Validation and test edges never enter: masking only ever selects among the training edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import InputError
from ..nn.inner_product import pattern_scores
from .likelihood import LinkLikelihood, LinkTarget

if TYPE_CHECKING:
    from ..nn.operator import SparseOperator


#: how :func:`masked_batches` hides edges
MASK_MODES = ("undirected", "directed", "path")


def undirected_once(edge_index: torch.Tensor) -> torch.Tensor:
    """Each undirected edge of a symmetric ``[2, 2E]`` edge list once (``u < v``)."""
    return edge_index[:, edge_index[0] < edge_index[1]]


def symmetrized(pairs: torch.Tensor) -> torch.Tensor:
    """The undirected edges of directed ``pairs`` (an edge when either direction is there), each in both
    directions once: the visible graph of the directed maskings."""
    n = int(pairs.max()) + 1 if pairs.numel() else 1
    lo, hi = torch.minimum(pairs[0], pairs[1]).long(), torch.maximum(pairs[0], pairs[1]).long()  # int32: n^2 overflows
    keys = torch.unique((lo * n + hi)[lo < hi])  # 1-d keys: unique(dim=1) took 13.7 s of a 200k-node epoch
    once = torch.stack([keys // n, keys % n]).to(pairs.dtype)
    return torch.cat([once, once.flip(0)], dim=1)


def mask_edges(edge_index: torch.Tensor, rate: float, generator: torch.Generator | None = None,
               directed: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a symmetric edge list into ``(visible, hidden)``, each symmetric: every undirected edge
    (both directions together) is hidden with probability ``rate``.

    ``directed=True`` is the masking of MaskGAE's code: each *directed* pair ``(u, v)`` of the list is
    hidden independently; ``visible`` is the symmetrized rest (an undirected edge stays visible when
    either direction survived, so a fraction ``rate**2`` of the edges is hidden from the encoder) and
    ``hidden`` holds the hidden directed pairs only (one direction each, possibly with the other visible).
    """
    if not 0 <= rate < 1:
        raise InputError(f"the masking rate must be in [0, 1), got {rate}")
    if directed:
        hide = torch.rand(edge_index.shape[1], generator=generator) < rate
        return symmetrized(edge_index[:, ~hide]), edge_index[:, hide]
    once = undirected_once(edge_index)
    hide = torch.rand(once.shape[1], generator=generator) < rate
    both = lambda e: torch.cat([e, e.flip(0)], dim=1)
    return both(once[:, ~hide]), both(once[:, hide])


def mask_paths(edge_index: torch.Tensor, num_nodes: int, rate: float, walk_length: int = 3,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MaskGAE's path masking: ``(visible, hidden)`` where ``hidden`` are the directed pairs walked by uniform
    random walks of ``walk_length`` steps from ``round(rate * num_nodes)`` distinct random start nodes (a walk
    stops at a node without neighbours) and ``visible`` the symmetrized rest, as in :func:`mask_edges` with
    ``directed=True``. Masking along paths hides correlated edges around the same nodes."""
    if not 0 <= rate <= 1:
        raise InputError(f"the share of walk start nodes must be in [0, 1], got {rate}")
    if walk_length < 1:
        raise InputError(f"the walk length must be at least 1, got {walk_length}")
    order = torch.argsort(edge_index[0].long() * num_nodes + edge_index[1])  # int64 keys: int32 ones overflow
    row, col = edge_index[0][order], edge_index[1][order]
    degree = torch.bincount(row, minlength=num_nodes)
    start = torch.zeros(num_nodes + 1, dtype=torch.long)
    start[1:] = torch.cumsum(degree, 0)
    hide = torch.zeros(row.numel(), dtype=torch.bool)
    node = torch.randperm(num_nodes, generator=generator)[:round(rate * num_nodes)]
    for _ in range(walk_length):
        node = node[degree[node] > 0]
        pick = (torch.rand(node.numel(), generator=generator) * degree[node]).long().clamp(max=degree[node] - 1)
        step = start[node] + pick
        hide[step] = True
        node = col[step]
    return symmetrized(torch.stack([row[~hide], col[~hide]])), torch.stack([row[hide], col[hide]])


@dataclass(frozen=True)
class MaskedLinkTarget:
    """The training graph as :class:`LinkTarget` (what is *not* a negative) and the hidden pairs' weights.

    ``weights[e]`` is 1 if positive ``e`` of ``base.positives`` (CSR order) is a hidden edge, else 0.
    """

    base: LinkTarget
    weights: torch.Tensor
    hidden_edge_index: torch.Tensor

    @classmethod
    def from_hidden(cls, base: LinkTarget, hidden_edge_index: torch.Tensor) -> "MaskedLinkTarget":
        """Weights for the directed pairs ``hidden_edge_index`` (each must be a pair of ``base``)."""
        n = base.num_nodes
        keys = hidden_edge_index[0].long() * n + hidden_edge_index[1].long()
        pos = torch.searchsorted(base.keys, keys)
        if keys.numel() and not bool((base.keys[pos.clamp(max=base.keys.numel() - 1)] == keys).all()):
            raise InputError("hidden edges must be training edges")
        weights = torch.zeros(base.keys.numel())
        weights[pos] = 1.0
        return cls(base, weights, hidden_edge_index)

    @property
    def num_nodes(self) -> int:
        return self.base.num_nodes

    @property
    def num_hidden(self) -> int:
        """Directed hidden pairs: the positives."""
        return int(self.weights.sum())


class UndirectedMasking:
    r"""The masking of :func:`mask_edges` (undirected) with all but the draw done once: each :meth:`draw` gives
    :math:`\hat A` of the visible edges and the :class:`MaskedLinkTarget` of the hidden ones.

    :meth:`draw` makes :func:`mask_edges`' draws (one uniform per edge of ``undirected_once(edge_index)``). Then,
    instead of building :math:`\hat A` from the visible edge list through scipy and looking the hidden pairs up
    in ``base`` by binary search (about 1.5 ms per Cora epoch), it keeps the visible entries of the training
    graph's :math:`A + I`, stored once in CSR order with each edge's two positions, and normalizes them:
    :math:`\hat A_{ij} = (d_i d_j)^{-1/2}` with :math:`d_i` the kept entries of row ``i``, the square roots in
    float64 and the products in float32 as :func:`graphvae.nn.operator.gcn_normalize` computes them, so
    :math:`\hat A` and the target are those of ``masked_batches``' general path bit for bit (``tests/test_zoo.py``).
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, base: LinkTarget):
        from .._sparse import index_dtype

        n, self.once, self.base = num_nodes, undirected_once(edge_index), base
        u, v = self.once[0].long(), self.once[1].long()
        m, loops = u.numel(), torch.arange(n)
        # every stored entry of A + I once, in CSR order; inverse: the entry of each (u, v), (v, u), (i, i)
        keys, inverse = torch.unique(torch.cat([u * n + v, v * n + u, loops * (n + 1)]), return_inverse=True)
        self.entry_row, entry_col = keys // n, keys % n
        self.itype = getattr(torch, np.dtype(index_dtype(keys.numel(), n)).name)
        self.entry_col = entry_col.to(self.itype)
        self.crow = torch.zeros(n + 1, dtype=torch.long)
        self.crow[1:] = torch.bincount(self.entry_row, minlength=n).cumsum(0)
        self.positions, self.diagonal = inverse[:2 * m], inverse[2 * m:]
        # the two directions' positions among base's positives (MaskedLinkTarget.weights)
        pair_keys = torch.cat([u * n + v, v * n + u])
        self.base_positions = torch.searchsorted(base.keys, pair_keys)
        found = base.keys[self.base_positions.clamp(max=max(base.keys.numel() - 1, 0))] == pair_keys
        if m and not bool(found.all()):
            raise InputError("hidden edges must be training edges")

    def to(self, device: torch.device | str, memo: dict | None = None) -> "UndirectedMasking":
        """A copy whose draws happen on ``device`` (give :meth:`draw` a generator there); ``memo``: as
        :func:`graphvae._device.to_device`'s, so that ``base`` is the link target already moved for training."""
        from .._device import to_device

        out = UndirectedMasking.__new__(UndirectedMasking)
        for name, value in vars(self).items():
            setattr(out, name, to_device(value, torch.device(device), memo) if name != "itype" else value)
        return out

    def draw(self, rate: float, generator: torch.Generator | None = None) -> tuple[SparseOperator, MaskedLinkTarget]:
        """One masking: ``(Â of the visible edges, MaskedLinkTarget of the hidden ones)``."""
        from .._sparse import csr_tensor
        from ..nn.operator import SparseOperator, kept_row_pointers

        if not 0 <= rate < 1:
            raise InputError(f"the masking rate must be in [0, 1), got {rate}")
        n = self.crow.numel() - 1
        device = self.once.device
        hide = torch.rand(self.once.shape[1], generator=generator, device=device) < rate
        shown = (~hide).repeat(2)
        # an entry stays if any copy of its edge is shown (duplicate edges are drawn separately, as in mask_edges)
        copies = torch.zeros(self.entry_row.numel(), dtype=torch.int32, device=device).index_add_(
            0, self.positions, shown.int())
        keep = copies > 0
        keep[self.diagonal] = True
        crow = kept_row_pointers(self.crow, keep)
        degree = crow.diff()
        if int(crow[-1]) == n:  # no visible edge: the identity, as normalized_adjacency gives it
            adj = SparseOperator(None, n=n)
        else:
            d_inv_sqrt = (1.0 / torch.sqrt(degree.double())).float()
            kept = keep.nonzero().squeeze(1)
            row, col = self.entry_row.index_select(0, kept), self.entry_col.index_select(0, kept)
            values = d_inv_sqrt.index_select(0, row) * d_inv_sqrt.index_select(0, col.long())
            adj = SparseOperator.from_csr(csr_tensor(crow.to(self.itype), col, values, (n, n)))
        weights = torch.zeros(self.base.keys.numel(), device=device)
        weights[self.base_positions[~shown]] = 1.0
        hidden = self.once[:, hide]
        return adj, MaskedLinkTarget(self.base, weights, torch.cat([hidden, hidden.flip(0)], dim=1))


class MaskedLinkLikelihood(LinkLikelihood):
    """:class:`LinkLikelihood` whose positives are only the hidden edges of a :class:`MaskedLinkTarget`
    (see the module docstring); the non-edge estimate is the parent's, over the non-training pairs."""

    def forward(self, z: torch.Tensor, target: MaskedLinkTarget, generator: torch.Generator | None = None) -> torch.Tensor:
        base = target.base
        pos_scores = pattern_scores(z, base.positives)
        pos = (F.logsigmoid(pos_scores) * target.weights.to(z.dtype)).sum()
        neg = self.negative_sum(z, pos_scores, base, generator)
        if not self.reweight:
            return pos + neg
        negatives, hidden = float(base.num_negative), float(max(target.num_hidden, 1))
        weight, norm = negatives / hidden, float(base.num_nodes) ** 2 / (2 * negatives)
        return norm * (weight * pos + neg)

    def scale(self, target: MaskedLinkTarget) -> float:
        return float(target.num_nodes) ** 2


def masked_degrees(hidden_edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Per node, the number of hidden edges it touches (the degree decoder's target; symmetric input)."""
    return torch.bincount(hidden_edge_index[0].long(), minlength=num_nodes).to(torch.float32)


def masked_batches(train_edge_index: torch.Tensor, x, num_nodes: int, rate: float, generator: torch.Generator,
                   fold: bool = True, base: LinkTarget | None = None, mode: str = "undirected",
                   walk_length: int = 3, device: torch.device | None = None, memo: dict | None = None):
    """``batches(epoch)`` for :func:`graphvae.training.trainer.train_elbo`: a fresh mask each epoch, the encoder on
    the visible edges, :class:`MaskedLinkTarget` of the hidden ones. ``mode``: ``"undirected"`` or ``"directed"``
    (:func:`mask_edges`), or ``"path"`` (:func:`mask_paths`, walks of ``walk_length`` steps
    from a share ``rate`` of the nodes).

    ``device`` (undirected mode with ``fold=False`` only; ``None``: the CPU): draw the masks there, ``generator``
    being a generator on that device. The masking is prepared on the CPU and moved once (``memo`` maps the CPU
    ``base`` to its moved copy: :func:`graphvae._device.to_device`), so each epoch's view is made on the device."""
    if mode not in MASK_MODES:
        raise InputError(f"unknown masking mode '{mode}' (choose from: {', '.join(MASK_MODES)})")
    from ..nn.encoder import _as_features, encoder_input
    from ..nn.operator import normalized_adjacency

    if device is not None and (mode != "undirected" or fold):
        raise ValueError("masks are drawn on a device in undirected mode with unfolded features only (fold=False)")
    base = base if base is not None else LinkTarget.from_edges(train_edge_index, num_nodes)
    if not fold:  # unfolded features do not depend on the mask: converted once (with their cached transpose)
        x = _as_features(x)
    if mode == "undirected":  # mask_edges' draws; Â and the target from positions found once
        masking = UndirectedMasking(train_edge_index, num_nodes, base)
        if device is not None:
            from .._device import to_device

            masking, x = masking.to(device, memo), to_device(x, device)

        def undirected_batches(epoch: int) -> list:
            adj, target = masking.draw(rate, generator)
            return [(encoder_input(x, adj, fold=fold, check_finite=False), target)]

        return undirected_batches

    def batches(epoch: int) -> list:
        if mode == "path":
            visible, hidden = mask_paths(train_edge_index, num_nodes, rate, walk_length, generator)
        else:
            visible, hidden = mask_edges(train_edge_index, rate, generator, directed=mode == "directed")
        inp = encoder_input(x, normalized_adjacency(visible.numpy(), num_nodes), fold=fold, check_finite=False)
        return [(inp, MaskedLinkTarget.from_hidden(base, hidden))]

    return batches


__all__ = ["MASK_MODES", "mask_edges", "mask_paths", "MaskedLinkTarget", "MaskedLinkLikelihood", "masked_degrees", "masked_batches",
           "UndirectedMasking",
           "symmetrized", "undirected_once"]
