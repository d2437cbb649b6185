"""Mutation-testing audit of ``graphvae/estimators`` (models, zoo, node_embeddings, base, autoencoders, image_vae).

Each test pins something a hand-made mutant of those modules changed without any earlier test noticing; its
docstring names the mutant. References are independent of the code under test: the published settings
(``docs/models.md``, the papers), brute force on tiny inputs, numpy/scipy/scikit-learn, or a closed form.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.estimators.zoo import make_model

# ------------------------------------------------------------------------------------------------- zoo

#: the named configurations as docs/models.md's table and the papers state them (name -> VGAE parameters)
DOCUMENTED = {
    # Kipf & Welling (2016): 32-16 GCN, 200 epochs, lr 0.01, final epoch kept
    "gae": dict(variational=False, latent=16, epochs=200, lr=0.01, early_stopping=False, adversarial=0.0),
    "vgae": dict(variational=True, latent=16, epochs=200, lr=0.01, early_stopping=False, adversarial=0.0),
    # Ahn & Kim (2021): linear map, s = 1.8, 128-d, lr 0.005, 300 epochs; best validation epoch, patience 100
    "gnae": dict(variational=False, hidden=(), latent=128, normalize=1.8, lr=0.005, epochs=300, early_stopping=True,
                 patience=100, weight_decay=0.0, mask_rate=0.0),
    "vgnae": dict(variational=True, hidden=(), latent=128, normalize=1.8, lr=0.005, epochs=300, early_stopping=True,
                  patience=100),
    "gnae-wd": dict(variational=False, latent=128, normalize=1.8, weight_decay=5e-4, early_stopping=True, patience=100),
    "masked-gnae": dict(variational=False, normalize=1.8, mask_rate=0.5, decoder="inner", early_stopping=True),
    # Li et al. (2023) but 40 % masking: one 128-d layer, dropout 0.8, batch norm, ELU, MLP decoder 32 units with
    # dropout 0.2, 3 partners per node (0.5 per positive), degree decoder 0.003, weight decay 5e-5, lr 0.01, <= 500
    "maskgae": dict(variational=False, hidden=(), latent=128, mask_rate=0.4, encoder_dropout=0.8, batch_norm=True,
                    head_activation="elu", decoder="mlp", decoder_hidden=32, decoder_dropout=0.2,
                    negatives_per_positive=0.5, degree_weight=3e-3, weight_decay=5e-5, lr=0.01, epochs=500,
                    early_stopping=True, patience=100, snapshots=1),
    "maskgae-wide": dict(decoder_hidden=64, negatives_per_positive=1.0, degree_weight=1e-2, mask_rate=0.4,
                         snapshots=1, epochs=500),
    "maskgae-wide-snapshots": dict(decoder_hidden=64, negatives_per_positive=1.0, degree_weight=1e-2, snapshots=50),
    "best": dict(decoder_hidden=64, negatives_per_positive=1.0, degree_weight=1e-2, snapshots=50, mask_rate=0.4),
    # Pan et al. (2018): the paper's GAE/VGAE with the adversarial regularizer, weight 0.001, last of 200 epochs
    "arga": dict(variational=False, adversarial=0.001, epochs=200, lr=0.01, early_stopping=False),
    "argva": dict(variational=True, adversarial=0.001, epochs=200, lr=0.01, early_stopping=False),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_named_models_have_their_documented_settings(name: str) -> None:
    """Every zoo model's resolved VGAE parameters equal docs/models.md's table and the papers' settings.

    Kills the zoo mutants that change one documented number (patience 100 -> 50, normalize 1.8 -> 1.0, latent
    128 -> 64, gnae lr/epochs, maskgae's mask_rate/dropout/degree weight/weight decay/epochs, gnae-wd's weight
    decay, masked-gnae's rate, snapshots 50 -> 20, ARGA's weight, ARGVA not variational, vgae's epochs)."""
    params = make_model(name).get_params()
    got = {k: (tuple(params[k]) if isinstance(params[k], (list, tuple)) else params[k]) for k in DOCUMENTED[name]}
    want = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in DOCUMENTED[name].items()}
    assert got == want
    if name in ("gae", "vgae", "arga", "argva"):  # the paper's 32-16 encoder: one int or a one-element sequence
        assert params["hidden"] in (32, (32,), [32]) and params["latent"] == 16


def test_model_config_is_a_copy_the_caller_may_change() -> None:
    """``model_config`` hands out a copy: changing it leaves the zoo alone (kills ``return MODELS[key]``)."""
    from graphvae.estimators.zoo import model_config

    config = model_config("gnae")
    config["latent"] = 3
    config.clear()
    assert model_config("gnae")["latent"] == 128 and make_model("gnae").latent == 128


