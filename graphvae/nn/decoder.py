r"""Decoders :math:`p(x \mid z)` for node/image attributes: a stack of GCN layers on an edgeless graph.

On a graph with no edges :math:`\hat A = I`, so :class:`MLPDecoder` is the plain MLP decoder of
Kingma & Welling (2013), built from the same :class:`graphvae.nn.encoder.GCNLayer` as the encoder.
(The graph decoder, the inner product, is :class:`graphvae.objectives.likelihood.LinkLikelihood`.)
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from .._validation import InputError
from .encoder import GCNLayer
from .operator import SparseOperator


class MLPDecoder(nn.Module):
    """``latent -> hidden... -> out_dim`` with ``activation`` between layers and no output nonlinearity."""

    def __init__(self, latent: int, hidden: Sequence[int], out_dim: int,
                 activation: Callable[[torch.Tensor], torch.Tensor] = torch.relu):
        super().__init__()
        widths = [latent, *hidden, out_dim]
        self.layers = nn.ModuleList(GCNLayer(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.activation = activation

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        latent = self.layers[0].weight.shape[-2]
        if not isinstance(z, torch.Tensor) or z.dim() < 2 or z.shape[-1] != latent:
            got = list(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise InputError(f"the decoder takes z of shape [..., n, {latent}], got {got}")
        identity = SparseOperator(None, n=z.shape[-2])
        h = z
        for i, layer in enumerate(self.layers):
            h = layer(h, identity, propagated=True)
            if i < len(self.layers) - 1:
                h = self.activation(h)
        return h
