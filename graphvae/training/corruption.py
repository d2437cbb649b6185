"""Corruptions for denoising: of images (:func:`corrupt`), of node features and of a graph's edges,
and the trainer's ``batches(epoch)`` that feed a corrupted input to the encoder with the clean target."""
from __future__ import annotations

from typing import Callable, Iterable

import torch

from .._validation import InputError
from ..data.graph import Graph
from ..nn.encoder import EncoderInput, edgeless_input, encoder_input
from ..nn.operator import csr_tensor, normalized_adjacency
from ..objectives.likelihood import LinkTarget
from ..objectives.masking import mask_edges
from .trainer import image_batches

NOISES = ("masking", "gaussian", "salt_pepper")

def corrupt(x: torch.Tensor, noise: str = "masking", level: float = 0.3,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""A corrupted copy :math:`\tilde x` of a batch of images ``x`` (values in [0, 1]).

    - ``"masking"``: each input unit is set to 0 with probability ``level`` (dropout on the input).
    - ``"gaussian"``: :math:`\tilde x = x + \text{level}\cdot\varepsilon`, :math:`\varepsilon\sim\mathcal N(0, I)`.
    - ``"salt_pepper"``: each unit is, with probability ``level``, replaced by 0 or 1 (equally likely).
    """
    if noise not in NOISES:
        raise InputError(f"unknown noise '{noise}' (choose from: {', '.join(NOISES)})")
    if not (level >= 0 and (noise == "gaussian" or level <= 1)):
        raise InputError(f"noise level must be in [0, 1] ({noise}), got {level}")
    if noise == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    hit = torch.rand(x.shape, generator=generator, device=x.device) < level
    if noise == "masking":
        return x.masked_fill(hit, 0.0)
    salt = (torch.rand(x.shape, generator=generator, device=x.device) < 0.5).to(x.dtype)
    return torch.where(hit, salt, x)


def hide_edges(edge_index: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Drop each undirected edge (both directions together) with probability ``fraction``: the visible
    part of :func:`graphvae.objectives.masking.mask_edges`."""
    if not 0 <= fraction < 1:
        raise InputError(f"the fraction of hidden edges must be in [0, 1), got {fraction}")
    return mask_edges(edge_index, fraction, generator)[0]


def mask_features(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Masking noise on node features: each stored entry (dense, or sparse CSR/COO) is zeroed with probability ``fraction``."""
    if not 0 <= fraction <= 1:
        raise InputError(f"the fraction of masked features must be in [0, 1], got {fraction}")
    if x.layout == torch.strided:
        return corrupt(x, "masking", fraction, generator)
    if x.layout != torch.sparse_csr:
        x = x.to_sparse_csr()
    values = corrupt(x.values(), "masking", fraction, generator)
    return csr_tensor(x.crow_indices(), x.col_indices(), values, tuple(x.shape))


def denoising_graph_batches(graph: Graph, hidden_edges: float, feature_mask: float,
                            generator: torch.Generator, fold: bool = True) -> Callable[[int], list]:
    """``batches(epoch)`` for :func:`graphvae.training.trainer.train_elbo`: a corrupted view of ``graph`` to encode, the whole graph as target.

    Each epoch the encoder gets :math:`\\hat A` of a random subset of the edges (a fraction
    ``hidden_edges`` hidden) and masked features, while :class:`LinkTarget` holds every edge of ``graph``.
    ``fold``: as in :func:`graphvae.encoder.encoder_input` (``False`` for a normalized encoder head).
    """
    n = int(graph.num_nodes)
    target = LinkTarget.from_edges(graph.edge_index, n)

    def batches(epoch: int) -> list:
        edges = hide_edges(graph.edge_index, hidden_edges, generator) if hidden_edges > 0 else graph.edge_index
        x = mask_features(graph.x, feature_mask, generator) if feature_mask > 0 else graph.x
        return [(encoder_input(x, normalized_adjacency(edges.numpy(), n), fold=fold, check_finite=False), target)]

    return batches


def denoising_image_batches(x: torch.Tensor, batch_size: int, noise: str, level: float,
                            generator: torch.Generator) -> Iterable[tuple[EncoderInput, torch.Tensor]]:
    """Mini-batches whose encoder input is :func:`corrupt`-ed and whose target is the clean batch."""
    for _, clean in image_batches(x, batch_size, generator):
        yield edgeless_input(corrupt(clean, noise, level, generator)), clean
