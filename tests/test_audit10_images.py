"""Audit 10, the image side as a user meets it: the public pixel-likelihood helpers keep the API's contract.

``bits_per_dim`` is shown in docs/image_vae.md's Python snippet and ``GaussianPixels`` is exported as
``graphvae.GaussianPixels``; README: bad input to the API raises ``graphvae.InputError``, never a silent NaN.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

import graphvae as gv
from graphvae.objectives.pixel_likelihood import bits_per_dim


def _closed_form(nats: float, dims: int, levels: int = 256) -> float:
    """docs/image_vae.md: bits/dim = (-L/D + ln 256) / ln 2 (ln L for L levels)."""
    return (-nats / dims + math.log(levels)) / math.log(2)


@pytest.mark.parametrize("nats, dims, levels", [(0.0, 3072, 256), (-3072 * math.log(2), 3072, 256),
                                                (np.float32(-10.5), np.int64(64), 256), (-7.0, 10, 2)])
def test_bits_per_dim_is_the_documented_closed_form(nats: float, dims: int, levels: int) -> None:
    """Pins the formula for Python and numpy scalars (the CLI passes numpy ints), returned as a Python float."""
    value = bits_per_dim(nats, dims, levels)
    assert isinstance(value, float)
    assert value == pytest.approx(_closed_form(float(nats), int(dims), levels), rel=1e-12)


@pytest.mark.parametrize("nats, dims, levels", [
    (float("nan"), 3072, 256),   # used to return nan: a silent wrong answer
    (-1.0, 0, 256),              # used to raise a plain ValueError, which `except gv.InputError` misses
    (-1.0, -3, 256),
    (-1.0, 3072.5, 256),         # used to give a number for a fractional pixel count
    (-1.0, True, 256),           # used to read True as one dimension
    (-1.0, 3072, 1),             # one grey level: ln 1 = 0, no dequantization
    ("-1", 3072, 256),           # used to raise an untyped TypeError
])
def test_bits_per_dim_refuses_bad_input_with_input_error(nats: object, dims: object, levels: object) -> None:
    """Pins: each bad argument is one-line ``graphvae.InputError`` (README's contract for the API)."""
    with pytest.raises(gv.InputError) as info:
        bits_per_dim(nats, dims, levels)
    assert "\n" not in str(info.value)


def test_gaussian_pixels_log_prob_is_scipy_normal() -> None:
    """The building block's log-density is the sum over pixels of scipy's normal log-pdf (sigma fixed)."""
    rng = np.random.default_rng(0)
    x, mu = rng.random((3, 5)), rng.random((3, 5))
    lik = gv.GaussianPixels(torch.nn.Identity(), 5, sigma=0.3)
    got = lik.log_prob(torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(got.detach().numpy(), norm.logpdf(x, mu, 0.3).sum(1), rtol=1e-6)


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), float("inf")])
def test_gaussian_pixels_refuse_a_sigma_that_is_not_positive_and_finite(sigma: float) -> None:
    """Pins: sigma = inf used to be taken (log-densities of -inf: a silent NaN loss); the others raised a plain
    ValueError. All are ``graphvae.InputError`` now, as ``ImageVAE(sigma=...)`` already refused them."""
    with pytest.raises(gv.InputError):
        gv.GaussianPixels(torch.nn.Identity(), 4, sigma=sigma)


def test_bits_per_dim_takes_a_one_element_tensor_or_numpy_scalar() -> None:
    """A bound given as a 0-d tensor or a numpy scalar (what a loss gives) is the same number as a float."""
    expected = (1000.0 / 784 + math.log(256)) / math.log(2)
    for nats in (-1000.0, torch.tensor(-1000.0), np.float32(-1000.0), np.float64(-1000.0)):
        assert bits_per_dim(nats, 784) == pytest.approx(expected, rel=1e-12)