# ------------------------------------------------------------------------------------------------ base
def test_a_failed_fit_keeps_the_seed_it_drew_so_the_failure_can_be_repeated() -> None:
    """A fit with ``random_state=None`` that diverges forgets the model but keeps ``seed_`` and ``history_``
    (base.py: ``_forget_fit(keep=("history_", "seed_"))``); refitting with ``random_state=seed_`` repeats the
    same epochs' losses. Kills the mutant keeping ``history_`` only."""
    graph = nx.karate_club_graph()
    model = gv.GAE(epochs=5, latent=4, lr=1e10, random_state=None)
    with pytest.raises(gv.InputError, match="training diverged"):
        model.fit(graph)
    assert isinstance(model.seed_, int) and not hasattr(model, "objective_")
    again = gv.GAE(epochs=5, latent=4, lr=1e10, random_state=model.seed_)
    with pytest.raises(gv.InputError, match="training diverged"):
        again.fit(graph)
    assert again.seed_ == model.seed_
    np.testing.assert_array_equal([h["loss"] for h in again.history_], [h["loss"] for h in model.history_])


def test_stacked_autoencoder_refuses_an_empty_stack() -> None:
    """``StackedAutoencoder(hidden=())`` has no layer to pretrain and no code to return: refused with one line
    (``widths(allow_empty=False)``). Kills the mutant dropping the ``not out and not allow_empty`` check."""
    x = np.random.default_rng(0).random((12, 5)).astype(np.float32)
    with pytest.raises(gv.InputError, match="at least one layer"):
        gv.StackedAutoencoder(hidden=(), pretrain_epochs=1, finetune_epochs=1).fit(x, np.arange(12) % 2)


@pytest.mark.parametrize("make", [lambda: gv.GAE(hidden=[8, 0], epochs=1), lambda: gv.Autoencoder(hidden=(0,), epochs=1)])
def test_a_zero_width_hidden_layer_is_refused(make) -> None:
    """A hidden width of 0 in a sequence (which passes the parameter table's ``list``/``tuple``) is refused by
    ``widths`` with one line. Kills ``any(h < 1 ...)`` -> ``any(h < 0 ...)``."""
    with pytest.raises(gv.InputError, match="hidden widths must be positive"):
        make().fit(nx.karate_club_graph())


def test_random_state_none_draws_a_fresh_seed_each_fit() -> None:
    """``random_state=None`` draws a fresh seed from the OS entropy for every fit (recorded as ``seed_``): two
    fits get different seeds (a collision has probability 2**-32) and so different embeddings. Kills
    ``seed_ = 0 if random_state is None``."""
    graph = nx.karate_club_graph()
    a = gv.GAE(epochs=2, latent=4, random_state=None).fit(graph)
    b = gv.GAE(epochs=2, latent=4, random_state=None).fit(graph)
    assert a.seed_ != b.seed_ and not np.array_equal(a.embed(), b.embed())
    np.testing.assert_array_equal(gv.GAE(epochs=2, latent=4, random_state=a.seed_).fit(graph).embed(), a.embed())


def _with_history(history: list[dict], best_epoch: int | None = None) -> gv.VGAE:
    """An unfitted VGAE carrying a hand-made training history (and ``best_epoch_``), to run its loss checks on."""
    model = gv.VGAE(lr=0.01)
    model.history_ = history
    if best_epoch is not None:
        model.best_epoch_ = best_epoch
    return model


def _loss_rose_warnings(model: gv.VGAE) -> list:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model._warn_if_the_loss_rose()
    return [w for w in caught if issubclass(w.category, gv.DivergenceWarning)]


def test_loss_rise_warning_is_measured_in_units_of_max_abs_start_and_one() -> None:
    """The rule (base.py): warn when ``end - start > 10 * max(|start|, 1)``. From a start of 0.1: ending at 5
    (a rise of 4.9 < 10) does not warn, ending at 11 (10.9 > 10) does. Kills ``max(abs(start), 1.0)`` ->
    ``abs(start)`` (which warned at a rise of 1)."""
    assert not _loss_rose_warnings(_with_history([{"epoch": 0, "loss": 5.0, "initial_loss": 0.1}]))
    assert len(_loss_rose_warnings(_with_history([{"epoch": 0, "loss": 11.0, "initial_loss": 0.1}]))) == 1
    # from 50: 10 * 50 = 500 is the allowed rise
    assert not _loss_rose_warnings(_with_history([{"epoch": 0, "loss": 540.0, "initial_loss": 50.0}]))
    assert len(_loss_rose_warnings(_with_history([{"epoch": 0, "loss": 560.0, "initial_loss": 50.0}]))) == 1


