"""Bad input found by the audit of the image estimators (ImageVAE, Autoencoder, StackedAutoencoder), the image files
and the ``vae``/``ae`` commands: tensors numpy cannot hold, pixels float32 cannot hold, non-finite latent codes,
unchecked seeds, boolean image files and a labels file of one class."""
import numpy as np
import pytest
import torch

import graphvae as gv
from conftest import one_error
from graphvae import Autoencoder, ImageVAE, StackedAutoencoder
from graphvae.cli import main
from graphvae.data.image_files import load_image_dataset, write_mnist_npz
from graphvae.estimators.image_vae import check_images


def _images(n: int = 24, pixels: int = 9, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, pixels)) > 0.5).astype(np.float32)


def _fast(cls, **kw):
    if cls is StackedAutoencoder:
        return cls(hidden=(4,), pretrain_epochs=1, finetune_epochs=1, **kw)
    if cls is Autoencoder:
        return cls(hidden=4, latent=2, epochs=1, **kw)
    return cls(hidden=(4,), latent=2, epochs=1, **kw)


def _fit(model, x):
    return model.fit(x, np.arange(len(x)) % 2) if isinstance(model, StackedAutoencoder) else model.fit(x)


# --------------------------------------------------------------------------- tensors numpy has no dtype for

@pytest.mark.parametrize("cls", [ImageVAE, Autoencoder, StackedAutoencoder])
def test_bfloat16_tensor_images_are_taken(cls):
    """A bfloat16 (or float8) tensor was a raw TypeError from ``Tensor.numpy()``; its 0/1 pixels are exact in float32."""
    x = _images()
    ref = _fit(_fast(cls), x).transform(x)
    model = _fit(_fast(cls), torch.from_numpy(x).bfloat16())
    assert np.allclose(model.transform(torch.from_numpy(x).to(torch.float8_e4m3fn)), ref)
    assert np.allclose(model.transform(x), ref)


def test_sparse_tensor_images_refused_as_scipy_sparse_is():
    x = _images()
    model = _fast(ImageVAE).fit(x)
    with pytest.raises(gv.InputError, match="dense data is required") as e:
        model.transform(torch.from_numpy(x).to_sparse())
    assert isinstance(e.value, TypeError)
    with pytest.raises(gv.InputError, match="dense data is required"):
        _fast(Autoencoder).fit(torch.from_numpy(x).to_sparse())


# --------------------------------------------------------------------------- pixels beyond float32

def test_pixels_beyond_float32_are_refused_not_turned_into_inf():
    """float64 pixels of magnitude > 3.4e38 became inf in the float32 model: a NaN reconstruction error, or a fit
    that blamed the learning rate ("training diverged") or named NaN/inf the caller never passed."""
    x = _images()
    huge = np.where(x > 0, 1e39, 0.0)
    model = _fast(Autoencoder).fit(x)
    with pytest.raises(gv.InputError, match="beyond float32"):
        model.reconstruction_error(huge)
    with pytest.raises(gv.InputError, match="beyond float32"):
        model.transform(huge)
    with pytest.raises(gv.InputError, match="beyond float32"):
        _fast(ImageVAE, likelihood="gaussian").fit(huge)
    with pytest.raises(gv.InputError, match="beyond float32"):
        _fast(Autoencoder, likelihood="gaussian").fit(huge)
    with pytest.raises(gv.InputError, match="beyond float32"):
        _fast(StackedAutoencoder, likelihood="gaussian").fit(huge, np.arange(len(x)) % 2)
    # the largest float32 itself is taken
    top = float(np.finfo(np.float32).max)
    assert float(check_images(np.where(x > 0, top, 0.0).astype(np.float64)).max()) == top


# --------------------------------------------------------------------------- ImageVAE.decode

def test_decode_refuses_non_finite_and_non_numeric_codes_in_one_line():
    model = _fast(ImageVAE).fit(_images())
    for z in (np.full((2, 2), np.nan), np.array([[0.0, np.inf]])):
        with pytest.raises(gv.InputError, match="latent codes contain NaN or inf"):
            model.decode(z)  # was: NaN images, silently
    with pytest.raises(gv.InputError, match="latent codes must be numbers"):
        model.decode([["a", "b"]])  # was: numpy's ValueError
    z = torch.zeros(3, 2, requires_grad=True)  # was: RuntimeError "Can't call numpy() on Tensor that requires grad"
    assert np.allclose(model.decode(z), model.decode(np.zeros((3, 2))))
    assert np.allclose(model.decode(torch.zeros(3, 2, dtype=torch.bfloat16)), model.decode(np.zeros((3, 2))))


# --------------------------------------------------------------------------- Autoencoder.jacobian_norm's seed

@pytest.mark.parametrize("seed", [None, -1, 2.5, True])
def test_jacobian_norm_checks_its_seed_as_every_random_state(seed):
    """``random_state`` went through ``int()``: None was a raw TypeError, -1 and 2.5 were taken."""
    x = _images()
    model = _fast(Autoencoder).fit(x)
    with pytest.raises(gv.InputError, match="random_state must be an integer"):
        model.jacobian_norm(x, method="hutchinson", random_state=seed)
    assert model.jacobian_norm(x, method="hutchinson", random_state=3).shape == (len(x),)


# --------------------------------------------------------------------------- image files

def test_boolean_image_file_is_read_as_zero_one_pixels(tmp_path):
    """A binarized MNIST saved as booleans was refused ("must be numbers") although the pixel check takes them."""
    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((12, 4, 4)) > 0.5, rng.random((6, 4, 4)) > 0.5
    y_train, y_test = np.arange(12) % 3, np.arange(6) % 3
    write_mnist_npz(tmp_path / "bool.npz", x_train, y_train, x_test, y_test)
    write_mnist_npz(tmp_path / "bytes.npz", x_train * np.uint8(255), y_train, x_test * np.uint8(255), y_test)
    for binarize in (True, False):
        got = load_image_dataset("mnist", tmp_path / "bool.npz", binarize=binarize)
        ref = load_image_dataset("mnist", tmp_path / "bytes.npz", binarize=binarize)
        assert np.array_equal(got.x_train, ref.x_train) and np.array_equal(got.x_test, ref.x_test)
        assert np.array_equal(got.x_train, x_train.reshape(12, -1).astype(np.float32))


# --------------------------------------------------------------------------- ae on a file of one class

def test_ae_on_images_of_one_class_is_one_line_before_training(tmp_path, monkeypatch, capsys):
    """The linear probe (logistic regression) raised scikit-learn's ValueError with a traceback after training."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = (rng.random((10, 4, 4)) * 255).astype(np.uint8)
    write_mnist_npz("one.npz", x, np.zeros(10, np.uint8), x[:4], np.zeros(4, np.uint8))
    for kind in ("vanilla", "stacked"):
        assert main(["ae", "--kind", kind, "--mnist", "one.npz", "--epochs", "1", "--hidden", "4",
                     "--no-progress"]) == 2
        one_error(capsys, "the training labels hold one class")
