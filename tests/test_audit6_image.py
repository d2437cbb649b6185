"""Audit 6 of the image side (ImageVAE, Autoencoder, StackedAutoencoder, the Fréchet distance, the image datasets and
the ``vae``/``ae`` commands): undocumented seeds, a doubled warning, arguments that touched numpy's global generator or
gave silent wrong answers, and evaluation failures found only after training."""
import inspect
import pickle
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from conftest import one_error
from graphvae import Autoencoder, DivergenceWarning, ImageVAE, InputError, StackedAutoencoder
from graphvae.cli import main
from graphvae.data.image_files import load_image_dataset, write_mnist_npz
from graphvae.estimators.image_vae import check_images
from graphvae.evaluation.frechet import feature_classifier, frechet_distance, frechet_distance_samples, gaussian_moments


def _images(n: int = 40, pixels: int = 9, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, pixels)) > 0.5).astype(np.float32)


def _fast(cls, **kw):
    if cls is StackedAutoencoder:
        return cls(hidden=(4,), pretrain_epochs=1, finetune_epochs=1, **kw)
    return cls(hidden=(4,), latent=2, epochs=1, **kw)


def _fit(model, x):
    return model.fit(x, np.arange(len(x)) % 2) if isinstance(model, StackedAutoencoder) else model.fit(x)


# --------------------------------------------------------------------------- random_state=None, documented

@pytest.mark.parametrize("cls", [ImageVAE, Autoencoder, StackedAutoencoder])
def test_docstrings_document_random_state_none_and_seed_(cls):
    """StackedAutoencoder's docstring said nothing of random_state (nor of None and ``seed_``); ImageVAE's and
    Autoencoder's attribute lists left out ``seed_``."""
    doc = inspect.getdoc(cls)
    assert "random_state" in doc and "``None``" in doc and "seed_" in doc.split("Attributes after")[1]


@pytest.mark.parametrize("cls", [ImageVAE, Autoencoder, StackedAutoencoder])
def test_random_state_none_records_a_seed_that_repeats_the_fit(cls):
    x = _images()
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    model = _fit(_fast(cls, random_state=None), x)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    assert np.array_equal(numpy_state, np.random.get_state()[1])
    assert isinstance(model.seed_, int) and model.get_params()["random_state"] is None
    again = _fit(_fast(cls, random_state=model.seed_), x)
    assert np.array_equal(model.transform(x), again.transform(x))
    assert np.array_equal(pickle.loads(pickle.dumps(model)).transform(x), model.transform(x))


# --------------------------------------------------------------------------- one warning, not two

def test_autoencoder_warns_once_about_a_rising_loss():
    """Autoencoder repeated the DivergenceWarning its inner ImageVAE had just given (the CLI printed it twice)."""
    x = _images(200, 16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Autoencoder(hidden=8, latent=2, epochs=3, lr=1e30).fit(x)
    assert len([w for w in caught if issubclass(w.category, DivergenceWarning)]) == 1


@pytest.mark.filterwarnings("always::graphvae.DivergenceWarning")
def test_ae_cli_prints_the_divergence_warning_once(capsys):
    assert main(["ae", "--epochs", "3", "--lr", "1e30", "--hidden", "8", "--latent", "2", "--no-progress"]) == 0
    assert len([line for line in capsys.readouterr().err.splitlines() if "warning: training diverged" in line]) == 1


# --------------------------------------------------------------------------- images of dates, complex images

@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[s]"])
def test_dates_are_not_pixels(dtype):
    """numpy cast dates and durations to numbers: a model trained on them without a word."""
    with pytest.raises(TypeError, match="2-d array of numbers"):
        check_images(np.ones((3, 4), dtype=dtype))
    with pytest.raises(InputError, match="got dtype"):
        ImageVAE(epochs=1).fit(np.ones((3, 4), dtype=dtype))


def test_complex_images_are_one_short_line():
    """scikit-learn's message printed the whole array."""
    with pytest.raises(InputError) as error:
        check_images(np.ones((300, 40)) * 1j)
    assert str(error.value).endswith("Complex data not supported") and "\n" not in str(error.value)


# --------------------------------------------------------------------------- the Fréchet distance

def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    cov_x, cov_y, mu_x, mu_y = a @ a.T, b @ b.T, rng.normal(size=5), rng.normal(size=5)
    reference = np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x + cov_y - 2 * scipy.linalg.sqrtm(cov_x @ cov_y).real)
    assert frechet_distance(mu_x, cov_x, mu_y, cov_y) == pytest.approx(reference, rel=1e-8)
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(2.0 ** 2 + (2.0 - 3.0) ** 2)


