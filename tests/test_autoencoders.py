"""The autoencoder family: penalties against closed forms/autograd, corruptions, and each kind's defining property."""
from __future__ import annotations

import json

import numpy as np
import scipy.sparse
import pytest
import torch
from torch.func import jacrev

import graphvae as gv
from graphvae.estimators import autoencoders as ae
from graphvae.objectives import penalties
from graphvae.training import corruption
from graphvae._validation import InputError
from graphvae.objectives.elbo import ELBO
from graphvae.nn.encoder import GCNEncoder
from graphvae.nn.encoder import edgeless_input
from graphvae.data.images import load_digits
from graphvae.nn.latent import Posterior
from graphvae.data.graph import build_graph
from graphvae.estimators.models import GAE


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def digits():
    x, y, _ = load_digits()
    order = np.random.default_rng(0).permutation(len(x))
    tr, te = order[:800], order[800:1400]
    return x[tr], y[tr], x[te], y[te]


@pytest.fixture(scope="module")
def fitted(digits):
    """One model per kind on the same data and budget (shared by the property tests)."""
    x_tr = digits[0]
    common = dict(hidden=64, latent=16, epochs=30, lr=0.01, random_state=0)
    return {kind: ae.Autoencoder(kind=kind, **common).fit(x_tr) for kind in ae.KINDS}


def _small_graph():
    """60 nodes in 3 groups, denser inside the groups, with sparse binary features."""
    rng = np.random.default_rng(0)
    src, dst = rng.integers(0, 60, 600), rng.integers(0, 60, 600)
    keep = (src % 3 == dst % 3) | (rng.random(600) < 0.2)
    x = (rng.random((60, 8)) < 0.3).astype(np.float32)
    return build_graph(src[keep], dst[keep], 60, x=scipy.sparse.csr_matrix(x))


