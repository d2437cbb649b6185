"""Mutation-testing audit of ``graphvae/estimators`` (node_embeddings, autoencoders, image_vae, base), second pass.

Complements ``test_audit8_mut8est.py``: each test pins something a hand-made mutant of those modules changed
without any earlier test noticing; its docstring names the mutant. References are independent of the code under
test: brute force on tiny inputs, numpy/scipy/scikit-learn, torch's own generators, or a hand-computed value.
"""
from __future__ import annotations

import numpy as np
import pytest

import graphvae as gv


# ------------------------------------------------------------------------------------------- image VAE
def _levels(n: int = 20, pixels: int = 6, top: int = 3, seed: int = 0) -> np.ndarray:
    """``n`` images of pixels ``k / top`` for random integers ``k`` in ``0..top`` (float32)."""
    return (np.random.default_rng(seed).integers(0, top + 1, (n, pixels)) / top).astype(np.float32)


@pytest.mark.parametrize("bad, why", [(4 / 3, "above 1"), (0.3, "between two levels")])
def test_dequantization_refuses_pixels_that_are_not_levels(bad: float, why: str) -> None:
    """``dequantize=L`` reads pixels as ``k / (L - 1)`` for integers ``k`` in ``0..L-1``: a pixel ``4/3`` with
    ``L = 4`` (level 4, one past the top: an integer but out of range) and a pixel 0.3 (0.9 levels, 0.1 away from the
    nearest) are refused with one line, in ``fit`` and in ``elbo``. Kills dropping ``xt.max() > 1`` from
    ``_observed`` and loosening its grid tolerance ``1e-3`` to 0.5."""
    x = _levels()
    vae = gv.ImageVAE(latent=2, hidden=(4,), likelihood="gaussian", dequantize=4, epochs=1, batch_size=10).fit(x)
    bad_x = x.copy()
    bad_x[3, 2] = bad
    with pytest.raises(gv.InputError, match=r"dequantize=4 needs pixels k/3"):
        gv.ImageVAE(latent=2, hidden=(4,), likelihood="gaussian", dequantize=4, epochs=1, batch_size=10).fit(bad_x)
    with pytest.raises(gv.InputError, match=r"dequantize=4 needs pixels k/3"):
        vae.elbo(bad_x)