def test_complex_features_are_refused():
    """The imaginary part was dropped with only a ComplexWarning; strings were numpy's bare ValueError."""
    with pytest.raises(InputError, match="real numbers"):
        gaussian_moments(np.ones((3, 2)) * 1j)
    with pytest.raises(InputError, match="real numbers"):
        frechet_distance_samples([["a", "b"], ["c", "d"]], np.zeros((2, 2)))
    assert np.array_equal(gaussian_moments(np.array([[1, 2], [3, 4]], dtype=object))[0], [2.0, 3.0])


def _digits(n: int = 120):
    from graphvae.data.images import load_digits

    x, y, _ = load_digits()
    return x[:n], y[:n]


def test_feature_classifier_random_state_none_is_refused_and_numpy_untouched():
    """None trained with numpy's global generator (changing it) and cached the result under the key "None"."""
    x, y = _digits()
    state = np.random.get_state()[1].copy()
    with pytest.raises(InputError, match="random_state must be an integer from 0 to 4294967295"):
        feature_classifier(x, y, random_state=None, max_iter=2)
    assert np.array_equal(state, np.random.get_state()[1])
    for bad in (-1, 1.5, 2**32):  # scikit-learn's own InvalidParameterError, or accepted beyond its range
        with pytest.raises(InputError, match="random_state"):
            feature_classifier(x, y, random_state=bad, max_iter=2)


@pytest.mark.parametrize("hidden", [(), (0,), "64", (4, -1)])
def test_feature_classifier_needs_a_hidden_layer(hidden):
    """``hidden=()`` gave a classifier whose "features" were the pixels themselves; (0,) and "64" were raw errors."""
    x, y = _digits()
    with pytest.raises(InputError, match="hidden must be one or more positive layer widths"):
        feature_classifier(x, y, hidden=hidden, max_iter=2)


def test_feature_classifier_checks_its_test_set():
    """One test label broadcast against every prediction (a wrong accuracy, silently); NaN test images gave an
    accuracy too; labels of another length were numpy's broadcasting error."""
    x, y = _digits()
    for x_test, y_test in ((x, y[:1]), (x, y[:5]), (np.full_like(x, np.nan), y), (x[:, :10], y), (x, None)):
        with pytest.raises(InputError):
            feature_classifier(x, y, max_iter=2, x_test=x_test, y_test=y_test)
    with pytest.raises(InputError, match="labels contain NaN"):
        feature_classifier(x, np.where(y > 5, np.nan, y), max_iter=2)
    with pytest.raises(InputError, match="max_iter"):
        feature_classifier(x, y, max_iter=0)


# --------------------------------------------------------------------------- load_image_dataset arguments

def test_load_image_dataset_seed_must_be_an_integer():
    """None split with numpy's global generator (another split each call, the caller's state changed); -1 was
    reported as a test_size that "cannot split the digits"."""
    state = np.random.get_state()[1].copy()
    for bad in (None, -1, 1.5, 2**32):
        with pytest.raises(InputError, match="seed must be an integer"):
            load_image_dataset("digits", seed=bad)
    assert np.array_equal(state, np.random.get_state()[1])


