r"""The latent layer: a diagonal Gaussian posterior, its reparameterized sample and its KL to N(0, I).

For :math:`q(z) = \mathcal N(\mu, \operatorname{diag}\sigma^2)` and the prior :math:`\mathcal N(0, I)`

.. math:: \mathrm{KL}(q \,\|\, p) = \tfrac12 \sum_d \left(\mu_d^2 + \sigma_d^2 - 1 - 2\log\sigma_d\right),

and :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)` (Kingma & Welling 2013).
A posterior with ``logstd=None`` is a point mass at ``mu``: the deterministic GAE/autoencoder, KL 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import torch

from .._validation import InputError


@dataclass(frozen=True)
class Posterior:
    """q(z | x) per row: ``mu`` and ``logstd`` of shape ``[n, d]`` (``logstd=None``: deterministic)."""

    mu: torch.Tensor
    logstd: torch.Tensor | None = None

    def __post_init__(self):
        if self.logstd is not None and self.logstd.shape != self.mu.shape:
            raise InputError(f"mu and logstd must have the same shape, got {list(self.mu.shape)} and "
                             f"{list(self.logstd.shape)}")

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
        return _Reparameterize.apply(self.mu, self.logstd, eps, self._std)

    def kl_to_standard_normal(self) -> torch.Tensor:
        """KL(q || N(0, I)) per row, shape ``[n]``, in closed form."""
        if self.logstd is None:
            return self.mu.new_zeros(self.mu.shape[0])
        return _StandardNormalKL.apply(self.mu, self.logstd, self._std)

    @cached_property
    def _std(self) -> torch.Tensor:
        r""":math:`\sigma = e^{\log\sigma}` without gradient, computed once for the sample and the KL."""
        return self.logstd.detach().exp()

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z | x) summed over latent dimensions (``z`` may carry leading sample dimensions)."""
        if self.logstd is None:
            raise ValueError("a deterministic posterior has no density")
        return normal_log_prob(z, self.mu, self.logstd)


def normal_log_prob(z: torch.Tensor, mu: torch.Tensor | float = 0.0, logstd: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; mu, exp(logstd)^2), summed over the last dimension."""
    logstd = torch.as_tensor(logstd, dtype=z.dtype, device=z.device)
    return (-0.5 * ((z - mu) * torch.exp(-logstd)).square() - logstd - 0.5 * math.log(2 * math.pi)).sum(-1)


class _Reparameterize(torch.autograd.Function):
    r""":math:`z = \mu + \varepsilon \odot e^{\log\sigma}` (``eps`` broadcast over leading sample dimensions) with the
    gradient by hand: :math:`\partial z/\partial\mu = 1`, :math:`\partial z/\partial\log\sigma = \varepsilon\,\sigma`
    (one autograd node instead of three; ``tests/test_elbo.py`` checks it against autograd). ``eps`` is consumed;
    ``std`` is :math:`\sigma` (no gradient), shared with the KL."""

    @staticmethod
    def forward(ctx, mu, logstd, eps, std):
        noise = eps.mul_(std)                              # eps * sigma: the output minus mu, and d z / d log sigma
        ctx.save_for_backward(noise)
        ctx.sample_dims = noise.dim() - mu.dim()
        return noise + mu

    @staticmethod
    def backward(ctx, grad):
        (noise,) = ctx.saved_tensors
        dims = tuple(range(ctx.sample_dims))
        grad_mu = grad.sum(dims) if dims else grad
        grad_logstd = (grad * noise).sum(dims) if dims else grad * noise
        return grad_mu, grad_logstd, None, None


class _StandardNormalKL(torch.autograd.Function):
    r""":math:`\tfrac12\sum_d(\mu_d^2 + \sigma_d^2 - 1 - 2\log\sigma_d)` per row with the gradient by hand:
    :math:`\partial/\partial\mu = \mu`, :math:`\partial/\partial\log\sigma = \sigma^2 - 1`
    (one autograd node instead of about eight; ``tests/test_elbo.py`` checks it against autograd); ``std`` is
    :math:`\sigma` without gradient."""

    @staticmethod
    def forward(ctx, mu, logstd, std):
        var_minus_one = torch.addcmul(std.new_full((), -1.0), std, std)   # sigma^2 - 1: also d KL / d log sigma
        ctx.save_for_backward(mu, var_minus_one)
        # sum_d (sigma^2 - 1 + mu^2) / 2 - log sigma
        return torch.add(-logstd, torch.addcmul(var_minus_one, mu, mu), alpha=0.5).sum(-1)

    @staticmethod
    def backward(ctx, grad):
        mu, var_minus_one = ctx.saved_tensors
        grad = grad.unsqueeze(-1)
        return mu * grad, var_minus_one * grad, None

