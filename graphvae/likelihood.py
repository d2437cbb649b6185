r"""Likelihood terms :math:`\log p(\text{data} \mid z)` of the ELBO.

A likelihood is a module ``lik(z, target, generator) -> scalar`` returning the (estimated) total
log-likelihood, and ``lik.scale(target)``: the number of units the training loss averages over.
The graph case is :class:`LinkLikelihood`; the pixel likelihoods of the image VAE live in
:mod:`graphvae.images` and plug into the same :class:`graphvae.elbo.ELBO`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .operator import adjacency_matrix


class Likelihood(nn.Module):
    """Base class: ``forward(z, target, generator)`` gives log p(target | z) summed over the data."""

    def scale(self, target) -> float:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class LinkTarget:
    """The observed (training) graph as the likelihood sees it, built once per graph.

    ``crow``/``col``/``row`` describe the positive ordered pairs in CSR order: every training edge in
    both directions plus, if ``self_loops``, the diagonal (as in the paper's reconstruction target
    ``A + I``). ``keys = row * N + col`` is sorted, for O(log E) membership tests of sampled pairs.
    """

    num_nodes: int
    crow: torch.Tensor
    col: torch.Tensor
    row: torch.Tensor
    keys: torch.Tensor

    @classmethod
    def from_edges(cls, edge_index: torch.Tensor | np.ndarray, num_nodes: int, self_loops: bool = True) -> "LinkTarget":
        a = adjacency_matrix(edge_index, num_nodes)
        if self_loops:
            a = (a + _identity(num_nodes)).tocsr()
        a.sort_indices()
        crow = torch.from_numpy(a.indptr.astype(np.int64))
        col = torch.from_numpy(a.indices.astype(np.int64))
        row = torch.repeat_interleave(torch.arange(num_nodes), crow.diff())
        return cls(num_nodes, crow, col, row, row * num_nodes + col)

    @property
    def num_positive(self) -> int:
        return int(self.col.numel())

    @property
    def num_negative(self) -> int:
        return self.num_nodes ** 2 - self.num_positive

    def is_positive(self, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
        """Boolean mask: which ordered pairs ``(row, col)`` are positives."""
        keys = row * self.num_nodes + col
        pos = torch.searchsorted(self.keys, keys).clamp(max=self.keys.numel() - 1)
        return self.keys[pos] == keys


def _identity(n: int):
    import scipy.sparse as sp
    return sp.identity(n, dtype=np.float32, format="csr")


class LinkLikelihood(Likelihood):
    r"""Bernoulli likelihood of the adjacency under the inner-product decoder :math:`p(A_{ij}=1)=\sigma(z_i^\top z_j)`.

    Over all :math:`N^2` ordered pairs, with :math:`\mathcal P` the positives and :math:`\mathcal N`
    the other pairs, the paper's reweighted objective (``balanced=True``; Kipf & Welling weight the
    rare positives by :math:`|\mathcal N|/|\mathcal P|` and normalize) is

    .. math:: \log p(A\mid Z) = \frac{N^2}{2}\Big(\frac{1}{|\mathcal P|}\sum_{\mathcal P}\log\sigma(s_{ij})
              + \frac{1}{|\mathcal N|}\sum_{\mathcal N}\log\sigma(-s_{ij})\Big),

    and ``balanced=False`` gives the plain sum :math:`\sum_{\mathcal P}\log\sigma(s)+\sum_{\mathcal N}\log\sigma(-s)`.
    The positive sum is exact (O(E)). The sum over the :math:`O(N^2)` non-edges is estimated without
    bias: for every node :math:`i`, ``k`` columns :math:`j` are drawn uniformly from all :math:`N`
    nodes, pairs that are positives are masked out, and the sum is weighted by :math:`N/k`, so its
    expectation is exactly the full sum. ``k = ceil(negatives_per_positive * |P| / N)``. Memory and
    time are O(E); no :math:`N\times N` tensor is formed.
    """

    def __init__(self, negatives_per_positive: float = 1.0, balanced: bool = True):
        super().__init__()
        if negatives_per_positive <= 0:
            raise ValueError(f"negatives_per_positive must be positive, got {negatives_per_positive}")
        self.negatives_per_positive = negatives_per_positive
        self.balanced = balanced

    def scale(self, target: LinkTarget) -> float:
        return float(target.num_nodes) ** 2

    def negatives_per_node(self, target: LinkTarget) -> int:
        return max(1, int(np.ceil(self.negatives_per_positive * target.num_positive / target.num_nodes)))

    def sample_pairs(self, target: LinkTarget, generator: torch.Generator | None = None):
        """``(row, col, keep)``: ``k`` uniform columns for every row, and the mask of non-positive pairs."""
        n, k = target.num_nodes, self.negatives_per_node(target)
        col = torch.randint(n, (n * k,), generator=generator, device=target.col.device)
        row = torch.arange(n, device=col.device).repeat_interleave(k)
        return row, col, ~target.is_positive(row, col)

    def forward(self, z: torch.Tensor, target: LinkTarget, generator: torch.Generator | None = None) -> torch.Tensor:
        n = target.num_nodes
        pos = F.logsigmoid(pair_scores(z, target.row, target.col)).sum()
        row, col, keep = self.sample_pairs(target, generator)
        k = row.numel() // n
        neg = (F.logsigmoid(-pair_scores(z, row, col)) * keep).sum() * (n / k)
        if not self.balanced:
            return pos + neg
        return 0.5 * n * n * (pos / target.num_positive + neg / target.num_negative)


def pair_scores(z: torch.Tensor, row: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    r"""Inner-product decoder logits :math:`s_{ij} = z_i^\top z_j` for the pairs ``(row[e], col[e])``."""
    return (z[row] * z[col]).sum(-1)