def test_loss_rise_warning_judges_the_epoch_kept_on_validation() -> None:
    """With ``best_epoch_`` (a model selected on validation) the ending loss is the kept epoch's, not the last
    one's: a last epoch far above the start does not warn when the kept epoch is fine, and the reverse warns.
    Kills skipping the ``best_epoch_`` look-up."""
    history = [{"epoch": 0, "loss": 40.0, "initial_loss": 50.0}, {"epoch": 1, "loss": 1e6}]
    assert not _loss_rose_warnings(_with_history(history, best_epoch=0))
    assert len(_loss_rose_warnings(_with_history(history))) == 1  # no selection: the last epoch is kept
    history = [{"epoch": 0, "loss": 1e6, "initial_loss": 50.0}, {"epoch": 1, "loss": 40.0}]
    assert len(_loss_rose_warnings(_with_history(history, best_epoch=0))) == 1


# ---------------------------------------------------------------------------------------------- models
def _karate_split():
    return gv.split_edges(nx.karate_club_graph(), seed=0)


@pytest.mark.parametrize("patience, dropout", [(1, 0.0), (3, 0.0), (3, 0.5)])
def test_early_stopping_stops_patience_epochs_after_the_first_best_and_keeps_it(patience: int, dropout: float) -> None:
    """Early stopping, from the recorded validation AUCs alone: the kept epoch is the first epoch of the highest
    AUC up to the stop, training stops exactly ``patience`` epochs after it (epochs count from 0), and the kept
    parameters score the validation pairs with that AUC -- also with encoder dropout, which validation must switch
    off as scoring does. ``snapshots=1`` keeps no snapshot list. Kills ``epoch - best >= patience`` -> ``>``,
    validating in training mode (no ``eval()``) and ``snapshots > 1`` -> ``>= 1``."""
    blocks = [[0.15 if i == j else 0.02 for j in range(4)] for i in range(4)]  # enough validation pairs (~50)
    split = gv.split_edges(nx.stochastic_block_model([40] * 4, blocks, seed=0), seed=0)  # that AUC is not all 1
    model = gv.GAE(epochs=200, latent=8, lr=0.05, early_stopping=True, patience=patience,
                   encoder_dropout=dropout).fit(split)
    assert not hasattr(model, "snapshots_") and not hasattr(model, "snapshot_epochs_")
    val = np.array([h["val_auc"] for h in model.history_])
    best = int(np.argmax(val))  # the first maximum
    assert len(val) < 200, "training ran out of epochs before it stopped: no stop to check"
    assert model.best_epoch_ == best and model.best_val_auc_ == val[best]
    assert len(val) - 1 == best + patience
    assert model.score(split.val_pos, split.val_neg)["auc"] == pytest.approx(val[best])


@pytest.mark.parametrize("pair", [[[0], [34]], [[-1], [0]], [[0, 3], [2, -34]]])
def test_pairs_outside_the_node_range_are_refused(pair) -> None:
    """Node pairs must index nodes ``0..N-1``: ``N`` itself and negative indices (which torch would silently
    read from the end) raise :class:`InputError`. Kills ``max >= N`` -> ``max > N`` and dropping ``min < 0``."""
    model = gv.GAE(epochs=2, latent=4).fit(nx.karate_club_graph())
    with pytest.raises(gv.InputError, match="must index nodes 0..33"):
        model.predict_proba(np.array(pair))
    with pytest.raises(gv.InputError, match="must index nodes 0..33"):
        model.score(torch.tensor(pair), torch.tensor([[0], [1]]))


@pytest.mark.parametrize("params, message", [
    (dict(degree_weight=0.01), "needs mask_rate > 0"),
    (dict(mask_mode="path"), "needs mask_rate > 0"),
    (dict(mask_rate=0.3, hidden_edges=0.2), "not both"),
    (dict(mask_rate=0.3, feature_noise=0.2), "not both"),
    (dict(negative_power=0.5), "need the MLP edge decoder"),
])
def test_options_that_need_another_option_are_refused(params: dict, message: str) -> None:
    """Options that mean nothing without another (the degree decoder or a masking mode without masking,
    masking together with denoising, degree-distributed negatives without the MLP decoder) are refused, not
    silently ignored. Kills dropping each of those checks in ``VGAE._check_params``."""
    with pytest.raises(gv.InputError, match=message):
        gv.GAE(epochs=1, latent=4, **params).fit(nx.karate_club_graph())


def test_early_stopping_on_a_whole_graph_is_refused() -> None:
    """``early_stopping=True`` needs validation edges: fitting a graph (not a ``LinkSplit``) is refused rather
    than training without selection. Kills dropping the check."""
    with pytest.raises(gv.InputError, match="early_stopping needs a LinkSplit"):
        gv.GAE(epochs=2, latent=4, early_stopping=True).fit(nx.karate_club_graph())


def _weighted_karate(tmp_path):
    lines = [f"{u},{v},{1 + (u * v) % 5}" for u, v in nx.karate_club_graph().edges]
    path = tmp_path / "w.csv"
    path.write_text("\n".join(lines) + "\n")
    graph = gv.load_graph(str(path))
    assert graph.edge_weight is not None and float(graph.edge_weight.max()) > 1
    return graph


