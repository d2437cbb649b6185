r"""The one ELBO module shared by the VGAE, the GAE, the image VAE and the autoencoders.

.. math:: \mathcal L = \log p(\text{data} \mid z) - \beta\, \mathrm{KL}\big(q(z\mid x)\,\|\,\mathcal N(0, I)\big)
          - \textstyle\sum_r \Omega_r, \qquad z = \mu + \sigma\odot\varepsilon,

and beside it the importance-weighted bound of Burda et al. (2016), :meth:`ELBO.iwae`,

.. math:: \mathcal L_k(x) = \log \frac1k \sum_{i=1}^k \frac{p(x\mid z_i)\,p(z_i)}{q(z_i\mid x)},
          \qquad z_i \sim q(z\mid x),

whose expectation equals the ELBO for :math:`k = 1` and rises to :math:`\log p(x)`; it works for any
likelihood that gives per-row log-probabilities (``Likelihood.log_prob_rows``). With the likelihood a pluggable term (links: :class:`graphvae.objectives.likelihood.LinkLikelihood`; pixels:
:mod:`graphvae.objectives.pixel_likelihood`) and optional penalties :math:`\Omega_r` (the sparse and contractive
autoencoders). A deterministic encoder has KL 0, which turns the ELBO into an autoencoder loss.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from .._stages import stage
from .._validation import InputError
from ..nn.encoder import EncoderInput, GCNEncoder
from ..nn.latent import Posterior, normal_log_prob
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
        """``log p(x|z) - KL``, whatever ``beta``: the evidence lower bound, a bound on ``log p(x)``, for the pixel
        likelihoods and an unweighted link likelihood (``reweight=False``). With the paper's reweighted link
        likelihood (VGAE's default) ``log p(x|z)`` is Kipf & Welling's weighted reconstruction term (the edges
        up-weighted to balance the non-edges), so this is their objective, not a bound on ``log p(A)`` (on Cora
        about 0.55 times the plain ELBO's value)."""
        return self.log_likelihood - self.kl

    @property
    def objective(self) -> torch.Tensor:
        """What training maximizes before the penalties: ``log p(x|z) - beta KL`` (the ELBO when ``beta = 1``; with
        another ``beta`` not a bound on ``log p(x)``, so never reported as the ELBO)."""
        return torch.sub(self.log_likelihood, self.kl, alpha=self.beta)

    @property
    def loss(self) -> torch.Tensor:
        """What the optimizer minimizes: ``-(objective - penalties) / scale``."""
        return (self.penalty - self.objective) / self.scale


class Penalty(nn.Module):
    r"""A regularizer :math:`\lambda\,\Omega` subtracted from the ELBO, in the likelihood's own units.

    The trainer minimizes ``(penalty - ELBO) / c`` with :math:`c` the likelihood's normaliser
    (``likelihood.scale(target)``: the batch size for pixels, :math:`N^2` node pairs for links). A penalty
    says what its :meth:`omega` is, and the ELBO scales it so that :math:`\lambda` means the same on
    every kind of data:

    - ``normaliser = "row"``: :math:`\Omega` is a total over the encoder's :math:`n` rows (images, nodes);
      it enters as :math:`\lambda\,\tfrac{c}{n}\,\Omega`, so the loss gains :math:`\lambda` times the
      mean over rows (for images :math:`c = n`: per image, as in the papers);
    - ``normaliser = "unit"``: :math:`\Omega` is already per unit of the loss (a mean, or a
      parameter norm); it enters as :math:`\lambda\,c\,\Omega`, so the loss gains :math:`\lambda\,\Omega`.
    """

    normaliser = "row"
    weight: float

    def omega(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
              encoder: GCNEncoder, generator: torch.Generator | None = None) -> torch.Tensor:  # pragma: no cover - interface
        r"""The unweighted :math:`\Omega` (see ``normaliser``)."""
        raise NotImplementedError

    def forward(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor], encoder: GCNEncoder,
                units: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        r""":math:`\lambda\,\Omega` times the factor of ``normaliser`` for a likelihood of ``units`` (``None``: factor 1
        for a row penalty, i.e. the images' per-row totals)."""
        if self.normaliser == "row":
            factor = 1.0 if units is None else units / posterior.mu.shape[0]
        elif units is None:
            raise ValueError(f"{type(self).__name__} is per likelihood unit: pass the likelihood's units")
        else:
            factor = units
        return (self.weight * factor) * self.omega(inp, posterior, hidden, encoder, generator)


class WeightDecay(Penalty):
    r"""L2 regularization of the encoder's weights, :math:`\Omega = \tfrac12\sum_W \lVert W\rVert_F^2` per unit.

    The ELBO multiplies it by the likelihood's normaliser :math:`c` and the trainer divides the loss by
    :math:`c`, so the loss gains :math:`\tfrac{\lambda}{2}\sum\lVert W\rVert^2`: the gradient is Adam's
    coupled ``weight_decay=λ``. Biases are not decayed; every parameter named ``weight`` is, which includes a batch
    norm's scale γ (MaskGAE's own code decays every parameter, decoders included).
    """

    normaliser = "unit"

    def __init__(self, weight: float):
        super().__init__()
        if not weight >= 0:
            raise ValueError(f"weight decay must be non-negative, got {weight}")
        self.weight = weight

    def omega(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
              encoder: GCNEncoder, generator: torch.Generator | None = None) -> torch.Tensor:
        squares = sum(p.square().sum() for name, p in encoder.named_parameters() if name.endswith("weight"))
        return 0.5 * squares


class ELBO(nn.Module):
    """``ELBO(encoder, likelihood, beta, penalties)(inp, target) -> ELBOTerms``."""

    def __init__(self, encoder: GCNEncoder, likelihood: Likelihood, beta: float = 1.0,
                 penalties: Sequence[Penalty] = ()):
        super().__init__()
        if not beta >= 0:  # NaN too
            raise InputError(f"beta must be non-negative, got {beta}")
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
        units = self.likelihood.scale(target)
        penalty = sum((p(inp, posterior, hidden, self.encoder, units, generator) for p in self.penalties),
                      log_lik.new_zeros(()))
        return ELBOTerms(log_lik, kl, penalty, self.beta, units, posterior)

    @staticmethod
    def log_prior(z: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(z)` of the standard normal prior (the one the KL term is taken against), per row."""
        return normal_log_prob(z)

    def iwae(self, inp: EncoderInput, target: Any, k: int, generator: torch.Generator | None = None,
             samples_per_chunk: int | None = None) -> torch.Tensor:
        """One draw of the ``k``-sample importance-weighted bound per row (``[n]``, nats), in chunks of samples."""
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise InputError(f"k must be an integer of at least 1, got {k!r}")
        posterior = self.encoder(inp)
        if posterior.is_deterministic:
            raise InputError("the importance-weighted bound needs a variational encoder")
        chunk = k if samples_per_chunk is None else max(1, min(k, samples_per_chunk))
        log_w = []
        for s in range(0, k, chunk):
            z = posterior.rsample(min(chunk, k - s), generator)  # [s, n, d]
            log_w.append(self.likelihood.log_prob_rows(z, target) + self.log_prior(z) - posterior.log_prob(z))
        return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(k)
