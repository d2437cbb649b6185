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
    (np.True_, 3072, 256),       # numpy's and torch's booleans, as Python's, are no bound
    (torch.tensor(True), 3072, 256),
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


# ------------------------------------------------------------------ CIFAR-10 files: labels, empty batches, one batch

def _cifar_folder(tmp_path, y_test=None, empty_test=False):
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        n = 0 if (empty_test and name == "test_batch") else 4
        labels = list(y_test) if (y_test is not None and name == "test_batch") else [i % 10 for i in range(n)]
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": labels}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))  # 2 pickles empty bytes through _codecs
    return folder


def test_cifar_labels_outside_0_to_9_are_refused(tmp_path) -> None:
    """CIFAR-10's labels are its 10 class numbers: a label 10 or -1 is refused naming it (before: accepted and drawn
    as an eleventh class); 0..9 read as given."""
    from graphvae.data.image_files import read_cifar10

    for bad in (10, -1):
        folder = _cifar_folder(tmp_path / str(bad), y_test=[0, 1, 2, bad])
        with pytest.raises(gv.InputError, match=f"labels must be the class numbers 0..9, found {bad}"):
            read_cifar10(folder)
    good = _cifar_folder(tmp_path / "good", y_test=[9, 0, 3, 1])
    assert read_cifar10(good)[3].tolist() == [9, 0, 3, 1]
    arrays = dict(x_train=np.zeros((2, 32, 32, 3), np.uint8), y_train=np.array([[0], [12]]),
                  x_test=np.zeros((1, 32, 32, 3), np.uint8), y_test=np.array([[1]]))
    np.savez(tmp_path / "c.npz", **arrays)
    with pytest.raises(gv.InputError, match=r"c\.npz \(train\): labels must be the class numbers 0..9, found 12"):
        read_cifar10(tmp_path / "c.npz")


def test_an_empty_cifar_batch_and_a_single_batch_file_are_named(tmp_path) -> None:
    """A batch without images says so (before: "0 images but labels of shape (0,) dtype float64"); one batch file
    given instead of the folder is named as one, with what to give (before: tarfile's "could not be opened
    successfully:")."""
    from graphvae.data.image_files import read_cifar10

    empty = _cifar_folder(tmp_path / "empty", empty_test=True)
    with pytest.raises(gv.InputError, match="test_batch holds no images"):
        read_cifar10(empty)
    one = _cifar_folder(tmp_path / "one") / "data_batch_1"
    with pytest.raises(gv.InputError, match="data_batch_1 is one CIFAR-10 batch: give the folder that holds all six"):
        read_cifar10(one)


def test_a_single_mnist_idx_file_is_named(tmp_path) -> None:
    """One IDX file given instead of the folder of four is named as one, with what to give (before: "malformed npz
    file ...: not a zip archive")."""
    from graphvae.data.image_files import read_mnist

    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz", "train-images.idx3-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
        with pytest.raises(gv.InputError, match=f"{name} is one IDX file: give the folder that holds the four"):
            read_mnist(tmp_path / name)
