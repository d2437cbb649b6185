r"""The one ELBO module shared by the VGAE, the GAE, the image VAE and the autoencoders.

.. math:: \mathcal L = \log p(\text{data} \mid z) - \beta\, \mathrm{KL}\big(q(z\mid x)\,\|\,\mathcal N(0, I)\big)
          - \textstyle\sum_r \Omega_r, \qquad z = \mu + \sigma\odot\varepsilon,

with the likelihood a pluggable term (links: :class:`graphvae.likelihood.LinkLikelihood`; pixels:
:mod:`graphvae.images`) and optional penalties :math:`\Omega_r` (the sparse and contractive
autoencoders). A deterministic encoder has KL 0, which turns the ELBO into an autoencoder loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from ._stages import stage
from .encoder import EncoderInput, GCNEncoder
from .latent import Posterior
from .likelihood import Likelihood


@dataclass
class ELBOTerms:
    """One evaluation of the objective (totals over the batch or graph, not averages)."""

    log_likelihood: torch.Tensor
    kl: torch.Tensor
    penalty: torch.Tensor
    beta: float
    scale: float
    posterior: Posterior

    @property
    def elbo(self) -> torch.Tensor:
        return self.log_likelihood - self.beta * self.kl

    @property
    def loss(self) -> torch.Tensor:
        """What the optimizer minimizes: ``-(ELBO - penalties) / scale``."""
        return (self.penalty - self.elbo) / self.scale


class Penalty(nn.Module):
    """A regularizer :math:`\\Omega(x)` subtracted from the ELBO: ``forward(inp, posterior, hidden, encoder)``."""

    def forward(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
                encoder: GCNEncoder) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class WeightDecay(Penalty):
    r"""L2 regularization of the encoder's weights, :math:`\Omega = \tfrac{\lambda}{2}\,c\,\sum_W \lVert W\rVert_F^2`.

    The trainer divides the loss by the likelihood's ``scale`` :math:`c` (``scale`` here), so the loss gains
    :math:`\tfrac{\lambda}{2}\sum\lVert W\rVert^2`: the gradient is Adam's coupled ``weight_decay=λ``.
    Biases are not decayed.
    """

    def __init__(self, weight: float, scale: float):
        super().__init__()
        if not weight >= 0:
            raise ValueError(f"weight decay must be non-negative, got {weight}")
        self.weight = weight
        self.scale = scale

    def forward(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
                encoder: GCNEncoder) -> torch.Tensor:
        squares = sum(p.square().sum() for name, p in encoder.named_parameters() if name.endswith("weight"))
        return 0.5 * self.weight * self.scale * squares


class ELBO(nn.Module):
    """``ELBO(encoder, likelihood, beta, penalties)(inp, target) -> ELBOTerms``."""

    def __init__(self, encoder: GCNEncoder, likelihood: Likelihood, beta: float = 1.0,
                 penalties: Sequence[Penalty] = ()):
        super().__init__()
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got {beta}")
        self.encoder = encoder
        self.likelihood = likelihood
        self.penalties = nn.ModuleList(penalties)
        self.beta = beta

    def forward(self, inp: EncoderInput, target: Any, generator: torch.Generator | None = None) -> ELBOTerms:
        with stage("elbo.encoder"):
            posterior, hidden = self.encoder(inp, return_hidden=True)
        with stage("elbo.rsample"):
            z = posterior.rsample(generator=generator)
        with stage("elbo.likelihood"):
            log_lik = self.likelihood(z, target, generator)
        with stage("elbo.kl"):
            kl = posterior.kl_to_standard_normal().sum()
        penalty = sum((p(inp, posterior, hidden, self.encoder) for p in self.penalties), log_lik.new_zeros(()))
        return ELBOTerms(log_lik, kl, penalty, self.beta, self.likelihood.scale(target), posterior)
