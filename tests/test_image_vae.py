"""The image VAE as the no-edge VGAE: dense-layer equivalence, the shared ELBO, the IWAE bound, figures, CLI."""
import json
import math
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch_geometric.data import Data

from graphvae.objectives import elbo as elbo_module
from graphvae._validation import InputError
from graphvae.cli import main
from graphvae.objectives.elbo import ELBO
from graphvae.nn.encoder import GCNEncoder
from graphvae.data.image_files import write_idx
from graphvae.estimators.image_vae import ImageVAE
from graphvae.nn.encoder import edgeless_input
from graphvae.data.images import load_digits
from graphvae.objectives.likelihood import LinkLikelihood
from graphvae.estimators.models import VGAE
from graphvae.nn.operator import normalized_adjacency
from graphvae.objectives.pixel_likelihood import BernoulliPixels, GaussianPixels
from graphvae.evaluation import plots


@pytest.fixture(scope="module")
def digits():
    x, y, shape = load_digits()
    return x[:300], y[:300], shape


@pytest.fixture(scope="module")
def trained(digits):
    x, _, _ = digits
    return ImageVAE(latent=2, hidden=(32,), epochs=30, batch_size=50, lr=3e-3, random_state=0).fit(x)


def test_edgeless_encoder_is_the_dense_mlp():
    torch.manual_seed(1)
    enc = GCNEncoder(6, hidden=(5, 4), latent=3, variational=True)
    x = torch.randn(7, 6)
    # the operator of a graph with no edges is the identity
    assert normalized_adjacency(np.zeros((2, 0), dtype=np.int64), 7).is_identity
    post = enc(edgeless_input(x))
    # the same weights as plain nn.Linear layers (weight transposed)
    linears = []
    for layer in [*enc.layers, enc.head]:
        lin = torch.nn.Linear(*layer.weight.shape)
        with torch.no_grad():
            lin.weight.copy_(layer.weight.T)
            lin.bias.copy_(layer.bias)
        linears.append(lin)
    h = x
    for lin in linears[:-1]:
        h = torch.relu(lin(h))
    mu, logstd = linears[-1](h).split(3, dim=-1)
    torch.testing.assert_close(post.mu, mu)
    torch.testing.assert_close(post.logstd, logstd)


