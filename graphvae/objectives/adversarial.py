r"""Adversarially regularized graph autoencoders (ARGA / ARGVA, Pan et al., IJCAI 2018).

A discriminator :math:`D(z) = \sigma(\mathrm{MLP}(z))` learns to tell prior samples
:math:`z' \sim \mathcal N(0, I)` from embeddings :math:`z_i`:

.. math:: \mathcal L_D = -\tfrac1N\sum_i \log D(z'_i) - \tfrac1N\sum_i \log\big(1 - D(z_i)\big),

and the encoder is regularized toward the prior by fooling it, :math:`\Omega = -\tfrac1N\sum_i \log D(z_i)`.

Both pieces plug into the shared machinery, not a second loop:

- :class:`AdversarialPenalty` is a :class:`graphvae.objectives.elbo.Penalty` of the one ELBO module. The link
  likelihood totals over the :math:`N^2` pairs and the trainer divides the loss by :math:`N^2`, so the
  penalty is :math:`\lambda N^2\,\Omega` and adds :math:`\lambda\,\Omega` to the loss. That loss is the
  class-balanced mean :math:`\tfrac12(\text{positives' mean BCE} + \text{non-edges' mean BCE})`, half of
  PyTorch Geometric's ``recon_loss``, to which its ARGA adds :math:`\Omega`: :math:`\lambda = 0.5` matches it.
- :class:`DiscriminatorStep` is the trainer's auxiliary step (``train_elbo(..., aux_step=...)``): after
  each encoder update it takes ``steps`` (5, as in PyG's example) Adam steps on :math:`\mathcal L_D` with its own optimizer, on the
  embeddings of that step (detached) and fresh prior samples from the trainer's generator.

The discriminator is kept out of the ELBO module's parameters (the penalty holds it unregistered), so
the encoder's optimizer never updates it. ARGVA regularizes the posterior means :math:`\mu`.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.encoder import EncoderInput, GCNEncoder
from ..nn.latent import Posterior
from .elbo import ELBOTerms, Penalty


class Discriminator(nn.Module):
    """``latent -> hidden -> hidden -> 1`` logits with ReLU (ARGA's discriminator)."""

    def __init__(self, latent: int, hidden: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z).squeeze(-1)


def discriminator_loss(discriminator: nn.Module, prior: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathcal L_D = -\mathrm{mean}\log D(z') - \mathrm{mean}\log(1 - D(z))` (``z`` detached by the caller)."""
    return F.softplus(-discriminator(prior)).mean() + F.softplus(discriminator(z)).mean()


def regularizer_loss(discriminator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    r""":math:`\Omega = -\mathrm{mean}\log D(z)` (the generator's loss)."""
    return F.softplus(-discriminator(z)).mean()


class AdversarialPenalty(Penalty):
    r"""``weight * c * Omega(mu)``: the adversarial regularizer (a mean over nodes) as a per-unit penalty of the
    ELBO module, :math:`c` being the link likelihood's normaliser :math:`N^2`."""

    normaliser = "unit"

    def __init__(self, discriminator: Discriminator, weight: float = 1.0):
        super().__init__()
        if not weight >= 0:
            raise ValueError(f"the adversarial weight must be non-negative, got {weight}")
        object.__setattr__(self, "discriminator", discriminator)  # unregistered: not an ELBO parameter
        self.weight = weight

    def omega(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
              encoder: GCNEncoder, generator: torch.Generator | None = None) -> torch.Tensor:
        return regularizer_loss(self.discriminator, posterior.mu)


class DiscriminatorStep:
    """The trainer's auxiliary step: ``steps`` Adam updates of the discriminator on the step's embeddings.

    ``optimizer(params, lr)`` builds its optimizer; ``None``: ``torch.optim.Adam``. The estimators pass the trainer's
    :func:`graphvae.training.trainer.adam` (the fused kernel without ``torch.optim``, whose first use imports
    ``torch._dynamo``: about 0.8 s, and a process-wide warnings filter of sympy's).
    """

    def __init__(self, discriminator: Discriminator, lr: float = 0.001, steps: int = 5,
                 optimizer: Callable[[list[torch.Tensor], float], Any] | None = None):
        self.discriminator = discriminator
        params = list(discriminator.parameters())
        self.optimizer = torch.optim.Adam(params, lr=lr) if optimizer is None else optimizer(params, lr)
        self.steps = steps
        self.last_loss: float | None = None

    def __call__(self, terms: ELBOTerms, generator: torch.Generator | None = None) -> None:
        z = terms.posterior.mu.detach()
        for _ in range(self.steps):
            prior = torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)
            self.optimizer.zero_grad(set_to_none=True)
            loss = discriminator_loss(self.discriminator, prior, z)
            loss.backward()
            self.optimizer.step()
            self.last_loss = float(loss.detach())