@pytest.mark.parametrize("params", [dict(hidden_edges=0.3), dict(mask_rate=0.3)])
def test_a_model_that_hides_edges_ignores_edge_weights_when_it_embeds(tmp_path, params: dict) -> None:
    """A model trained on corrupted views (denoising ``hidden_edges`` or masking) builds its views from the
    unweighted graph, so it embeds its fitted graph with the unweighted Â too: ``embed()`` equals embedding the
    same graph with the weights removed. Kills ``_uses_edge_weights`` ignoring ``hidden_edges``."""
    import copy

    graph = _weighted_karate(tmp_path)
    model = gv.GAE(epochs=3, latent=4, **params).fit(graph)
    unweighted = copy.copy(graph)
    unweighted.edge_weight = None
    np.testing.assert_allclose(model.embed(), model.embed(unweighted), rtol=1e-5, atol=1e-6)
    plain = gv.GAE(epochs=3, latent=4).fit(graph)  # a model that keeps every edge uses the weights
    assert not np.allclose(plain.embed(), plain.embed(unweighted), atol=1e-4)


def test_weight_decay_shrinks_the_encoder_weights() -> None:
    """``weight_decay`` adds :math:`\\lambda/2 \\lVert W\\rVert^2` to the loss: with the same seed, a large
    :math:`\\lambda` ends with encoder weights of smaller norm than none, and the fitted objective reports a positive
    penalty. Kills never adding the ``WeightDecay`` penalty."""
    graph = nx.karate_club_graph()

    def weight_norm(model) -> float:
        return float(sum((p.detach() ** 2).sum() for name, p in model.objective_.encoder.named_parameters()
                         if p.dim() == 2))

    plain = gv.GAE(epochs=60, latent=4, lr=0.05).fit(graph)
    decayed = gv.GAE(epochs=60, latent=4, lr=0.05, weight_decay=1.0).fit(graph)
    assert weight_norm(decayed) < 0.8 * weight_norm(plain)
    assert decayed.history_[-1]["penalty"] > 0 and plain.history_[-1]["penalty"] == 0


def test_discriminator_learning_rate_reaches_the_adversarial_step() -> None:
    """ARGA's discriminator trains with ``discriminator_lr``, not the encoder's ``lr``: changing it alone changes
    the fit, and setting it to ``lr`` differs from the default. Kills ``DiscriminatorStep(lr=self.lr)``."""
    split = _karate_split()
    z = [gv.GAE(epochs=10, latent=4, adversarial=0.5, discriminator_lr=rate).fit(split).embed()
         for rate in (0.001, 0.01)]
    assert not np.allclose(z[0], z[1])


def test_progress_labels_name_the_configuration() -> None:
    """The progress bar names the model (GAE/VGAE, GNAE/VGNAE, ARGA/ARGVA), prefixed "masked" with edge
    masking. Kills dropping the "masked " prefix."""
    assert gv.GAE(mask_rate=0.4)._progress_label() == "masked GAE"
    assert gv.VGAE(normalize=1.8, mask_rate=0.5)._progress_label() == "masked VGNAE"
    assert gv.VGAE(adversarial=0.1)._progress_label() == "ARGVA" and gv.GAE()._progress_label() == "GAE"


def test_feature_dropout_keeps_the_features_unpropagated() -> None:
    """With ``encoder_dropout`` (or ``normalize``) the encoder transforms the raw features before propagating
    them, so the fitted input must not fold Â into them: ``input_.propagated`` is False; the plain GAE folds them (``Â X``). Kills ``_fold`` ignoring ``encoder_dropout``."""
    graph = nx.karate_club_graph()
    assert gv.GAE(epochs=1, latent=4).fit(graph).input_.propagated
    for params in (dict(encoder_dropout=0.5), dict(normalize=1.8)):
        model = gv.GAE(epochs=1, latent=4, **params).fit(graph)
        assert not model.input_.propagated


def test_beta_weighs_the_kl_term_of_the_training_loss() -> None:
    """The VGAE trains on :math:`-(\\log p(A\\mid Z) - \\beta\\,\\mathrm{KL}) / s`: two fits of one seed with
    ``beta`` 0 and 1 see the same first-epoch likelihood and KL, and their first losses satisfy
    ``loss_1 - loss_0 = KL / s`` and ``loss_0 = -log p / s`` for one scale ``s``. Kills building the ELBO with
    ``beta=1.0`` whatever ``beta`` says."""
    graph = nx.karate_club_graph()
    first = [gv.VGAE(epochs=1, latent=4, beta=beta).fit(graph).history_[0] for beta in (0.0, 1.0)]
    assert first[0]["log_likelihood"] == pytest.approx(first[1]["log_likelihood"], rel=1e-6)
    assert first[0]["kl"] == pytest.approx(first[1]["kl"], rel=1e-6) and first[0]["kl"] > 0
    scale = first[0]["kl"] / (first[1]["loss"] - first[0]["loss"])
    assert scale > 0 and first[0]["loss"] == pytest.approx(-first[0]["log_likelihood"] / scale, rel=1e-4)