# ---------------------------------------------------------------------------------------- autoencoders
def _digits(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """``n`` scikit-learn digits scaled to [0, 1] and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data[:n] / 16.0).astype(np.float32), digits.target[:n]


def test_autoencoder_options_reach_the_inner_models() -> None:
    """The options a kind documents reach the model it trains: the KL target ``sparsity`` (rho) on images and
    graphs, the contractive penalty's ``jacobian`` method and ``num_probes``, and the hidden ``activation`` of
    the graph model. Kills ``sparsity=0.05`` whatever ``sparsity`` says, ``jacobian='exact'``, ``num_probes=1``
    and the graph model's activation fixed to sigmoid."""
    sparse = gv.Autoencoder(kind="sparse", sparsity=0.2)
    assert sparse.image_model().sparsity == 0.2 and sparse.graph_model().sparsity == 0.2
    contractive = gv.Autoencoder(kind="contractive", jacobian="hutchinson", num_probes=3).image_model()
    assert (contractive.jacobian, contractive.num_probes) == ("hutchinson", 3)
    assert gv.Autoencoder(activation="tanh").graph_model().activation == "tanh"
    assert gv.Autoencoder(activation="relu").image_model().activation == "relu"


def test_reconstruct_of_a_graph_autoencoder_is_refused_with_one_line() -> None:
    """``reconstruct`` decodes pixels: an autoencoder fitted on a graph refuses it with one line pointing at
    ``score()``. Kills dropping that check (the link likelihood has no pixel mean to decode)."""
    import networkx as nx

    ae = gv.Autoencoder(hidden=(8,), latent=3, epochs=1).fit(nx.karate_club_graph())
    with pytest.raises(gv.InputError, match="reconstruct is for images"):
        ae.reconstruct(None)


def test_stacked_pretraining_reconstructs_tanh_codes_with_gaussians() -> None:
    """Greedy pretraining reconstructs a layer's input with Bernoulli units only when it lies in [0, 1] (pixels
    under ``likelihood="bernoulli"``, sigmoid codes); tanh codes lie in [-1, 1] and get unit Gaussians, whose
    log-density per coordinate is at most :math:`-\\frac12\\log 2\\pi`. So layer 2's recorded log-likelihood
    total over the ``n`` images is at most :math:`-n\\,w\\,\\frac12\\log 2\\pi` (``w`` = 8, layer 1's width); a
    Bernoulli fit on those codes starts near :math:`-n\\,w\\log 2`, above it. Kills ``bounded = True`` for the
    layers above the first."""
    import math

    x, y = _digits(60)
    model = gv.StackedAutoencoder(hidden=(8, 4), activation="tanh", pretrain_epochs=2, finetune_epochs=1).fit(x, y)
    bound = -60 * 8 * 0.5 * math.log(2 * math.pi)
    assert [len(h) for h in model.pretrain_history_] == [2, 2]  # one entry an epoch, each layer (else vacuous)
    assert all(h["log_likelihood"] <= bound + 1e-6 for h in model.pretrain_history_[1])


def test_stacked_pretraining_reconstructs_pixels_with_the_likelihood_asked_for() -> None:
    r"""The first layer's pretraining reconstructs the pixels with ``likelihood``: ``"gaussian"`` gives unit
    Gaussians, so its log-likelihood total over ``n`` images of 64 pixels is at most
    :math:`-64\,n\,\frac12\log 2\pi` every epoch (a Bernoulli fit of [0, 1] pixels starts near
    :math:`-64\,n\log 2`, above it). Kills ``bounded = True`` for the first layer."""
    import math

    x, y = _digits(60)
    model = gv.StackedAutoencoder(hidden=(8,), likelihood="gaussian", pretrain_epochs=2, finetune_epochs=1).fit(x, y)
    assert len(model.pretrain_history_[0]) == 2
    assert all(h["log_likelihood"] <= -60 * 64 * 0.5 * math.log(2 * math.pi) + 1e-6
               for h in model.pretrain_history_[0])


def test_fine_tuning_visits_each_image_once_per_epoch_in_batches() -> None:
    r"""An epoch of fine-tuning runs mini-batches of ``batch_size`` that together hold every image once: with a
    rate too small to move the weights (1e-9), the epoch's recorded log-likelihood total equals
    :math:`\sum_i \log p(y_i \mid x_i)` of the fitted model over the ``n`` images (numpy, from
    ``predict_proba``). Kills each batch being the whole data set (``idx = order``)."""
    x, y = _digits(60)
    model = gv.StackedAutoencoder(hidden=(8,), pretrain=False, finetune_epochs=1, batch_size=20,
                                  finetune_lr=1e-9).fit(x, y)
    proba = model.predict_proba(x).astype(np.float64)
    column = np.searchsorted(model.classes_, y)
    expected = float(np.log(proba[np.arange(60), column]).sum())
    assert model.history_[0]["log_likelihood"] == pytest.approx(expected, rel=1e-4)


def _bernoulli_kl(rho: float, rho_hat: np.ndarray) -> float:
    """:math:`\\sum_j \\mathrm{KL}(\\mathrm{Bern}(\\rho)\\,\\|\\,\\mathrm{Bern}(\\hat\\rho_j))` in float64."""
    return float(np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))