# ------------------------------------------------------------------------------ penalties: references
def test_sparsity_kl_equals_the_bernoulli_kl_formula():
    torch.manual_seed(0)
    h = torch.sigmoid(torch.randn(32, 10))
    rho, weight = 0.1, 0.7
    rho_hat = h.mean(0)
    closed = (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
    z = torch.zeros(32, 2)
    got = penalties.SparsityKL(rho, weight)(None, Posterior(z), [h], None)
    assert torch.allclose(got, weight * 32 * closed, rtol=1e-5)
    # and it is zero exactly when every unit's mean activation is rho
    flat = torch.full((32, 10), rho)
    assert float(penalties.SparsityKL(rho, 1.0)(None, Posterior(z), [flat], None)) == pytest.approx(0.0, abs=1e-5)


def test_activation_l1_is_the_sum_of_absolute_activations():
    h1, h2 = torch.randn(5, 4), torch.randn(5, 3)
    got = penalties.ActivationL1(0.5)(None, Posterior(torch.zeros(5, 2)), [h1, h2], None)
    assert float(got) == pytest.approx(0.5 * float(h1.abs().sum() + h2.abs().sum()), rel=1e-6)


def _brute_force_sq_norm(encoder, x):
    """||dz_m/dx_m||_F^2 per row from the full Jacobian of one row at a time (torch.func.jacrev)."""
    def code(row):
        return encoder(edgeless_input(row.unsqueeze(0))).mu.squeeze(0)
    return torch.stack([jacrev(code)(row).square().sum() for row in x])


@pytest.mark.parametrize("activation", [torch.sigmoid, torch.tanh, torch.relu])
def test_closed_form_jacobian_equals_autograd(activation):
    torch.manual_seed(1)
    encoder = GCNEncoder(9, (7, 5), 3, variational=False, activation=activation)
    x = torch.rand(6, 9)
    inp = edgeless_input(x)
    exact = penalties.jacobian_sq_norm(encoder, inp, "exact")
    assert torch.allclose(exact, _brute_force_sq_norm(encoder, x), rtol=1e-4, atol=1e-6)
    assert torch.allclose(exact, penalties.jacobian_sq_norm(encoder, inp, "autograd"), rtol=1e-4, atol=1e-6)


def test_closed_form_of_one_sigmoid_layer():
    """With an identity head, ||J||^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ij^2 (the CAE paper's form)."""
    torch.manual_seed(2)
    encoder = GCNEncoder(8, (5,), 5, variational=False, activation=torch.sigmoid)
    with torch.no_grad():
        encoder.head.weight.copy_(torch.eye(5))
    x = torch.rand(4, 8)
    h = torch.sigmoid(x @ encoder.layers[0].weight + encoder.layers[0].bias)
    expected = (h * (1 - h)).square() @ encoder.layers[0].weight.square().sum(0)
    assert torch.allclose(penalties.jacobian_sq_norm(encoder, edgeless_input(x)), expected, rtol=1e-5)


def test_hutchinson_estimate_is_unbiased():
    torch.manual_seed(3)
    encoder = GCNEncoder(9, (7,), 4, variational=False, activation=torch.sigmoid)
    inp = edgeless_input(torch.rand(3, 9))
    exact = penalties.jacobian_sq_norm(encoder, inp, "exact")
    estimate = penalties.jacobian_sq_norm(encoder, inp, "hutchinson", num_probes=4000)
    assert torch.allclose(estimate, exact, rtol=0.1)


def test_contractive_penalty_has_gradients_and_rejects_graphs():
    torch.manual_seed(4)
    encoder = GCNEncoder(6, (5,), 3, variational=False, activation=torch.sigmoid)
    inp = edgeless_input(torch.rand(4, 6))
    for method in ("exact", "hutchinson"):
        posterior, hidden = encoder(inp, return_hidden=True)
        value = penalties.ContractivePenalty(1.0, method)(inp, posterior, hidden, encoder)
        (grad,) = torch.autograd.grad(value, encoder.layers[0].weight)
        assert grad.abs().sum() > 0
    with pytest.raises(InputError, match="edgeless"):
        penalties.jacobian_sq_norm(encoder, GAE()._encoder_input(_small_graph()))
    with pytest.raises(InputError, match="method"):
        penalties.ContractivePenalty(1.0, "finite-differences")


# -------------------------------------------------------------------------------------------- corruption
def test_corruptions():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 50)
    masked = corruption.corrupt(x, "masking", 0.3, g)
    dropped = (masked == 0) & (x != 0)
    assert abs(float(dropped.float().mean()) - 0.3) < 0.02
    assert torch.equal(masked[~dropped], x[~dropped])
    sp = corruption.corrupt(x, "salt_pepper", 0.2, g)
    changed = sp != x
    assert abs(float(changed.float().mean()) - 0.2) < 0.02
    assert set(sp[changed].unique().tolist()) <= {0.0, 1.0}
    noisy = corruption.corrupt(x, "gaussian", 0.5, g)
    assert abs(float((noisy - x).std()) - 0.5) < 0.02
    with pytest.raises(InputError, match="noise"):
        corruption.corrupt(x, "blur", 0.1)
    with pytest.raises(InputError, match="level"):
        corruption.corrupt(x, "masking", 1.5)


def test_hide_edges_and_mask_features_on_a_graph():
    graph = _small_graph()
    g = torch.Generator().manual_seed(0)
    kept = corruption.hide_edges(graph.edge_index, 0.5, g)
    all_keys = set((graph.edge_index[0] * 1000 + graph.edge_index[1]).tolist())
    kept_keys = set((kept[0] * 1000 + kept[1]).tolist())
    assert kept_keys <= all_keys
    assert kept_keys == set((kept[1] * 1000 + kept[0]).tolist())  # still symmetric
    assert 0.35 < len(kept_keys) / len(all_keys) < 0.65
    x = graph.x
    masked = corruption.mask_features(x, 0.5, g)
    assert masked.layout == torch.sparse_csr
    frac = float((masked.values() == 0).float().mean())
    assert 0.4 < frac < 0.6
    assert torch.equal(masked.to_dense()[masked.to_dense() != 0], x.to_dense()[masked.to_dense() != 0])


def test_denoising_graph_batches_hide_edges_from_the_encoder_only():
    graph = _small_graph()
    batches = corruption.denoising_graph_batches(graph, 0.5, 0.0, torch.Generator().manual_seed(0))
    (inp, target), = batches(0)
    full = GAE()._encoder_input(graph)
    assert inp.adj.nnz < full.adj.nnz
    assert target.num_positive == graph.edge_index.shape[1] + graph.num_nodes  # all edges + self-loops


# ------------------------------------------------------------------------------------ defining properties
def test_sparse_training_reaches_the_target_activation(fitted, digits):
    rho = fitted["sparse"].sparsity
    assert abs(float(fitted["sparse"].hidden_activations(digits[0])[0].mean()) - rho) < 0.02
    assert abs(float(fitted["vanilla"].hidden_activations(digits[0])[0].mean()) - rho) > 0.1


