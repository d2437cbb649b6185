r"""Pixel likelihoods: the image VAE's likelihood terms for the shared :class:`graphvae.objectives.elbo.ELBO`.

- :class:`BernoulliPixels`: :math:`\log p(x\mid z) = \sum_i x_i \log\sigma(\ell_i) + (1-x_i)\log\sigma(-\ell_i)`
  on decoder logits :math:`\ell`, for binarized or [0, 1] pixels.
- :class:`GaussianPixels`: :math:`\log \mathcal N(x; \mu(z), \sigma^2)` with a fixed or learned
  (per-pixel) :math:`\sigma`.

Both sum over pixels and images; ``scale`` is the number of images, so the training loss is the
negative ELBO per image in nats.

Discrete pixels and bits per dimension. A continuous density on 8-bit images is only comparable with
the literature on *dequantized* pixels (Theis et al. 2016, "A note on the evaluation of generative
models"): with integer pixels :math:`x \in \{0..255\}^D` and :math:`u \sim U[0, 1)^D`,
:func:`dequantize` gives :math:`y = (x + u)/256 \in [0, 1)^D`. The discrete model
:math:`P(x) = \int_{[0,1)^D} p\big((x+u)/256\big)\,256^{-D}\,du` satisfies, by Jensen,
:math:`\log P(x) \ge \mathbb E_u[\log p(y)] - D \ln 256`, so a bound :math:`L` in nats on
:math:`\mathbb E_u[\log p(y)]` (the ELBO or IWAE bound averaged over :math:`u`) gives an upper bound on the
code length

.. math:: \text{bits/dim} = \frac{-L/D + \ln 256}{\ln 2}

(:func:`bits_per_dim`). A model uniform on :math:`[0, 1)^D` has :math:`L = 0` and 8 bits/dim.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import InputError, check_int
from .likelihood import Likelihood


def dequantize(levels: torch.Tensor, num_levels: int = 256, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Uniform dequantization :math:`(x + u) / L`, :math:`u \sim U[0, 1)` per pixel, of integer-valued ``levels`` in 0..L-1."""
    u = torch.rand(levels.shape, generator=generator, dtype=levels.dtype, device=levels.device)
    return (levels + u) / num_levels


def bits_per_dim(nats: float, dims: int, num_levels: int = 256) -> float:
    r""":math:`(-L/D + \ln L_{levels}) / \ln 2`: a bound ``nats`` per image on dequantized pixels as bits per dimension."""
    dims, num_levels = check_int(dims, "dims"), check_int(num_levels, "num_levels", 2)
    try:  # a number, numpy scalar or one-element tensor; not text, a bool or a complex number
        dtype = getattr(nats, "dtype", None)  # numpy's 0-d bool array too: float() reads it as 1.0
        boolean = isinstance(nats, (bool, np.bool_)) or dtype is torch.bool or (
            isinstance(dtype, np.dtype) and dtype == bool)
        value = None if boolean or isinstance(nats, (str, bytes, complex)) else float(nats)
    except (TypeError, ValueError, RuntimeError):
        value = None
    if value is None or not math.isfinite(value):
        raise InputError(f"nats must be a finite number (a bound in nats per image), got {nats!r}")
    return (-value / dims + math.log(num_levels)) / math.log(2)


class PixelLikelihood(Likelihood):
    """A decoder network plus a pixel distribution; ``target`` is the ``[batch, pixels]`` image tensor."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def scale(self, target: torch.Tensor) -> float:
        return float(target.shape[0])

    #: the values a target pixel may take (``None``: any finite value)
    support: tuple[float, float] | None = None

    def forward(self, z: torch.Tensor, target: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.decoder(z)
        return self.log_prob(out, self.check_target(target, out)).sum()

    def log_prob_rows(self, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per image, ``z`` of shape ``[..., batch, latent]``."""
        out = self.decoder(z)
        return self.log_prob(out, self.check_target(target, out))

    def check_target(self, target: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``target`` if it is a float ``[batch, pixels]`` tensor of the decoder output's shape with finite values in
        :attr:`support`, else :class:`InputError` (a shape mismatch was torch's broadcasting error; Bernoulli pixels
        outside [0, 1], or NaN, gave a finite or NaN loss without a word). One pass over the batch (``aminmax``)."""
        if not isinstance(target, torch.Tensor) or not target.is_floating_point():
            raise InputError(f"image targets must be a float tensor, got {getattr(target, 'dtype', type(target).__name__)}")
        if target.dim() != 2 or tuple(target.shape) != tuple(out.shape[-2:]):
            raise InputError(f"image targets of shape {list(target.shape)} for a decoder output of shape "
                             f"{list(out.shape[-2:])} (need [batch, pixels], one row per encoded image)")
        if target.numel():
            lo, hi = (float(v) for v in torch.aminmax(target.detach()))
            low, high = self.support or (-math.inf, math.inf)
            if not (math.isfinite(lo) and math.isfinite(hi) and low <= lo and hi <= high):  # NaN fails every test
                where = "" if self.support is None else f" in [{low:g}, {high:g}]"
                raise InputError(f"image targets must be finite{where} ({type(self).__name__}), got values in "
                                 f"[{lo:g}, {hi:g}]")
        return target

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean(self.decoder(z))

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | decoder output) per image (summed over pixels); broadcasts over sample dimensions."""
        raise NotImplementedError  # pragma: no cover

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The mean image of p(x | z) for a decoder output."""
        raise NotImplementedError  # pragma: no cover


class BernoulliPixels(PixelLikelihood):
    """Bernoulli pixels on logits (numerically stable ``logsigmoid`` form)."""

    support = (0.0, 1.0)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy_with_logits(out, x.expand_as(out), reduction="none").sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


class GaussianPixels(PixelLikelihood):
    """Gaussian pixels with mean = decoder output and std ``sigma`` (fixed) or learned per pixel."""

    def __init__(self, decoder: nn.Module, num_pixels: int, sigma: float = 1.0, learn_sigma: bool = False):
        super().__init__(decoder)
        if not 0 < sigma < math.inf:
            raise InputError(f"sigma must be a positive finite number, got {sigma}")
        logstd = torch.full((num_pixels,), math.log(sigma))
        self.logstd = nn.Parameter(logstd) if learn_sigma else nn.Parameter(logstd, requires_grad=False)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        z = (x - out) * torch.exp(-self.logstd)
        return (-0.5 * z.square() - self.logstd - 0.5 * math.log(2 * math.pi)).sum(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return out