@pytest.mark.parametrize("rho", [0.05, 0.3])
def test_sparsity_penalty_uses_the_target_rho(rho: float) -> None:
    """The KL sparsity penalty of one batch of ``n`` images is :math:`\\lambda\\,n\\sum_j
    \\mathrm{KL}(\\rho\\,\\|\\,\\hat\\rho_j)` with :math:`\\hat\\rho_j` the mean activation of hidden unit ``j``
    (numpy, from the fitted model's activations; a learning rate of 1e-9 keeps them those of the first step).
    For ``ImageVAE(sparsity=rho)`` and ``Autoencoder(kind="sparse", sparsity=rho)``. Kills the image model's
    ``SparsityKL(0.05, ...)`` and the autoencoder passing ``sparsity=0.05`` whatever ``sparsity`` says."""
    import torch

    from graphvae.nn.encoder import edgeless_input

    x, _ = _digits(40)
    vae = gv.ImageVAE(latent=3, hidden=(8,), activation="sigmoid", variational=False, sparsity=rho,
                      sparsity_weight=0.5, epochs=1, batch_size=40, lr=1e-9).fit(x)
    with torch.no_grad():
        _, hidden = vae.objective_.encoder(edgeless_input(torch.from_numpy(x)), return_hidden=True)
    rho_hat = hidden[0].double().numpy().mean(axis=0)
    assert vae.history_[0]["penalty"] == pytest.approx(0.5 * 40 * _bernoulli_kl(rho, rho_hat), rel=1e-4)
    ae = gv.Autoencoder(kind="sparse", sparsity=rho, weight=0.5, hidden=(8,), latent=3, epochs=1, batch_size=40,
                        lr=1e-9).fit(x)
    rho_hat = ae.hidden_activations(x)[0].astype(np.float64).mean(axis=0)
    assert ae.history_[0]["penalty"] == pytest.approx(0.5 * 40 * _bernoulli_kl(rho, rho_hat), rel=1e-4)


def test_contractive_penalty_is_exact_or_a_hutchinson_estimate_as_asked() -> None:
    r"""The contractive penalty of one batch is :math:`\lambda \sum_i \lVert J_f(x_i) \rVert_F^2` (torch autograd's
    full Jacobian of the code, image by image; a learning rate of 1e-9 keeps the first step's weights):
    ``jacobian="exact"`` gives it to 1e-4, ``jacobian="hutchinson"`` with one probe a random estimate that
    differs from it. Kills ``ContractivePenalty(..., 'exact', ...)`` whatever ``jacobian`` says."""
    import torch

    from graphvae.nn.encoder import edgeless_input

    x, _ = _digits(10)

    def fit(method: str) -> gv.ImageVAE:
        return gv.ImageVAE(latent=3, hidden=(6,), activation="tanh", variational=False, contractive=0.1,
                           jacobian=method, epochs=1, batch_size=10, lr=1e-9).fit(x)

    exact = fit("exact")
    encoder = exact.objective_.encoder
    total = 0.0
    for row in torch.from_numpy(x):
        jac = torch.autograd.functional.jacobian(lambda v: encoder(edgeless_input(v[None])).mu[0], row)
        total += float(jac.double().square().sum())
    assert exact.history_[0]["penalty"] == pytest.approx(0.1 * total, rel=1e-4)
    assert fit("hutchinson").history_[0]["penalty"] != pytest.approx(0.1 * total, rel=1e-3)


def test_decoder_mirrors_the_encoder_widths() -> None:
    """``hidden=(16, 8)`` on 64 pixels with a 3-d code is the network 64-16-8-3 then 3-8-16-64 (the class
    docstring: "the decoder mirrors them"): the decoder's weight matrices, in order, are [3, 8], [8, 16],
    [16, 64]. Kills building the decoder with ``hidden`` instead of ``hidden[::-1]``."""
    x, _ = _digits(20)
    vae = gv.ImageVAE(latent=3, hidden=(16, 8), epochs=1, batch_size=20).fit(x)
    shapes = [tuple(p.shape) for p in vae.objective_.likelihood.decoder.parameters() if p.dim() == 2]
    assert shapes == [(3, 8), (8, 16), (16, 64)]


def test_samples_decode_standard_normal_codes_of_the_seed() -> None:
    r"""``sample(n, random_state=s)`` is the mean image of :math:`p(x \mid z)` at :math:`z \sim \mathcal N(0, I)`
    drawn by torch's generator seeded with ``s``: it equals ``decode`` of ``torch.randn`` from that generator.
    Kills drawing the codes uniformly (``torch.rand``) and ignoring ``random_state``."""
    import torch

    x, _ = _digits(20)
    vae = gv.ImageVAE(latent=3, hidden=(8,), epochs=1, batch_size=20).fit(x)
    for seed in (0, 5):
        z = torch.randn(4, 3, generator=torch.Generator().manual_seed(seed)).numpy()
        np.testing.assert_array_equal(vae.sample(4, random_state=seed), vae.decode(z))