def test_contractive_has_a_smaller_jacobian_at_comparable_error(fitted, digits):
    x_te = digits[2]
    vanilla, contractive = fitted["vanilla"], fitted["contractive"]
    assert contractive.jacobian_norm(x_te).mean() < 0.5 * vanilla.jacobian_norm(x_te).mean()
    assert contractive.reconstruction_error(x_te) < 1.5 * vanilla.reconstruction_error(x_te)


def test_denoising_reconstructs_corrupted_inputs_better(fitted, digits):
    x_te = digits[2]
    noisy = corruption.corrupt(torch.from_numpy(x_te), "masking", 0.3, torch.Generator().manual_seed(1)).numpy()
    assert fitted["denoising"].reconstruction_error(noisy, x_te) < fitted["vanilla"].reconstruction_error(noisy, x_te)


def test_stacked_pretraining_reaches_from_scratch_accuracy(digits):
    x_tr, y_tr, x_te, y_te = digits
    params = dict(hidden=(64, 32), pretrain_epochs=8, finetune_epochs=4, lr=0.01, random_state=0)
    stacked = ae.StackedAutoencoder(pretrain=True, **params).fit(x_tr, y_tr)
    scratch = ae.StackedAutoencoder(pretrain=False, **params).fit(x_tr, y_tr)
    assert stacked.score(x_te, y_te) >= scratch.score(x_te, y_te)
    assert [len(h) for h in stacked.pretrain_history_] == [8, 8] and scratch.pretrain_history_ == []
    assert stacked.transform(x_te).shape == (len(x_te), 32)
    assert set(stacked.predict(x_te[:20])) <= set(range(10))


def test_every_kind_trains_through_the_shared_elbo_module(monkeypatch, digits):
    """Counts calls of ELBO.forward: a kind that forked its own loss would not reach it."""
    calls = []
    original = ELBO.forward

    def counting(self, inp, target, generator=None):
        calls.append(self)
        return original(self, inp, target, generator)

    monkeypatch.setattr(ELBO, "forward", counting)
    x_tr, y_tr = digits[0][:64], digits[1][:64]
    for kind in ae.KINDS:
        calls.clear()
        model = ae.Autoencoder(kind=kind, hidden=8, latent=4, epochs=1, batch_size=32).fit(x_tr)
        assert len(calls) == 2 and all(c is model.objective_ for c in calls)
        assert type(model.objective_) is ELBO and not model.objective_.encoder.variational
        assert len(model.objective_.penalties) == (kind in ("sparse", "contractive"))
    for kind in ae.GRAPH_KINDS:
        calls.clear()
        model = ae.Autoencoder(kind=kind, hidden=8, latent=4, epochs=2).fit(_small_graph())
        assert len(calls) == 2 and all(c is model.objective_ for c in calls)
    calls.clear()
    stacked = ae.StackedAutoencoder(hidden=(8, 4), pretrain_epochs=1, finetune_epochs=1, batch_size=32).fit(x_tr, y_tr)
    assert len(calls) == 3 * 2 and calls[-1] is stacked.objective_  # two layers pretrained, then fine-tuning


def test_graph_autoencoders_embed_and_score():
    from graphvae.data.split import split_edges
    split = split_edges(_small_graph(), seed=0)
    model = ae.Autoencoder(kind="denoising", hidden=16, latent=8, epochs=20, lr=0.01).fit(split)
    assert model.transform().shape == (60, 8)
    scores = model.score(split.test_pos, split.test_neg)
    assert 0 <= scores["auc"] <= 1
    with pytest.raises(InputError, match="images"):
        ae.Autoencoder(kind="contractive").fit(split)
    with pytest.raises(InputError, match="graph"):
        model.transform(np.zeros((3, 8)))