def test_image_elbo_matches_torch_distributions(trained, digits):
    x = torch.as_tensor(digits[0][:40])
    obj = trained.objective_
    with torch.no_grad():
        terms = obj(edgeless_input(x), x, torch.Generator().manual_seed(5))
        post = obj.encoder(edgeless_input(x))
    # the same posterior sample, drawn independently with the same generator state
    eps = torch.randn(post.mu.shape, generator=torch.Generator().manual_seed(5))
    z = post.mu + eps * post.logstd.exp()
    with torch.no_grad():
        logits = obj.likelihood.decoder(z)
    log_lik = Bernoulli(logits=logits).log_prob(x).sum()
    kl = kl_divergence(Normal(post.mu, post.logstd.exp()), Normal(0.0, 1.0)).sum()
    torch.testing.assert_close(terms.log_likelihood, log_lik, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(terms.kl, kl, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(terms.loss, -(log_lik - kl) / 40, rtol=1e-5, atol=1e-4)
    # elbo() reports the same objective per image
    one = trained.elbo(x.numpy(), num_samples=1, random_state=5)
    assert one["elbo"] == pytest.approx(float(log_lik - kl) / 40, rel=1e-4)


def test_image_and_graph_elbo_go_through_one_module(monkeypatch, digits):
    seen = []
    original = ELBO.forward

    def spy(self, inp, target, generator=None):
        seen.append(type(self.likelihood))
        return original(self, inp, target, generator)

    monkeypatch.setattr(elbo_module.ELBO, "forward", spy)
    vae = ImageVAE(latent=2, hidden=(8,), epochs=1, batch_size=100).fit(digits[0][:200])
    assert isinstance(vae.objective_, ELBO) and type(vae.objective_).forward is spy
    edges = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    VGAE(hidden=4, latent=2, epochs=1).fit(Data(x=torch.eye(4), edge_index=edges, num_nodes=4))
    assert seen.count(BernoulliPixels) == 2 and seen.count(LinkLikelihood) == 1  # 2 image batches, 1 graph step
    vae.score(digits[0][:50])
    assert seen.count(BernoulliPixels) == 12  # score: 10 samples through the same module


def test_iwae_k1_equals_elbo_in_expectation(trained, digits):
    x = digits[0][:60]
    draws = np.stack([trained.iwae_per_image(x, k=1, random_state=r) for r in range(200)])  # [200, 60]
    per_repeat = draws.mean(axis=1)
    se = per_repeat.std(ddof=1) / math.sqrt(len(per_repeat))
    elbo = trained.elbo(x, num_samples=400, random_state=1)["elbo"]
    assert abs(per_repeat.mean() - elbo) < 4 * se + 0.02


def test_iwae_bound_grows_with_k_towards_brute_force_log_likelihood(digits):
    x = digits[0][:80]
    model = ImageVAE(latent=1, hidden=(16,), epochs=20, batch_size=50, lr=3e-3, random_state=2).fit(digits[0])
    bounds = [np.mean([model.iwae(x, k=k, random_state=r) for r in range(3)]) for k in (1, 10, 200)]
    # log p(x) by quadrature over the 1-D latent: an independent reference the bound must approach from below
    grid = torch.linspace(-8, 8, 4001)[:, None]
    pixels = model.objective_.likelihood
    with torch.no_grad():
        logits = pixels.decoder(grid)[:, None, :].expand(len(grid), len(x), 64)
        log_px_z = pixels.log_prob(logits, torch.as_tensor(x))  # [G, n]
    log_joint = log_px_z + Normal(0.0, 1.0).log_prob(grid)
    log_px = (torch.logsumexp(log_joint, dim=0) + math.log(float(grid[1] - grid[0]))).double().numpy().mean()
    assert bounds[0] < bounds[1] < bounds[2] <= log_px + 1e-3
    assert log_px - bounds[2] < 0.3 * (log_px - bounds[0])


def test_fit_is_reproducible_and_seed_dependent(digits):
    x = digits[0][:200]
    a = ImageVAE(latent=2, hidden=(8,), epochs=2, random_state=4).fit(x)
    b = ImageVAE(latent=2, hidden=(8,), epochs=2, random_state=4).fit(x)
    c = ImageVAE(latent=2, hidden=(8,), epochs=2, random_state=5).fit(x)
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    assert a.history_[-1]["loss"] != c.history_[-1]["loss"]
    np.testing.assert_array_equal(a.sample(5, random_state=1), b.sample(5, random_state=1))


def test_gaussian_pixels_with_learned_sigma(digits):
    x = load_digits(binarize=False)[0][:200]
    m = ImageVAE(latent=2, hidden=(16,), likelihood="gaussian", sigma=0.5, learn_sigma=True, epochs=3).fit(x)
    pixels = m.objective_.likelihood
    assert isinstance(pixels, GaussianPixels)
    assert not torch.allclose(pixels.logstd, torch.full_like(pixels.logstd, math.log(0.5)))
    out = pixels.decoder(torch.zeros(3, 2))
    ref = Normal(out, pixels.logstd.exp()).log_prob(torch.as_tensor(x[:3])).sum(-1)
    torch.testing.assert_close(pixels.log_prob(out, torch.as_tensor(x[:3])), ref)
    assert np.isfinite(m.iwae(x[:20], k=5))


def test_outputs_shapes_and_ranges(trained, digits):
    x = digits[0][:10]
    assert trained.transform(x).shape == (10, 2)
    rec = trained.reconstruct(x)
    assert rec.shape == (10, 64) and rec.min() >= 0 and rec.max() <= 1
    assert trained.sample(7).shape == (7, 64)
    # reconstructions of the training images beat the mean image
    assert F.binary_cross_entropy(torch.as_tensor(rec), torch.as_tensor(x)) < F.binary_cross_entropy(
        torch.as_tensor(np.tile(digits[0].mean(0).clip(0.01, 0.99), (10, 1))), torch.as_tensor(x))
    hist = trained.history_per_image()
    assert hist[-1]["elbo"] > hist[0]["elbo"]
    assert hist[-1]["elbo"] == pytest.approx(hist[-1]["log_likelihood"] - hist[-1]["kl"])


def test_bad_input(trained):
    with pytest.raises(InputError, match="Bernoulli"):
        ImageVAE(epochs=1).fit(np.full((5, 4), 2.0))
    with pytest.raises(InputError, match="pixels"):
        trained.transform(np.zeros((3, 10)))
    with pytest.raises(InputError, match="NaN"):
        trained.elbo(np.full((3, 64), np.nan))
    with pytest.raises(InputError, match="likelihood"):
        ImageVAE(likelihood="poisson").fit(np.zeros((3, 4)))
    with pytest.raises(InputError, match="latent codes"):
        trained.decode(np.zeros((2, 3)))
    with pytest.raises(InputError, match="variational"):
        ImageVAE(variational=False, epochs=1, hidden=(4,)).fit(np.zeros((4, 4))).iwae(np.zeros((4, 4)), k=2)
    with pytest.raises(RuntimeError, match="not fitted"):
        ImageVAE().sample(3)


def png_size(path):
    data = open(path, "rb").read(24)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_figures_are_pngs_of_the_expected_size(trained, digits, tmp_path):
    import matplotlib.image

    x, y, shape = digits
    dpi = plots.DPI
    files = {
        plots.plot_latent_map(trained.transform(x), y, tmp_path / "map.png", "t"): (6.0, 5.0),
        plots.plot_latent_map(np.random.default_rng(0).normal(size=(50, 5)), y[:50], tmp_path / "map5.png"): (6.0, 5.0),
        plots.plot_latent_grid(trained.decode, 2, shape, tmp_path / "grid.png", n=6): (6.0, 6.0),
        plots.plot_reconstructions(x[:8], trained.reconstruct(x[:8]), shape, tmp_path / "rec.png"): (8.0, 4.5),
        plots.plot_images(trained.sample(64), shape, tmp_path / "samples.png", ncols=8): (6.0, 6.0),
        plots.plot_training_curves(trained.history_per_image(), tmp_path / "curves.png"): (10.0, 3.2),
    }
    for path, (w, h) in files.items():
        assert png_size(path) == (round(w * dpi), round(h * dpi)), path.name
        img = matplotlib.image.imread(path)
        assert img.shape[:2] == (round(h * dpi), round(w * dpi)) and img.std() > 0
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporaries


def test_image_grid_and_projection_helpers():
    imgs = np.arange(2 * 6, dtype=float).reshape(2, 6)
    grid = plots.image_grid(imgs, (2, 3), ncols=2, pad=1, fill=-1)
    assert grid.shape == (4, 9)
    np.testing.assert_array_equal(grid[1:3, 1:4], imgs[0].reshape(2, 3))
    np.testing.assert_array_equal(grid[1:3, 5:8], imgs[1].reshape(2, 3))
    each = plots.image_grid(imgs, (2, 3), normalize="each", pad=0)
    assert each.min() == 0 and each.max() == 1
    z = np.random.default_rng(0).normal(size=(40, 4))
    points, title = plots.project_2d(z, "pca")
    assert points.shape == (40, 2) and "PCA" in title
    assert "t-SNE" in plots.project_2d(z, "tsne")[1]
    g = plots.latent_quantile_grid(3, 4)
    assert g.shape == (9, 4) and np.allclose(g[:, 2:], 0) and g[0, 1] > 0 > g[0, 0]
    from scipy.stats import norm
    assert g[:, 0].max() == pytest.approx(norm.ppf(0.95))
    with pytest.raises(InputError):
        plots.project_2d(z, "umap")


from graphvae.evaluation.frechet import feature_classifier as _feature_classifier  # noqa: E402


def small_classifier(*args, **kwargs):
    """The Fréchet feature classifier, shrunk for CLI tests (it has its own tests in test_frechet.py)."""
    return _feature_classifier(*args, **{**kwargs, "hidden": (16,), "max_iter": 20})


def test_cli_digits_json_and_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("graphvae.evaluation.frechet.feature_classifier", small_classifier)
    out, js = tmp_path / "figs", tmp_path / "r.json"
    rc = main(["vae", "--epochs", "2", "--latent", "3", "--hidden", "16", "--iwae-k", "5", "--elbo-samples", "2",
               "--seeds", "2", "--plot", str(out), "--json", str(js), "--no-progress", "--no-cache"])
    assert rc == 0
    r = json.loads(js.read_text())
    for key in ("test_elbo", "test_iwae", "frechet", "train_seconds"):
        assert len(r["seeds"]) == 2 and set(r["mean_std"][key]) == {"mean", "std"}
        assert r[key] == pytest.approx(np.mean([s[key] for s in r["seeds"]]))
    assert r["iwae_k"] == 5 and r["n_test"] == 360 and r["dataset"] == "digits"
    assert sorted(p.name for p in out.iterdir()) == sorted(r["figures"]) and len(r["figures"]) == 6
    assert "seed 1" in capsys.readouterr().out


def test_cli_mnist_files_and_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("graphvae.evaluation.frechet.feature_classifier", small_classifier)
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    write_idx(d / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (40, 28, 28)).astype(np.uint8))
    write_idx(d / "train-labels-idx1-ubyte.gz", np.arange(40, dtype=np.uint8) % 10)
    write_idx(d / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (12, 28, 28)).astype(np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte.gz", np.arange(12, dtype=np.uint8) % 10)
    js = tmp_path / "m.json"
    assert main(["vae", "--mnist", str(d), "--epochs", "1", "--hidden", "8", "--iwae-k", "2", "--json", str(js),
                 "--no-progress", "--cache-dir", str(tmp_path / "cache")]) == 0
    r = json.loads(js.read_text())
    assert r["dataset"] == "mnist" and r["shape"] == [28, 28] and np.isfinite(r["frechet"])
    assert list((tmp_path / "cache").glob("*.npz"))
    capsys.readouterr()
    for argv in (["vae", "--mnist", str(tmp_path / "nowhere")], ["vae", "--dataset", "mnist"],
                 ["vae", "--mnist", str(d), "--fashion-mnist", str(d)]):
        assert main(argv + ["--epochs", "1", "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("graphvae vae: error:") and "\n" not in err