def test_iwae_of_a_dequantized_model_evaluates_the_dequantized_levels() -> None:
    r"""With ``dequantize=L`` the IWAE bound, as the ELBO, is evaluated on :math:`(k + u)/L` for the pixel levels
    ``k``: its one-sample version and the 20-sample ELBO estimate the same expectation (per image the
    one-sample log-weight is an unbiased ELBO estimate), so they agree to a few nats, and ``k = 50`` is not
    below the ELBO. Kills dequantizing the raw pixels ``k / (L - 1)`` in ``iwae_per_image``."""
    x = _levels(n=200, pixels=16, top=16, seed=1)
    vae = gv.ImageVAE(latent=2, hidden=(16,), likelihood="gaussian", sigma=0.1, dequantize=17, epochs=20,
                      batch_size=50, lr=0.01).fit(x)
    elbo = vae.elbo(x, num_samples=20)["elbo"]
    assert vae.iwae(x, k=1) == pytest.approx(elbo, abs=0.05 * abs(elbo) + 2.0)
    assert vae.iwae(x, k=50) >= elbo - 1.0


def test_beta_weighs_the_kl_term_of_the_image_loss() -> None:
    r"""The image VAE trains on :math:`-(\log p(x\mid z) - \beta\,\mathrm{KL}) / n` per batch of ``n`` images: two
    fits of one seed and one batch with ``beta`` 0 and 1 see the same first-epoch log-likelihood and KL totals,
    and their losses differ by exactly ``KL / n``. Kills building the ELBO with ``beta=1.0``."""
    x, _ = _digits(20)
    first = [gv.ImageVAE(latent=2, hidden=(8,), beta=beta, epochs=1, batch_size=20).fit(x).history_[0]
             for beta in (0.0, 1.0)]
    assert first[0]["kl"] == pytest.approx(first[1]["kl"], rel=1e-6) and first[0]["kl"] > 0
    assert first[0]["loss"] == pytest.approx(-first[0]["log_likelihood"] / 20, rel=1e-5)
    assert first[1]["loss"] - first[0]["loss"] == pytest.approx(first[0]["kl"] / 20, rel=1e-4)


# ------------------------------------------------------------------------------------- node embeddings
def test_max_latent_of_a_zoo_model_without_its_own_latent_caps_the_vgae_default() -> None:
    """A zoo model that leaves ``latent`` at the VGAE's default (``gae``: 16, ``gv.VGAE().latent``) is capped at
    ``min(16, max_latent)``: ``max_latent=20`` keeps 16 columns, 5 gives 5. Kills reading the missing latent
    as another default (64) in ``fit_embeddings``."""
    import networkx as nx

    from graphvae.estimators.node_embeddings import fit_embeddings

    graph = nx.karate_club_graph()
    default = gv.VGAE().latent
    assert fit_embeddings(graph, "gnae-wd", zoo="gae", max_latent=20, epochs=1)[0].shape == (34, min(default, 20))
    assert fit_embeddings(graph, "gnae-wd", zoo="gae", max_latent=5, epochs=1)[0].shape == (34, 5)


@pytest.mark.parametrize("bad", [dict(epoch=5), dict(representation="mean")])
def test_a_composed_model_checks_its_overrides_against_each_component(bad: dict) -> None:
    """The overrides of a composed model apply to each component, so each component checks them as its own: a
    misspelt option is refused (``InputTypeError``) and an unknown representation too, by ``embedding_config``
    itself before any training. Kills skipping the components' check, the unknown-option check and the
    representation check."""
    from graphvae.estimators.node_embeddings import embedding_config

    with pytest.raises(gv.InputError, match="unknown"):
        embedding_config("gnae-maskgae-s2gc", **bad)
    with pytest.raises(gv.InputError, match="unknown"):  # and a single model, which the components are
        embedding_config("gae", **bad)


def test_a_model_without_its_own_probe_c_gets_the_evaluation_default() -> None:
    """``probe_c(name)`` is the model's chosen ``probe_C`` where it has one (the composed default: 3) and
    otherwise :data:`graphvae.evaluation.node_tasks.PROBE_C` (the module docstring). Kills another fallback."""
    from graphvae.estimators.node_embeddings import probe_c
    from graphvae.evaluation.node_tasks import PROBE_C

    assert probe_c("gae") == PROBE_C and probe_c("vgae-wide") == PROBE_C and probe_c("gnae-wd-smooth") == PROBE_C
    assert probe_c("gnae-maskgae-s2gc") == 3.0