def test_bad_input_is_one_line_input_error(digits):
    x = digits[0]
    with pytest.raises(InputError, match="kind"):
        ae.Autoencoder(kind="wavelet").fit(x)
    with pytest.raises(InputError, match="sigmoid"):
        ae.Autoencoder(kind="sparse", activation="relu").fit(x)
    with pytest.raises(InputError, match="2-d"):
        ae.Autoencoder().fit(np.zeros(5))
    with pytest.raises(InputError, match="NaN"):
        ae.Autoencoder().fit(np.full((3, 4), np.nan))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        ae.Autoencoder().fit(np.full((3, 4), 2.0))
    with pytest.raises(InputError, match="one label per row"):
        ae.StackedAutoencoder().fit(x, digits[1][:5])
    with pytest.raises(RuntimeError, match="not fitted"):
        ae.Autoencoder().transform(x)
    fitted = ae.Autoencoder(hidden=4, latent=2, epochs=1).fit(x[:32])
    with pytest.raises(InputError, match="pixels"):
        fitted.transform(np.zeros((2, 10)))


def test_cli_writes_json_and_figures_and_reports_bad_input(tmp_path, capsys):
    from graphvae.cli import main
    out, path = tmp_path / "figs", tmp_path / "r.json"
    assert main(["ae", "--kind", "contractive", "--epochs", "2", "--hidden", "16", "--out", str(out),
                 "--json", str(path), "--no-progress"]) == 0
    result = json.loads(path.read_text())
    for key in ("reconstruction_error", "probe_accuracy", "jacobian_norm", "hidden_activation"):
        assert np.isfinite(result[key])
    assert sorted(p.name for p in out.iterdir()) == ["features.png", "latent_map.png", "reconstructions.png"]
    assert main(["ae", "--kind", "stacked", "--epochs", "1", "--hidden", "8,4", "--json", str(path),
                 "--no-progress"]) == 0
    result = json.loads(path.read_text())
    assert 0 <= result["scratch_accuracy"] <= 1 and 0 <= result["finetuned_accuracy"] <= 1
    capsys.readouterr()
    assert main(["ae", "--kind", "contractive", "--dataset", "cora", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "for images" in err


def test_linear_probe_is_logistic_regression_accuracy():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(200, 3))
    labels = (codes[:, 0] > 0).astype(int)
    assert ae.linear_probe_accuracy(codes[:150], labels[:150], codes[150:], labels[150:]) > 0.95
    assert ae.linear_probe_accuracy(codes[:150], rng.integers(0, 2, 150), codes[150:], labels[150:]) < 0.8


@pytest.mark.parametrize("argv, expected", [
    # a graph: the paper's GAE settings (32-16, 200 epochs, Adam 0.01); the images' made a Cora graph AE reach ~0.7 AUC
    (["--dataset", "cora"], {"hidden": (32,), "epochs": 200, "lr": 0.01}),
    (["--dataset", "citeseer", "--kind", "denoising"], {"hidden": (32,), "epochs": 200, "lr": 0.01}),
    (["--dataset", "cora", "--lr", "0.02", "--hidden", "8"], {"hidden": (8,), "epochs": 200, "lr": 0.02}),
    ([], {"hidden": (64,), "epochs": 50, "lr": 0.005}),
    (["--kind", "stacked"], {"hidden": (128, 64), "epochs": 50, "lr": 0.005}),
    (["--kind", "sparse", "--epochs", "7"], {"hidden": (64,), "epochs": 7, "lr": 0.005}),
])
def test_cli_defaults_follow_the_data(argv, expected):
    from graphvae.cli.ae import check_options
    from graphvae.cli.main import build_parser

    args = build_parser("ae").parse_args(["ae", *argv])
    check_options(args)
    assert {key: getattr(args, key) for key in expected} == expected


def test_weight_without_a_penalty_and_image_kinds_on_graphs_are_input_errors():
    """``weight`` of a vanilla or denoising autoencoder was ignored without a word (the CLI refuses ``--weight``
    there); ``graph_model()`` of an image-only kind was GAE's TypeError. Both now one InputError; a kind with a
    penalty still takes its weight (the penalty's option carries it)."""
    import numpy as np
    import pytest

    x = np.random.default_rng(0).random((20, 16))
    for kind in ("vanilla", "denoising"):
        with pytest.raises(gv.InputError, match=f"kind '{kind}' has no penalty"):
            gv.Autoencoder(kind=kind, weight=1.0, epochs=1).fit(x)
    model = gv.Autoencoder(kind="contractive", weight=0.5, epochs=1, random_state=0).fit(x)
    assert model.model_.contractive == 0.5
    assert gv.Autoencoder(kind="sparse", sparse_penalty="l1", weight=0.2).graph_model().activation_l1 == 0.2
    with pytest.raises(gv.InputError, match="kind 'contractive' is for images"):
        gv.Autoencoder(kind="contractive").graph_model()
