"""Numeric input found by the seventh audit: NaN/inf features given to the encoder's building block, an unbounded
number of IWAE samples, and the shared checks of real numeric arrays (one helper in ``graphvae._validation``)."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import graphvae as gv
import graphvae.estimators.image_vae as image_vae
from conftest import one_error
from graphvae._validation import as_float32, check_float32_range, real_array
from graphvae.cli import main
from graphvae.cli.vae import MAX_IWAE_K, iwae_count
from graphvae.estimators.image_vae import ImageVAE, check_images
from graphvae.evaluation.frechet import feature_classifier, gaussian_moments
from graphvae.nn.encoder import edgeless_input, encoder_input
from graphvae.nn.operator import SparseOperator, normalized_adjacency

# --------------------------------------------------------------------------- 1. NaN / inf features in encoder_input

N = 6
EDGES = np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])


def _features(row: int, value: float) -> torch.Tensor:
    x = torch.rand(N, 4, generator=torch.Generator().manual_seed(0))
    x[row, 2] = value
    return x


FORMATS = {
    "dense": lambda x: x,
    "dense float64": lambda x: x.double(),
    "dense, requires grad": lambda x: x.clone().requires_grad_(),
    "scipy csr": lambda x: sp.csr_matrix(x.numpy()),
    "scipy coo": lambda x: sp.coo_matrix(x.numpy()),
    "scipy csc": lambda x: sp.csc_matrix(x.numpy()),
    "torch coo": lambda x: x.to_sparse(),
    "torch csr": lambda x: x.to_sparse_csr(),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("fold", [True, False])
def test_encoder_input_refuses_non_finite_features_naming_the_row(fmt, value, fold):
    """encoder_input (and so the encoder) took NaN or inf features without a word: every embedding NaN."""
    x = FORMATS[fmt](_features(3, value))
    with pytest.raises(gv.InputError, match=r"^features hold NaN or infinite values \(first at row 3\)$"):
        encoder_input(x, normalized_adjacency(EDGES, N), fold=fold)


def test_encoder_input_checks_prepared_sparse_features():
    x = SparseOperator(sp.csr_matrix(_features(5, float("nan")).numpy()))
    with pytest.raises(gv.InputError, match=r"first at row 5\)"):
        encoder_input(x, normalized_adjacency(EDGES, N), fold=False)


def test_training_views_skip_the_check_of_features_checked_once(monkeypatch):
    """Edge masking calls encoder_input every epoch with the same features, which the estimator checked once: the
    per-epoch views pass check_finite=False (one check per fit, not per epoch)."""
    import graphvae.nn.encoder as encoder

    checks = []
    rows = encoder._nonfinite_rows
    monkeypatch.setattr(encoder, "_nonfinite_rows", lambda x: checks.append(1) or rows(x))
    edges = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]])
    gv.GAE(latent=2, epochs=6, mask_rate=0.5, progress=False, random_state=0).fit(gv.Graph(_features(0, 0.5), edges, N))
    assert len(checks) == 1
    x = _features(2, float("nan"))
    assert encoder_input(x, normalized_adjacency(EDGES, N), check_finite=False).num_nodes == N


def test_image_batches_are_not_checked_per_batch():
    """edgeless_input (the identity operator) is called per training mini-batch: its images were checked once per
    fit, and a denoising model's noise may push a batch to inf, which training diagnoses itself."""
    x = _features(1, float("inf"))
    assert edgeless_input(x).features is x


def test_encoder_input_names_the_first_row_of_several():
    x = _features(4, float("inf"))
    x[2, 0] = float("nan")
    for fmt in ("dense", "scipy csc", "torch coo", "torch csr"):
        with pytest.raises(gv.InputError, match=r"first at row 2\)"):
            encoder_input(FORMATS[fmt](x), normalized_adjacency(EDGES, N))


def test_encoder_input_keeps_finite_features_as_they_were():
    x = _features(0, 0.5)
    adj = normalized_adjacency(EDGES, N)
    inp = encoder_input(x, adj)
    assert inp.propagated and torch.equal(inp.features, adj @ x)
    assert encoder_input(x, SparseOperator(None, n=N)).features is x
    assert encoder_input(sp.csr_matrix(x.numpy()), adj).num_nodes == N


def test_the_estimators_refuse_non_finite_features_before_the_encoder():
    """The estimators catch NaN features upstream (the Graph's and the images' checks), with their own messages."""
    edges = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]])
    with pytest.raises(gv.InputError, match="node features contain NaN or inf"):
        gv.VGAE(epochs=1).fit(gv.Graph(_features(2, float("nan")), edges, N))
    with pytest.raises(gv.InputError, match="images contain NaN or inf"):
        ImageVAE(epochs=1).fit(np.where(np.eye(6) > 0, np.nan, 0.5))


# --------------------------------------------------------------------------- 2. the number of IWAE samples

def test_cli_iwae_k_has_an_upper_bound(capsys):
    """--iwae-k 1000000000 was taken: the evaluation then allocated until the machine gave out. (The trailing bad
    --epochs stops the old code at parsing, before any training.)"""
    with pytest.raises(SystemExit) as e:
        main(["vae", "--iwae-k", str(10**9), "--epochs", "0"])
    assert e.value.code == 2
    one_error(capsys, f"--iwae-k: must be at most {MAX_IWAE_K}, got {10**9}", only=True)