@pytest.mark.parametrize("name", ["gnae-wd", "vgae-wide"])
def test_the_configurations_vgae_options_win_over_its_model_dict(name: str) -> None:
    """The options are layered as the code's comment says: the zoo model's (for a zoo-based model), then the
    configuration's ``model`` changes, then its own VGAE options (``latent=``, ...): ``latent=5`` with
    ``model={"latent": 6}`` trains a 5-d latent layer, for a zoo-based and a plain configuration alike (the plain
    one layered ``model`` last and trained 6). Kills layering ``model`` last."""
    import networkx as nx

    from graphvae.estimators.node_embeddings import fit_embeddings

    z, model = fit_embeddings(nx.karate_club_graph(), name, epochs=1, latent=5, model={"latent": 6})
    assert model.latent == 5 and model.embed().shape == (34, 5)


# ------------------------------------------------------------------------------------------------ base
def _diverged_history(best_epoch: int) -> gv.VGAE:
    """An unfitted VGAE with a finite objective, a history whose last epoch (2) has a NaN loss, and
    ``best_epoch_``: what ``_check_diverged`` judges after such a fit."""
    import torch

    model = gv.VGAE(lr=0.01)
    model.objective_ = torch.nn.Linear(2, 2)
    model.history_ = [{"epoch": 0, "loss": 1.0}, {"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": float("nan")}]
    model.best_epoch_ = best_epoch
    return model


def test_a_nan_epoch_is_forgiven_only_when_the_kept_epoch_came_before_it() -> None:
    """When the loss turns NaN at epoch 2 (ending training) a model selected on validation at an earlier
    epoch (1) is kept with a :class:`DivergenceWarning`; a "selected" epoch 2, the NaN epoch itself, is no
    earlier model and raises. Kills ``0 <= best < end`` -> ``<= end``."""
    with pytest.warns(gv.DivergenceWarning, match="the model kept is epoch 1's"):
        _diverged_history(1)._check_diverged()
    with pytest.raises(gv.InputError, match="loss became NaN or inf at epoch 2"):
        _diverged_history(2)._check_diverged()


def test_divergence_advice_names_parameters_from_a_million_up() -> None:
    """After a divergence the advice names every float parameter (other than ``lr``) of size at least
    :data:`Estimator.HUGE_PARAMETER` = 1e6: ``sigma=1e6`` is named, ``sigma=999999.0`` is not. Kills
    ``>=`` -> ``>``."""
    assert "sigma=1e+06" in gv.ImageVAE(sigma=1e6)._divergence_advice()
    assert "sigma" not in gv.ImageVAE(sigma=999999.0)._divergence_advice()


def test_a_nan_ending_any_training_run_is_a_divergence() -> None:
    """A model of several training runs (the stacked autoencoder's pretraining of each layer, then its
    fine-tuning) diverged when any run ended on a NaN loss, even if the parameters and the last run are finite:
    a NaN-ended pretraining of layer 1 raises. Kills judging the last run only."""
    import torch

    model = gv.StackedAutoencoder()
    model.objective_ = torch.nn.Linear(2, 2)
    model.pretrain_history_ = [[{"epoch": 0, "loss": 3.0}, {"epoch": 1, "loss": float("inf")}]]
    model.history_ = [{"epoch": 0, "loss": 1.0}]
    with pytest.raises(gv.InputError, match="loss became NaN or inf at epoch 1"):
        model._check_diverged()
    model.pretrain_history_ = [[{"epoch": 0, "loss": 3.0}, {"epoch": 1, "loss": 2.0}]]
    model._check_diverged()  # every run finite: nothing to say