def test_default_patience_is_the_documented_fifty_epochs() -> None:
    """``--early-stopping`` on the paper's models waits 50 epochs (docs/benchmarks.md: "patience 50 epochs"):
    the estimators' default. Kills another default."""
    assert gv.VGAE().patience == 50 and gv.GAE().patience == 50 and make_model("gae").patience == 50


# ---------------------------------------------------------------------------------------- autoencoders
def _digits(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """``n`` scikit-learn digits scaled to [0, 1] and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data[:n] / 16.0).astype(np.float32), digits.target[:n]


def test_finetune_lr_sets_the_fine_tuning_rate_and_none_means_lr() -> None:
    """``finetune_lr`` is the fine-tuning rate (``None``: ``lr``): ``finetune_lr=lr`` fits bit for bit as
    ``None`` does, another rate fits otherwise while the pretraining (at ``lr``) stays the same. Kills fine-tuning
    at ``lr`` whatever ``finetune_lr`` says."""
    x, y = _digits()
    kw = dict(hidden=(16,), pretrain_epochs=2, finetune_epochs=3, lr=0.01)
    default = gv.StackedAutoencoder(**kw).fit(x, y)
    same = gv.StackedAutoencoder(**kw, finetune_lr=0.01).fit(x, y)
    other = gv.StackedAutoencoder(**kw, finetune_lr=0.1).fit(x, y)
    np.testing.assert_array_equal(same.predict_proba(x), default.predict_proba(x))
    assert len(default.pretrain_history_[0]) == 2
    assert [h["loss"] for h in other.pretrain_history_[0]] == [h["loss"] for h in default.pretrain_history_[0]]
    assert not np.allclose(other.predict_proba(x), default.predict_proba(x))


# ------------------------------------------------------------------------------------------- image VAE
@pytest.fixture(scope="module")
def small_vae() -> tuple[gv.ImageVAE, np.ndarray]:
    x, _ = _digits(80)
    return gv.ImageVAE(latent=3, hidden=(16,), epochs=3, batch_size=20).fit(x), x


def test_score_is_the_ten_sample_elbo(small_vae) -> None:
    """``score(x)`` is the mean ELBO per image estimated with 10 posterior samples (its docstring), i.e.
    ``elbo(x, num_samples=10)``; one sample gives another estimate. Kills ``num_samples=1``."""
    vae, x = small_vae
    assert vae.score(x) == pytest.approx(vae.elbo(x, num_samples=10)["elbo"], rel=1e-6)
    assert vae.score(x) != pytest.approx(vae.elbo(x, num_samples=1)["elbo"], rel=1e-6)


def test_deterministic_bernoulli_log_likelihood_is_the_cross_entropy_of_the_reconstruction() -> None:
    """A deterministic (``variational=False``) Bernoulli image model: ``elbo(x)`` has KL 0 and its
    log-likelihood per image is :math:`\\sum_j x_j \\log p_j + (1 - x_j) \\log(1 - p_j)` with ``p`` the
    reconstruction (numpy, float64)."""
    x, _ = _digits(40)
    ae = gv.ImageVAE(latent=3, hidden=(16,), variational=False, epochs=2, batch_size=20).fit(x)
    p = ae.reconstruct(x).astype(np.float64)
    expected = float(np.mean(np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=1)))
    terms = ae.elbo(x, num_samples=2)
    assert terms["kl"] == 0 and terms["log_likelihood"] == pytest.approx(expected, rel=1e-4)


def test_history_per_image_divides_every_total_by_the_training_images() -> None:
    """``history_per_image`` divides the ELBO, reconstruction, KL and penalty totals by the number of training
    images ``n_train_`` (= the rows of X). Kills leaving ``penalty`` out and ``n_train_`` = the pixel count."""
    x, _ = _digits(50)
    vae = gv.ImageVAE(latent=2, hidden=(8,), activation="sigmoid", sparsity_weight=0.5, epochs=2,
                      batch_size=25).fit(x)
    assert vae.n_train_ == 50 and len(vae.history_) == len(vae.history_per_image()) == 2
    for raw, per in zip(vae.history_, vae.history_per_image()):
        assert raw["penalty"] > 0
        for key in ("elbo", "log_likelihood", "kl", "penalty"):
            assert per[key] == pytest.approx(raw[key] / 50)


def test_gaussian_log_likelihood_uses_sigma() -> None:
    """Gaussian pixels of standard deviation ``sigma``: a deterministic model's log-likelihood per image is
    :math:`\\sum_j \\log \\mathcal N(x_j; \\hat x_j, \\sigma^2)` (scipy.stats) with :math:`\\hat x` the
    reconstruction; the ``Autoencoder``'s Gaussian pixels have :math:`\\sigma = 1` (its docstring) and its
    ``score`` is that per image. Kills ImageVAE ignoring ``sigma`` and the Autoencoder's preset sigma changed."""
    from scipy.stats import norm

    x, _ = _digits(40)
    ae = gv.ImageVAE(latent=3, hidden=(16,), likelihood="gaussian", sigma=0.5, variational=False, epochs=2,
                     batch_size=20).fit(x)
    expected = float(np.mean(norm.logpdf(x, ae.reconstruct(x).astype(np.float64), 0.5).sum(axis=1)))
    assert ae.elbo(x)["log_likelihood"] == pytest.approx(expected, rel=1e-4)
    auto = gv.Autoencoder(hidden=(16,), latent=3, likelihood="gaussian", epochs=2, batch_size=20).fit(x)
    expected = float(np.mean(norm.logpdf(x, auto.reconstruct(x).astype(np.float64), 1.0).sum(axis=1)))
    assert auto.score(x) == pytest.approx(expected, rel=1e-4)


# ------------------------------------------------------------------------------------- node embeddings
#: docs/embeddings.md's named embedding models (the settings it states)
EMBEDDINGS_DOCUMENTED = {
    "vgae-wide": dict(hidden=256, latent=16, epochs=300, representation="hidden+latent", hops=1,
                      normalize_features=True),
    "vgae-wide-smooth": dict(hidden=256, latent=16, epochs=300, representation="hidden+latent", hops=2,
                             normalize_features=False),
    "gnae-wd-smooth": dict(zoo="gnae-wd", representation="latent", hops=1),
    "gnae-wd-denoise": dict(zoo="gnae-wd", hidden_edges=0.3, feature_noise=0.3, hops=1, probe_C=0.03),
    "gae": dict(hidden=32, latent=16, epochs=200, representation="latent", hops=0, variational=False),
    "vgae": dict(hidden=32, latent=16, epochs=200, representation="latent", hops=0, variational=True),
}


@pytest.mark.parametrize("name", sorted(EMBEDDINGS_DOCUMENTED))
def test_embedding_models_have_their_documented_settings(name: str) -> None:
    """The named embedding models are configured as docs/embeddings.md describes them (vgae-wide: one hop on
    L1-row-normalized features; vgae-wide-smooth: two hops on raw features; ...). Kills vgae-wide's hops 1 -> 2."""
    from graphvae.estimators.node_embeddings import embedding_config

    config = embedding_config(name)
    assert {k: config.get(k) for k in EMBEDDINGS_DOCUMENTED[name]} == EMBEDDINGS_DOCUMENTED[name]


def test_embedding_latent_of_a_composed_model_is_its_widest_component() -> None:
    """The composed default's latent size is its components' largest: gnae-wd (the zoo's 128-d normalized
    encoder) over maskgae-cat's 64. Kills ``max`` -> ``min`` in ``embedding_latent``."""
    from graphvae.estimators.node_embeddings import embedding_latent

    assert embedding_latent("gnae-wd-denoise") == 128 and embedding_latent("maskgae-cat") == 64
    assert embedding_latent("gnae-maskgae-s2gc") == 128
    assert embedding_latent("gnae-maskgae-s2gc", latent=8) == 8


def test_max_latent_caps_the_latent_size() -> None:
    """``fit_embeddings(max_latent=k)`` caps the latent size at ``k`` (a small graph's node count): the paper's
    16-d VGAE gives 3 columns under ``max_latent=3`` and stays 16 under 100. Kills ``min`` -> ``max``."""
    from graphvae.estimators.node_embeddings import fit_embeddings

    graph = nx.karate_club_graph()
    assert fit_embeddings(graph, "vgae", max_latent=3, epochs=1)[0].shape == (34, 3)
    assert fit_embeddings(graph, "vgae", max_latent=100, epochs=1)[0].shape == (34, 16)


def test_a_composed_model_without_a_seed_trains_every_component_with_one_fresh_seed() -> None:
    """``random_state=None`` draws one seed for all the components (recorded as ``seed_``), so the run can be
    repeated. Kills each component drawing its own."""
    from graphvae.estimators.node_embeddings import fit_embeddings

    graph = nx.karate_club_graph()
    _, composed = fit_embeddings(graph, "gnae-maskgae-s2gc", random_state=None, epochs=1, latent=4)
    seeds = {m.seed_ for m in composed.models}
    assert len(composed.models) == 2 and seeds == {composed.seed_}


def test_probe_settings_refuse_an_unknown_model_with_one_line() -> None:
    """``probe_c`` of an unknown name raises :class:`InputError` listing the models (as every other look-up),
    not a ``KeyError``. Kills reading ``EMBEDDING_MODELS[name]`` directly."""
    from graphvae.estimators.node_embeddings import probe_c

    with pytest.raises(gv.InputError, match="unknown embedding model"):
        probe_c("vgae-wider")
    assert probe_c("maskgae-cat") == 0.03


def test_negative_hops_are_refused() -> None:
    """``hops`` counts propagation steps: a negative count is refused, not read as zero steps. Kills dropping
    ``check_int(..., minimum=0)``."""
    from graphvae.estimators.node_embeddings import embedding_config

    with pytest.raises(gv.InputError, match="hops"):
        embedding_config("gae", hops=-1)


def test_model_override_reaches_a_zoo_based_embedding_model() -> None:
    """``model={...}`` (a key of ``CONFIG_KEYS``) changes the VGAE options of a zoo-based embedding model too:
    ``gnae-wd`` with ``model={"latent": 6}`` embeds in 6 columns (the zoo's own is 128). Kills dropping the
    configuration's ``model`` options from the zoo branch of ``fit_embeddings``."""
    from graphvae.estimators.node_embeddings import fit_embeddings

    z, model = fit_embeddings(nx.karate_club_graph(), "gnae-wd", epochs=1, model={"latent": 6})
    assert z.shape == (34, 6) and model.weight_decay == 5e-4


def test_normalize_features_trains_on_l1_row_normalized_features() -> None:
    """``vgae-wide`` (``normalize_features``) trains on features divided by their row L1 norms: the same VGAE
    fitted on scikit-learn's ``normalize(x, "l1")`` gives the same embedding. Kills skipping ``row_normalized``."""
    from sklearn.preprocessing import normalize

    from graphvae.estimators.node_embeddings import fit_embeddings, representation

    x = np.random.default_rng(0).random((34, 6)).astype(np.float32) * 5
    z, _ = fit_embeddings(gv.as_graph(nx.karate_club_graph(), features=x), "vgae-wide", epochs=2)
    graph = gv.as_graph(nx.karate_club_graph(), features=normalize(x, norm="l1").astype(np.float32))
    model = gv.VGAE(hidden=256, latent=16, epochs=2, lr=0.01).fit(graph)
    np.testing.assert_allclose(z, representation(model, "hidden+latent", hops=1), rtol=1e-4, atol=1e-6)


def test_sgc_features_of_a_weighted_graph_use_the_weighted_operator(tmp_path) -> None:
    """On a weighted graph the propagated features use :math:`\\hat A = D^{-1/2}(W + I)D^{-1/2}` (numpy brute
    force, as the encoders weigh edges), not the 0/1 adjacency. Kills ignoring ``edge_weight``."""
    from graphvae.estimators.node_embeddings import sgc_features

    graph = _weighted_karate(tmp_path)
    x = np.random.default_rng(1).random((34, 3))
    graph = gv.as_graph(graph, features=x.astype(np.float32))
    w = np.zeros((34, 34))
    ei, ew = graph.edge_index.numpy(), graph.edge_weight.numpy().astype(np.float64)
    w[ei[0], ei[1]] = ew
    w += np.eye(34)
    d = w.sum(axis=1)
    a_hat = w / np.sqrt(np.outer(d, d))
    xt = graph.x.numpy().astype(np.float64)
    xt = xt / np.abs(xt).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(sgc_features(graph), a_hat @ a_hat @ xt, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------- autoencoders (continued)
def test_autoencoder_penalty_weights_default_per_kind_as_documented() -> None:
    """``weight=None`` means the documented default of the kind (Autoencoder's docstring: 1 for KL sparsity,
    1e-3 for L1, 0.1 for contractive), on images and on graphs. Kills changing the L1 and contractive
    defaults."""
    assert gv.Autoencoder(kind="sparse").image_model().sparsity_weight == 1.0
    assert gv.Autoencoder(kind="sparse", sparse_penalty="l1", activation="relu").image_model().activation_l1 == 1e-3
    assert gv.Autoencoder(kind="sparse", sparse_penalty="l1", activation="relu").graph_model().activation_l1 == 1e-3
    assert gv.Autoencoder(kind="contractive").image_model().contractive == 0.1
    assert gv.Autoencoder(kind="contractive", weight=0.5).image_model().contractive == 0.5


def test_graph_denoising_options_map_to_the_gae() -> None:
    """On a graph, ``hidden_edges`` is the share of edges hidden and ``noise_level`` the share of feature
    entries masked (the GAE's ``hidden_edges`` and ``feature_noise``); the GCN layers have biases; a noise level
    above 1 is refused under this estimator's name. Kills swapping the two options, ``bias=False`` and the
    ``noise_level <= 1`` check."""
    gae = gv.Autoencoder(kind="denoising", noise_level=0.1, hidden_edges=0.4).graph_model()
    assert (gae.hidden_edges, gae.feature_noise, gae.bias) == (0.4, 0.1, True)
    with pytest.raises(gv.InputError, match=r"noise level must be in \[0, 1\]"):
        gv.Autoencoder(kind="denoising", noise_level=1.5, epochs=1).fit(nx.karate_club_graph())


@pytest.mark.parametrize("on", ["images", "graph"])
def test_autoencoder_trains_its_inner_model_with_its_own_seed(on: str) -> None:
    """With ``random_state=None`` the autoencoder draws one seed (``seed_``) and trains its inner model with
    it, so ``Autoencoder(random_state=seed_)`` repeats the fit. Kills fitting the inner model without
    ``set_params(random_state=seed_)``."""
    data = _digits(40)[0] if on == "images" else nx.karate_club_graph()
    first = gv.Autoencoder(hidden=(8,), latent=3, epochs=2, batch_size=20, random_state=None).fit(data)
    assert first.model_.seed_ == first.seed_
    again = gv.Autoencoder(hidden=(8,), latent=3, epochs=2, batch_size=20, random_state=first.seed_).fit(data)
    np.testing.assert_array_equal(again.transform(data if on == "images" else None),
                                  first.transform(data if on == "images" else None))


def test_reconstruction_error_is_the_mean_squared_error_per_pixel() -> None:
    """``reconstruction_error(X, clean)`` is the mean over images and pixels of the squared difference between
    the reconstruction of ``X`` and ``clean`` (numpy). Kills summing over the pixels."""
    x, _ = _digits(30)
    ae = gv.Autoencoder(hidden=(8,), latent=3, epochs=2, batch_size=15).fit(x)
    noisy = np.clip(x + 0.1, 0, 1)
    assert ae.reconstruction_error(x) == pytest.approx(float(np.mean((ae.reconstruct(x) - x) ** 2)), rel=1e-5)
    assert ae.reconstruction_error(noisy, x) == pytest.approx(float(np.mean((ae.reconstruct(noisy) - x) ** 2)),
                                                               rel=1e-5)


def test_jacobian_norm_is_the_frobenius_norm_of_the_encoders_jacobian() -> None:
    """``jacobian_norm(X)`` is, per image, :math:`\\lVert \\partial \\mu / \\partial x \\rVert_F` (torch autograd's
    full Jacobian of the encoder's code, image by image). Kills returning the squared norm."""
    from graphvae.nn.encoder import edgeless_input

    x, _ = _digits(5)
    ae = gv.Autoencoder(hidden=(6,), latent=3, epochs=1, batch_size=5).fit(x)
    encoder = ae.objective_.encoder
    expected = []
    for row in torch.from_numpy(x):
        jac = torch.autograd.functional.jacobian(lambda v: encoder(edgeless_input(v[None])).mu[0], row)
        expected.append(float(jac.double().norm()))
    np.testing.assert_allclose(ae.jacobian_norm(x), expected, rtol=1e-4)


def test_stacked_pretraining_initializes_the_network() -> None:
    """Greedy pretraining is what initializes each layer: with a fine-tuning rate too small to move the weights,
    the codes of a pretrained stack differ from those of the same network trained from scratch (whose layers
    keep their random initialization). Kills not loading the pretrained layer into the stack."""
    x, y = _digits(60)
    kw = dict(hidden=(12,), pretrain_epochs=5, finetune_epochs=1, lr=0.05, finetune_lr=1e-9)
    pretrained = gv.StackedAutoencoder(pretrain=True, **kw).fit(x, y).transform(x)
    scratch = gv.StackedAutoencoder(pretrain=False, **kw).fit(x, y).transform(x)
    assert np.abs(pretrained - scratch).max() > 1e-2


def test_stacked_autoencoder_checks_pixels_for_bernoulli_pretraining() -> None:
    """Pretraining the first layer with Bernoulli pixels needs pixels in [0, 1]: images up to 2 are refused
    with one line (and accepted with ``likelihood="gaussian"``). Kills loosening the check to ``> 2``."""
    x, y = _digits(20)
    with pytest.raises(gv.InputError, match=r"Bernoulli pixels must lie in \[0, 1\]"):
        gv.StackedAutoencoder(hidden=(4,), pretrain_epochs=1, finetune_epochs=1).fit(x * 1.9, y)
    gv.StackedAutoencoder(hidden=(4,), likelihood="gaussian", pretrain_epochs=1, finetune_epochs=1).fit(x * 1.9, y)


def test_categorical_likelihood_is_the_summed_log_softmax_and_scales_per_row() -> None:
    """``CategoricalLikelihood``: :math:`\\sum_i \\log\\operatorname{softmax}(z_i)_{y_i}` (numpy), its scale the
    batch size, so fine-tuning's loss is the cross-entropy per image. Kills the mean instead of the sum and a
    scale of 1."""
    from graphvae.estimators.autoencoders import CategoricalLikelihood

    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(7, 3)), rng.integers(0, 3, 7)
    log_softmax = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    got = CategoricalLikelihood()(torch.tensor(z), torch.tensor(y))
    assert float(got) == pytest.approx(float(log_softmax[np.arange(7), y].sum()), rel=1e-10)
    assert CategoricalLikelihood().scale(torch.tensor(y)) == 7.0