def test_cli_iwae_k_takes_its_limit():
    assert iwae_count(str(MAX_IWAE_K)) == MAX_IWAE_K and MAX_IWAE_K >= 1000  # the default k stays allowed


def _fitted_vae(**kw) -> tuple[ImageVAE, np.ndarray]:
    x = (np.random.default_rng(0).random((7, 9)) > 0.5).astype(np.float32)
    return ImageVAE(hidden=(4,), latent=2, epochs=2, progress=False, **kw).fit(x), x


@pytest.mark.parametrize("k", [0, -1, True, 2.0, "5", None])
def test_iwae_k_must_be_a_positive_integer(k):
    model, x = _fitted_vae()
    with pytest.raises(gv.InputError, match="k must be an integer"):
        model.iwae(x, k)


@pytest.mark.parametrize("dequantize", [None, 256])
def test_iwae_in_runs_of_samples_equals_one_run(monkeypatch, dequantize):
    """A large k is evaluated in runs of samples, combined by log-sum-exp: the same bound, from the same draws."""
    model, x = _fitted_vae(likelihood="gaussian" if dequantize else "bernoulli", dequantize=dequantize)
    k = 37
    monkeypatch.setattr(image_vae, "_IWAE_CHUNK", 9 * 4)  # one image at a time, its samples drawn 4 at once
    whole = model.iwae_per_image(x, k, random_state=3)  # every log-weight of an image held at once
    monkeypatch.setattr(image_vae, "_IWAE_LOG_WEIGHTS", 8)  # runs of 8 samples (two draws), the last of 5
    runs = model.iwae_per_image(x, k, random_state=3)
    np.testing.assert_allclose(runs, whole, rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(image_vae, "_IWAE_LOG_WEIGHTS", 1)  # one chunk of samples per run
    np.testing.assert_allclose(model.iwae_per_image(x, k, random_state=3), whole, rtol=1e-6, atol=1e-6)


def test_iwae_holds_a_bounded_number_of_log_weights(monkeypatch):
    """Every call of the objective gets at most _IWAE_LOG_WEIGHTS samples x images, whatever k (it held all k)."""
    model, x = _fitted_vae()
    monkeypatch.setattr(image_vae, "_IWAE_CHUNK", 9 * 4)
    monkeypatch.setattr(image_vae, "_IWAE_LOG_WEIGHTS", 8)
    calls = []
    iwae = model.objective_.iwae

    def spy(inp, target, k, *args, **kw):
        calls.append(k * target.shape[0])
        return iwae(inp, target, k, *args, **kw)

    monkeypatch.setattr(model.objective_, "iwae", spy)
    bound = model.iwae(x, 1000)
    assert np.isfinite(bound) and max(calls) <= 8 and len(calls) == len(x) * 125


# --------------------------------------------------------------------------- 3. one check of real numeric arrays

def test_as_float32_refuses_what_real_array_refuses():
    """as_float32 let numpy's own TypeError (an object array of complex numbers) or ValueError (strings) escape and
    took dates as numbers (days since 1970), each caller refusing such arrays first; it now shares real_array with
    the Fréchet distance."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(gv.InputError, match="node features must be real numbers"):
            as_float32(np.array([1 + 2j, 3], dtype=object), "node features")
    with pytest.raises(gv.InputError, match="node features must be real numbers, got dtype <U1"):
        as_float32(np.array(["a", "b"]), "node features")
    with pytest.raises(gv.InputError, match="got dtype datetime64"):
        as_float32(np.array(["2020-01-01"], dtype="datetime64[D]"), "node features")
    with pytest.raises(gv.InputError, match="must be real numbers, got dtype complex128"):
        as_float32(np.ones(3) * 1j, "node features")
    out = as_float32(np.array([True, False]), "x")  # booleans are 0 and 1 in every check
    assert out.dtype == np.float32 and out.tolist() == [1.0, 0.0]
    assert real_array([True, 2], "x").tolist() == [1.0, 2.0]


def test_the_float32_range_is_one_message_naming_the_row():
    """as_float32 and check_images said it in two ways, only the first naming the row; the feature classifier said
    "(as float32) contain NaN or inf" of values that held neither."""
    x = np.ones((4, 3))
    x[2, 1] = -1e39
    for check in (lambda: as_float32(x, "values"), lambda: check_images(x, "values"),
                  lambda: check_float32_range(x, "values")):
        with pytest.raises(gv.InputError, match=r"values exceed float32's range at row 2 \(magnitude up to 1e\+39, "
                                                r"beyond float32's"):
            check()
    labels = np.arange(4) % 2
    with pytest.raises(gv.InputError, match="the classifier's training images exceed float32's range at row 2"):
        feature_classifier(x, labels, cache_dir=None)
    top = float(np.finfo(np.float32).max)
    check_float32_range(np.array([top, -top]), "values")  # the largest float32 itself is taken
    assert gaussian_moments(x)[0][1] == pytest.approx(-1e39 / 4)  # the Fréchet statistics are float64: no limit