def test_bernoulli_pixels_below_zero_are_refused() -> None:
    """Bernoulli pixels are probabilities: a pixel of -0.1 is refused with one line by ``fit`` and by the
    fitted model's ``elbo`` and ``transform`` (and accepted by a Gaussian model). Kills dropping ``x.min() < 0``
    from ``check_images``."""
    x, _ = _digits(20)
    bad = x.copy()
    bad[0, 0] = -0.1
    with pytest.raises(gv.InputError, match=r"Bernoulli pixels must lie in \[0, 1\]"):
        gv.ImageVAE(latent=2, hidden=(4,), epochs=1, batch_size=20).fit(bad)
    vae = gv.ImageVAE(latent=2, hidden=(4,), epochs=1, batch_size=20).fit(x)
    for method in (vae.elbo, vae.transform):
        with pytest.raises(gv.InputError, match=r"Bernoulli pixels must lie in \[0, 1\]"):
            method(bad)
    gv.ImageVAE(latent=2, hidden=(4,), likelihood="gaussian", epochs=1, batch_size=20).fit(bad)


def test_each_pretraining_stage_decodes_activated_codes_and_feeds_activated_codes_up(monkeypatch) -> None:
    r"""Greedy pretraining of a sigmoid stack, watched through the trainer: stage ``l`` reconstructs its input
    from :math:`g(\sigma(a_l))` (its decoder's mean at a code ``a`` is :math:`\sigma(\sigma(a) W + b)`, with the
    decoder's one weight matrix and bias), and stage 2 trains on the codes :math:`\sigma(x W_1 + b_1)` of the
    trained stage 1 (torch, from that stage's own weights). Kills decoding the linear code (no
    ``ActivatedDecoder``) and feeding stage 2 the pre-activation codes."""
    import torch

    from graphvae.estimators import autoencoders

    seen = []
    real = autoencoders.train_elbo

    def watch(objective, batches, *args, **kwargs):
        history = real(objective, batches, *args, **kwargs)
        seen.append((objective, next(iter(batches(0)))[1]))
        return history

    monkeypatch.setattr(autoencoders, "train_elbo", watch)
    x, y = _digits(30)
    gv.StackedAutoencoder(hidden=(6, 4), pretrain_epochs=2, finetune_epochs=1, batch_size=30).fit(x, y)
    (stage1, _), (stage2, codes), _ = seen
    a = torch.randn(5, 6, generator=torch.Generator().manual_seed(0))
    weight = [p for p in stage2.likelihood.parameters() if p.dim() == 2][0]
    bias = [p for p in stage2.likelihood.parameters() if p.dim() == 1][0]
    with torch.no_grad():
        weight1 = [p for p in stage1.likelihood.parameters() if p.dim() == 2][0]
        bias1 = [p for p in stage1.likelihood.parameters() if p.dim() == 1][0]
        np.testing.assert_allclose(stage1.likelihood.decode_mean(a).numpy(),
                                   torch.sigmoid(torch.sigmoid(a) @ weight1 + bias1).numpy(), rtol=1e-5, atol=1e-6)
        w1 = [p for p in stage1.encoder.parameters() if p.dim() == 2][0]
        b1 = [p for p in stage1.encoder.parameters() if p.dim() == 1][0]
        expected = torch.sigmoid(torch.from_numpy(x) @ w1 + b1)
    # the batch is the 30 codes in a random order: compare each column's sorted values
    got = np.sort(codes.numpy(), axis=0)
    np.testing.assert_allclose(got, np.sort(expected.numpy(), axis=0), rtol=1e-5, atol=1e-6)
    assert weight.shape == (4, 6) and bias.shape == (6,)


@pytest.mark.parametrize("params", [dict(activation_l1=0.1), dict(sparsity_weight=0.5, activation="sigmoid")])
def test_a_sparse_image_model_needs_a_hidden_layer(params: dict) -> None:
    """The sparsity penalties act on hidden activations: with ``hidden=()`` there are none, and the penalty
    would silently be 0; the image model refuses it with one line. Kills dropping that check."""
    x, _ = _digits(20)
    with pytest.raises(gv.InputError, match="needs at least one hidden layer"):
        gv.ImageVAE(latent=2, hidden=(), epochs=1, batch_size=20, **params).fit(x)


