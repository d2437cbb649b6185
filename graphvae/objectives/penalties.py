r"""Penalties :math:`\Omega` of the ELBO module for the sparse and contractive autoencoders, and the encoder Jacobian.

Each is a :class:`graphvae.objectives.elbo.Penalty` whose :meth:`omega` is a total over the encoder's rows; the ELBO
scales it by the likelihood's normaliser, so :math:`\lambda` means "per image" and "per node" alike.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.distributions import Bernoulli, kl_divergence

from .._validation import InputError
from ..nn.encoder import EncoderInput, GCNEncoder, _usable
from ..nn.latent import Posterior
from .elbo import Penalty

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}

# derivative of each activation written in terms of its output h = act(a)
_DERIVATIVE_FROM_OUTPUT: dict[Callable, Callable[[torch.Tensor], torch.Tensor]] = {
    torch.sigmoid: lambda h: h * (1 - h),
    torch.tanh: lambda h: 1 - h.square(),
    torch.relu: lambda h: (h > 0).to(h.dtype),
}


# --------------------------------------------------------------------------------------------- penalties
class SparsityKL(Penalty):
    r"""Sparsity penalty :math:`\lambda\, n \sum_j \mathrm{KL}(\rho\,\|\,\hat\rho_j)` on sigmoid hidden units.

    :math:`\hat\rho_j = \frac1n \sum_{m=1}^n h_{mj}` is the mean activation of unit :math:`j` over the
    ``n`` rows of the batch and the KL is between Bernoulli variables,
    :math:`\rho\log\frac{\rho}{\hat\rho_j} + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}` (computed by
    :func:`torch.distributions.kl_divergence`). The factor ``n`` makes it a total over the batch,
    so the per-row loss is reconstruction :math:`+\ \lambda\sum_j\mathrm{KL}`. Applies to every
    hidden layer of the encoder; activations must lie in [0, 1] (sigmoid).
    """

    def __init__(self, rho: float = 0.05, weight: float = 1.0):
        super().__init__()
        if not 0 < rho < 1:
            raise InputError(f"sparsity target rho must be in (0, 1), got {rho}")
        _check_weight(weight)
        self.rho = rho
        self.weight = weight

    def omega(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
              encoder: GCNEncoder, generator: torch.Generator | None = None) -> torch.Tensor:
        total = posterior.mu.new_zeros(())
        for h in hidden:
            rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6)
            rho = torch.full_like(rho_hat, self.rho)  # no argument checks: a diverged NaN rho_hat must reach the
            # loss, where the trainer reports the divergence, not fail inside the distribution as a ValueError
            total = total + h.shape[0] * kl_divergence(Bernoulli(probs=rho, validate_args=False),
                                                        Bernoulli(probs=rho_hat, validate_args=False)).sum()
        return total


class ActivationL1(Penalty):
    r"""The L1 alternative for ReLU units: :math:`\lambda \sum_m \sum_j |h_{mj}|` over every hidden layer."""

    def __init__(self, weight: float = 1e-3):
        super().__init__()
        _check_weight(weight)
        self.weight = weight

    def omega(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
              encoder: GCNEncoder, generator: torch.Generator | None = None) -> torch.Tensor:
        return sum((h.abs().sum() for h in hidden), posterior.mu.new_zeros(()))


class ContractivePenalty(Penalty):
    r"""Contractive penalty :math:`\lambda \sum_m \lVert J_f(x_m) \rVert_F^2` of the encoder :math:`f: x \mapsto z`.

    ``method="exact"`` uses the closed form of :func:`jacobian_sq_norm` (no autograd loop), falling
    back to exact autograd for an activation without a known derivative; ``"hutchinson"`` uses
    ``num_probes`` random probes (cheaper for a wide code). Images only (edgeless input).
    """

    def __init__(self, weight: float = 0.1, method: str = "exact", num_probes: int = 1):
        super().__init__()
        _check_weight(weight)
        _check_method(method, num_probes)
        self.weight = weight
        self.method = method
        self.num_probes = num_probes

    def omega(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
              encoder: GCNEncoder, generator: torch.Generator | None = None) -> torch.Tensor:
        sq = jacobian_sq_norm(encoder, inp, self.method, self.num_probes, hidden=hidden, create_graph=True,
                              generator=generator)
        return sq.sum()


def _check_weight(weight: float) -> None:
    if not weight >= 0:
        raise InputError(f"penalty weight must be non-negative, got {weight}")


def _check_method(method: str, num_probes: int) -> None:
    if method not in ("exact", "autograd", "hutchinson"):
        raise InputError(f"unknown Jacobian method '{method}' (choose from: exact, autograd, hutchinson)")
    if num_probes < 1:
        raise InputError(f"num_probes must be at least 1, got {num_probes}")


# ------------------------------------------------------------------------------------------- Jacobians
def jacobian_sq_norm(encoder: GCNEncoder, inp: EncoderInput, method: str = "exact", num_probes: int = 1,
                     hidden: list[torch.Tensor] | None = None, create_graph: bool = False,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Per row :math:`\lVert J_f(x_m) \rVert_F^2`, :math:`J_f = \partial z_m / \partial x_m`, for an edgeless input.

    - ``"exact"``: the closed form. With :math:`W_l` of shape ``[in, out]`` and :math:`D_l` the
      diagonal of the activation's derivative at layer :math:`l` (for a sigmoid
      :math:`h(1-h)`, read off the layer's output),
      :math:`J^\top = W_1 D_1 W_2 D_2 \cdots D_L W_{\text{head}}`, built from the code side in
      :math:`O(n\, d \sum_l w_l w_{l-1})`. For one sigmoid layer :math:`h = \sigma(xW + b)` this is the
      familiar :math:`\sum_j (h_j(1-h_j))^2 \sum_i W_{ij}^2`. ``hidden`` (the encoder's activations for
      ``inp``) saves the forward pass. Falls back to ``"autograd"`` for other activations.
    - ``"autograd"``: exact, one vector-Jacobian product per code dimension, :math:`\sum_k \lVert J^\top e_k\rVert^2`.
    - ``"hutchinson"``: unbiased estimate :math:`\frac1P \sum_p \lVert J^\top v_p \rVert^2`,
      :math:`v_p \sim \mathcal N(0, I)` drawn from ``generator`` (the estimator's, in training).
    """
    _check_method(method, num_probes)
    if not inp.adj.is_identity or not isinstance(inp.features, torch.Tensor) or inp.features.layout != torch.strided:
        raise InputError("the encoder Jacobian is defined here for dense inputs on an edgeless graph (images)")
    derivative = _DERIVATIVE_FROM_OUTPUT.get(encoder.activation)
    if method == "exact" and derivative is not None and not encoder.variational:
        if hidden is None:
            _, hidden = encoder(inp, return_hidden=True)
        m = encoder.head.weight.T.expand(inp.num_nodes, -1, -1)  # [n, d, w_L]
        for layer, h in zip(reversed(encoder.layers), reversed(hidden)):
            m = (m * derivative(h).unsqueeze(1)) @ layer.weight.T
        return m.square().sum((1, 2))
    return _vjp_sq_norm(encoder, inp, None if method in ("exact", "autograd") else num_probes, create_graph, generator)


def _vjp_sq_norm(encoder: GCNEncoder, inp: EncoderInput, num_probes: int | None, create_graph: bool,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """``sum_k |J^T e_k|^2`` (``num_probes=None``) or the Hutchinson mean over Gaussian probes."""
    with torch.inference_mode(False), torch.enable_grad():  # also under the caller's torch.inference_mode()
        x = _usable(inp.features.detach()).requires_grad_(True)
        z = encoder(EncoderInput(x, inp.adj, inp.propagated)).mu
        d = z.shape[1]
        probes = torch.eye(d, dtype=z.dtype, device=z.device).unsqueeze(1).expand(d, *z.shape) if num_probes is None \
            else torch.randn(num_probes, *z.shape, dtype=z.dtype, device=z.device, generator=generator)
        total = x.new_zeros(x.shape[0])
        for v in probes:
            (g,) = torch.autograd.grad(z, x, grad_outputs=v, create_graph=create_graph, retain_graph=True)
            total = total + g.square().sum(1)
    return total if num_probes is None else total / num_probes
