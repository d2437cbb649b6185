r"""The latent layer: a diagonal Gaussian posterior, its reparameterized sample and its KL to N(0, I).

For :math:`q(z) = \mathcal N(\mu, \operatorname{diag}\sigma^2)` and the prior :math:`\mathcal N(0, I)`

.. math:: \mathrm{KL}(q \,\|\, p) = \tfrac12 \sum_d \left(\mu_d^2 + \sigma_d^2 - 1 - 2\log\sigma_d\right),

and :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)` (Kingma & Welling 2013).
A posterior with ``logstd=None`` is a point mass at ``mu``: the deterministic GAE/autoencoder, KL 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch


@dataclass(frozen=True)
class Posterior:
    """q(z | x) per row: ``mu`` and ``logstd`` of shape ``[n, d]`` (``logstd=None``: deterministic)."""

    mu: torch.Tensor
    logstd: torch.Tensor | None = None

    @property
    def is_deterministic(self) -> bool:
        return self.logstd is None

    def rsample(self, num_samples: int | None = None,
                generator: torch.Generator | Sequence[torch.Generator] | None = None) -> torch.Tensor:
        """Reparameterized sample ``[n, d]`` (or ``[num_samples, n, d]``); the mean if deterministic.

        ``generator`` may be a sequence of ``C`` generators: the rows are then ``C`` equal blocks (the
        components of a disjoint union, :mod:`graphvae.estimators.batched`) and block ``c`` draws its noise from
        generator ``c``, exactly as it would alone.
        """
        if self.logstd is None:
            return self.mu if num_samples is None else self.mu.expand(num_samples, *self.mu.shape)
        shape = self.mu.shape if num_samples is None else (num_samples, *self.mu.shape)
        if isinstance(generator, (list, tuple)):
            block = (*shape[:-2], shape[-2] // len(generator), shape[-1])
            eps = torch.cat([torch.randn(block, generator=g, dtype=self.mu.dtype, device=self.mu.device)
                             for g in generator], dim=-2)
        else:
            eps = torch.randn(shape, generator=generator, dtype=self.mu.dtype, device=self.mu.device)
        return self.mu + eps * self.logstd.exp()

    def kl_to_standard_normal(self) -> torch.Tensor:
        """KL(q || N(0, I)) per row, shape ``[n]``, in closed form."""
        if self.logstd is None:
            return self.mu.new_zeros(self.mu.shape[0])
        return 0.5 * (self.mu.square() + (2 * self.logstd).exp() - 1 - 2 * self.logstd).sum(-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z | x) summed over latent dimensions (``z`` may carry leading sample dimensions)."""
        if self.logstd is None:
            raise ValueError("a deterministic posterior has no density")
        return normal_log_prob(z, self.mu, self.logstd)


def normal_log_prob(z: torch.Tensor, mu: torch.Tensor | float = 0.0, logstd: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; mu, exp(logstd)^2), summed over the last dimension."""
    logstd = torch.as_tensor(logstd, dtype=z.dtype, device=z.device)
    return (-0.5 * ((z - mu) * torch.exp(-logstd)).square() - logstd - 0.5 * math.log(2 * math.pi)).sum(-1)