def test_s2gc_defaults_are_the_papers_sixteen_steps_and_alpha_five_percent() -> None:
    r"""``s2gc_features(graph)`` with its defaults is S²GC as Zhu & Koniusz (2021) run it on citation graphs,
    :math:`K = 16`, :math:`\alpha = 0.05`: :math:`\frac1K\sum_{k=1}^K((1-\alpha)\hat A^k\tilde X + \alpha\tilde X)`
    (dense numpy brute force, :math:`\hat A = D^{-1/2}(W + I)D^{-1/2}` with the graph's edge weights ``W``, rows
    of ``X`` L1-normalized). Kills ``K = 8`` and ``alpha = 0.1``."""
    import networkx as nx

    from graphvae.estimators.node_embeddings import s2gc_features

    x = np.random.default_rng(2).random((34, 5))
    graph = gv.as_graph(nx.karate_club_graph(), features=x.astype(np.float32))
    a = nx.to_numpy_array(nx.karate_club_graph(), nodelist=range(34)) + np.eye(34)  # its edges carry weights
    d = a.sum(axis=1)
    a_hat = a / np.sqrt(np.outer(d, d))
    xt = graph.x.numpy().astype(np.float64)
    xt = xt / np.abs(xt).sum(axis=1, keepdims=True)
    powers = [np.linalg.matrix_power(a_hat, k) @ xt for k in range(1, 17)]
    expected = sum((1 - 0.05) * p + 0.05 * xt for p in powers) / 16
    np.testing.assert_allclose(s2gc_features(graph), expected, rtol=1e-6, atol=1e-10)


def test_read_only_images_are_accepted_without_a_warning() -> None:
    """A read-only array (a memory map, a view of a frozen buffer) is copied before torch wraps it: fitting
    and encoding it raise no warning (torch warns on non-writable arrays) and give the codes of a writable
    copy. Kills dropping the copy in ``check_images``."""
    import warnings

    x, _ = _digits(20)
    frozen = x.copy()
    frozen.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vae = gv.ImageVAE(latent=2, hidden=(4,), epochs=1, batch_size=20).fit(frozen)
        codes = vae.transform(frozen)
    np.testing.assert_array_equal(codes, vae.transform(x))


def test_stacked_autoencoder_refuses_a_single_class() -> None:
    """A classifier needs at least two classes: labels all 3 are refused with one line. Kills
    ``classes_.size < 2`` -> ``< 1``."""
    x, _ = _digits(20)
    with pytest.raises(gv.InputError, match="at least two classes"):
        gv.StackedAutoencoder(hidden=(4,), pretrain_epochs=1, finetune_epochs=1).fit(x, np.full(20, 3))


def test_linear_probe_standardizes_the_codes() -> None:
    """``linear_probe_accuracy`` is a logistic regression on codes standardized with the training codes'
    means and deviations (scikit-learn, written out here): it equals that reference on codes whose columns
    differ in scale by 1e4 (where an unstandardized, L2-regularized fit differs). Kills dropping the scaler."""
    from sklearn.linear_model import LogisticRegression

    from graphvae.estimators.autoencoders import linear_probe_accuracy

    x, y = _digits(200)
    codes = x[:, 16:24] * np.array([1e-4, 1, 1e4, 1, 1e-4, 1, 1e4, 1], dtype=np.float32)
    train, test = slice(0, 120), slice(120, 200)
    mean, std = codes[train].mean(axis=0), codes[train].std(axis=0)
    std[std == 0] = 1
    ref = LogisticRegression(max_iter=2000, random_state=0).fit((codes[train] - mean) / std, y[train])
    expected = ref.score((codes[test] - mean) / std, y[test])
    raw = LogisticRegression(max_iter=2000, random_state=0).fit(codes[train], y[train]).score(codes[test], y[test])
    assert raw != pytest.approx(expected)  # the scale matters here
    assert linear_probe_accuracy(codes[train], y[train], codes[test], y[test]) == pytest.approx(expected)


def test_reconstruction_error_refuses_clean_images_of_another_count() -> None:
    """``reconstruction_error(X, clean)`` compares image by image: ``clean`` with one row for 10 images of ``X``
    is refused with one line, not broadcast against every reconstruction. Kills dropping the shape check."""
    x, _ = _digits(10)
    ae = gv.Autoencoder(hidden=(8,), latent=3, epochs=1, batch_size=10).fit(x)
    with pytest.raises(gv.InputError, match=r"one row per image of X \(10\), got 1"):
        ae.reconstruction_error(x, x[:1])