def test_load_image_dataset_other_arguments():
    with pytest.raises(TypeError, match="True, False or None"):  # "no" counted as true: binarized
        load_image_dataset("digits", binarize="no")
    with pytest.raises(TypeError, match="must be a string"):  # AttributeError: 'int' object has no attribute 'lower'
        load_image_dataset(3)
    with pytest.raises(InputError, match="test_size must be a number in"):  # '<' not supported between int and str
        load_image_dataset("digits", test_size="0.2")
    assert not load_image_dataset("digits", binarize=np.False_).binarized


# --------------------------------------------------------------------------- the commands

def test_vae_with_one_test_image_fails_before_training(tmp_path, monkeypatch, capsys):
    """The Fréchet distance's "need at least 2 feature vectors as an [n, k] array" came after the whole training."""
    monkeypatch.chdir(tmp_path)
    x = (np.random.default_rng(0).random((12, 4, 4)) * 255).astype(np.uint8)
    labels = np.arange(12) % 2
    write_mnist_npz("one_test.npz", x, labels, x[:1], labels[:1])
    write_mnist_npz("one_class.npz", x, np.zeros(12, np.uint8), x[:4], np.zeros(4, np.uint8))
    import graphvae.estimators.image_vae as image_vae

    monkeypatch.setattr(image_vae.ImageVAE, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    assert main(["vae", "--mnist", "one_test.npz", "--epochs", "1", "--no-progress", "--no-cache"]) == 2
    one_error(capsys, "1 test image(s): the Fréchet distance needs at least 2")
    assert main(["vae", "--mnist", "one_class.npz", "--epochs", "1", "--no-progress", "--no-cache"]) == 2
    one_error(capsys, "the training labels hold one class")
    # ae reported a probe accuracy of 1.0 (stacked: 0.0) on its one test image
    import graphvae.estimators.autoencoders as autoencoders

    monkeypatch.setattr(autoencoders.Autoencoder, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    monkeypatch.setattr(autoencoders.StackedAutoencoder, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    for kind in ("vanilla", "stacked"):
        assert main(["ae", "--kind", kind, "--mnist", "one_test.npz", "--epochs", "1", "--no-progress"]) == 2
        one_error(capsys, "1 test image(s): a test accuracy needs at least 2")


@pytest.mark.parametrize("command", [["vae", "--iwae-k", "2", "--no-cache"], ["ae"], ["linkpred", "--dataset", "cora"],
                                     ["cluster", "--dataset", "cora"], ["embed", "--dataset", "cora", "--out", "z.npy"]])
def test_empty_plot_folder_is_refused(command, capsys, monkeypatch, tmp_path):
    """``--plot ""`` trained, wrote no figure and exited 0 (every command: the check is check_plot_dir's)."""
    import graphvae.estimators.image_vae as image_vae
    import graphvae.estimators.models as models

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(image_vae.ImageVAE, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    monkeypatch.setattr(models.VGAE, "fit", lambda *a, **k: pytest.fail("trained before the check"))
    assert main([*command, "--plot", "", "--epochs", "1", "--no-progress"]) == 2
    one_error(capsys, "--plot needs a folder name")


def test_divergence_advice_names_a_huge_parameter_before_the_learning_rate():
    """``ae --noise gaussian --noise-level 1e300`` diverged with advice about the learning rate only."""
    from graphvae.data.images import load_digits

    x = load_digits()[0][:64]
    with pytest.raises(InputError, match=r"check noise_level=1e\+300, far outside the usual range, or try a smaller "
                                            r"learning rate than 0\.001$"):
        ImageVAE(noise="gaussian", noise_level=1e300, epochs=1, lr=0.001, likelihood="gaussian").fit(x)
    with pytest.raises(InputError, match=r"\(the loss became NaN or inf at epoch \d+\); try a smaller learning rate "
                                            r"than 1e\+30$"):
        ImageVAE(epochs=2, lr=1e30, likelihood="gaussian").fit(x)
