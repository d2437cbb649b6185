"""The one estimator base: scikit-learn's conventions hold for every public estimator.

clone/get_params/set_params round-trip, fit leaves the caller's torch and numpy global RNG untouched,
a refit forgets every fitted attribute of the previous fit, and bad parameters raise one-line InputErrors.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch
from sklearn.base import clone

import graphvae as gv
from graphvae.estimators.base import Estimator

IMAGES = np.random.default_rng(0).random((24, 6)).astype(np.float32)
LABELS = np.arange(24) % 3


def _graph():
    return gv.split_edges(gv.as_graph(nx.karate_club_graph()), seed=0)


#: every public estimator, a small configuration and how to fit it
ESTIMATORS = {
    "VGAE": (lambda: gv.VGAE(hidden=4, latent=2, epochs=2, random_state=3), lambda m: m.fit(_graph())),
    "GAE": (lambda: gv.GAE(hidden=4, latent=2, epochs=2, random_state=3), lambda m: m.fit(_graph())),
    "zoo:maskgae": (lambda: gv.make_model("maskgae", hidden=4, latent=2, decoder_hidden=4, epochs=2, random_state=3),
                    lambda m: m.fit(_graph())),
    "ImageVAE": (lambda: gv.ImageVAE(hidden=4, latent=2, epochs=2, batch_size=8, random_state=3),
                 lambda m: m.fit(IMAGES)),
    "Autoencoder": (lambda: gv.Autoencoder(kind="contractive", jacobian="hutchinson", hidden=4, latent=2, epochs=2,
                                           batch_size=8, random_state=3), lambda m: m.fit(IMAGES)),
    "StackedAutoencoder": (lambda: gv.StackedAutoencoder(hidden=(4, 3), pretrain_epochs=1, finetune_epochs=1,
                                                         batch_size=8, random_state=3),
                           lambda m: m.fit(IMAGES, LABELS)),
}


def test_every_public_estimator_is_listed():
    public = {name for name in gv.__all__ if isinstance(getattr(gv, name), type) and issubclass(getattr(gv, name), Estimator)}
    assert public <= set(ESTIMATORS)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_clone_get_params_set_params(name):
    make, _ = ESTIMATORS[name]
    model = make()
    params = model.get_params()
    assert params["random_state"] == 3 and params["epochs" if "epochs" in params else "finetune_epochs"] in (1, 2)
    twin = clone(model)
    assert twin is not model and type(twin) is type(model) and twin.get_params() == params
    assert twin.set_params(random_state=7) is twin and twin.random_state == 7 and model.random_state == 3
    with pytest.raises(ValueError):
        twin.set_params(no_such_parameter=1)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fit_leaves_the_global_rng_alone_and_is_reproducible(name):
    make, fit = ESTIMATORS[name]
    torch.manual_seed(123)
    np.random.seed(123)
    torch_before, numpy_before = torch.get_rng_state(), np.random.get_state()
    first = fit(make())
    assert torch.equal(torch.get_rng_state(), torch_before)
    numpy_after = np.random.get_state()
    assert numpy_after[0] == numpy_before[0] and np.array_equal(numpy_after[1], numpy_before[1])
    assert numpy_after[2:] == numpy_before[2:]
    # the same seed gives the same model whatever the caller's global state
    torch.manual_seed(999)
    second = fit(make())
    assert first.history_[-1]["loss"] == second.history_[-1]["loss"]
    assert first.train_seconds_ == pytest.approx(sum(h["seconds"] for run in first._histories() for h in run))


def test_refit_forgets_the_previous_fit():
    split = _graph()
    model = gv.VGAE(hidden=4, latent=2, epochs=3, early_stopping=True, patience=1, random_state=0).fit(split)
    assert hasattr(model, "best_epoch_") and hasattr(model, "best_val_auc_")
    model.set_params(early_stopping=False).fit(split)
    assert not hasattr(model, "best_epoch_") and not hasattr(model, "best_val_auc_")
    ae = gv.Autoencoder(hidden=4, latent=2, epochs=1).fit(IMAGES)
    assert ae.n_pixels_ == 6
    ae.fit(split)
    assert not hasattr(ae, "n_pixels_")


@pytest.mark.parametrize("name", ["VGAE", "ImageVAE", "Autoencoder", "StackedAutoencoder"])
def test_not_fitted_is_sklearns_error(name):
    from sklearn.exceptions import NotFittedError

    model = ESTIMATORS[name][0]()
    with pytest.raises(NotFittedError, match="not fitted"):
        model.transform(IMAGES) if hasattr(model, "transform") else model.embed()


@pytest.mark.parametrize("model", [gv.VGAE(epochs=0), gv.GAE(decoder="nosuch"), gv.ImageVAE(likelihood="poisson"),
                                   gv.Autoencoder(kind="nosuch"), gv.StackedAutoencoder(lr=-1.0)])
def test_bad_parameters_raise_one_line_input_errors(model):
    data = IMAGES if not isinstance(model, gv.VGAE) else _graph()
    with pytest.raises(gv.InputError) as info:
        model.fit(data, LABELS) if isinstance(model, gv.StackedAutoencoder) else model.fit(data)
    assert "\n" not in str(info.value) and type(model).__name__ in str(info.value)


@pytest.mark.parametrize("kind", ["vanilla", "denoising", "sparse"])
def test_graph_autoencoder_is_a_gae_with_options(kind):
    split = _graph()
    model = gv.Autoencoder(kind=kind, hidden=6, latent=3, epochs=3, random_state=4).fit(split)
    options = {"denoising": dict(hidden_edges=0.2, feature_noise=0.3),
               "sparse": dict(sparsity=0.05, sparsity_weight=1.0)}.get(kind, {})
    gae = gv.GAE(hidden=6, latent=3, epochs=3, lr=0.005, bias=True, activation="sigmoid", random_state=4,
                 **options).fit(split)
    assert isinstance(model.model_, gv.GAE)
    np.testing.assert_array_equal(model.transform(), gae.embed())


@pytest.mark.parametrize("kind", ["vanilla", "denoising", "sparse", "contractive"])
def test_image_autoencoder_is_a_preset_of_the_image_model(kind):
    model = gv.Autoencoder(kind=kind, hidden=5, latent=2, epochs=2, batch_size=8, random_state=4).fit(IMAGES)
    options = {"denoising": dict(noise="masking", noise_level=0.3), "sparse": dict(sparsity_weight=1.0),
               "contractive": dict(contractive=0.1)}.get(kind, {})
    vae = gv.ImageVAE(variational=False, hidden=5, latent=2, epochs=2, batch_size=8, lr=0.005, activation="sigmoid",
                      random_state=4, **options).fit(IMAGES)
    np.testing.assert_array_equal(model.transform(IMAGES), vae.transform(IMAGES))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_trains_through_the_shared_trainer_and_elbo(name, monkeypatch):
    import graphvae.estimators.autoencoders
    import graphvae.objectives.elbo
    import graphvae.estimators.image_vae
    import graphvae.estimators.models
    import graphvae.training.trainer

    calls = {"train": 0, "elbo": 0}
    original_train, original_forward = graphvae.training.trainer.train_elbo, graphvae.objectives.elbo.ELBO.forward

    def train_spy(*args, **kwargs):
        calls["train"] += 1
        return original_train(*args, **kwargs)

    def forward_spy(self, *args, **kwargs):
        calls["elbo"] += 1
        return original_forward(self, *args, **kwargs)

    for module in (graphvae.estimators.models, graphvae.estimators.image_vae, graphvae.estimators.autoencoders):
        monkeypatch.setattr(module, "train_elbo", train_spy, raising=False)
    monkeypatch.setattr(graphvae.objectives.elbo.ELBO, "forward", forward_spy)
    make, fit = ESTIMATORS[name]
    model = fit(make())
    assert isinstance(model.objective_, graphvae.objectives.elbo.ELBO)
    runs = model._histories()
    assert calls["train"] == len(runs)
    assert calls["elbo"] >= sum(len(run) for run in runs)


def test_hutchinson_probes_draw_from_the_given_generator_not_the_global_rng():
    from graphvae.nn.encoder import GCNEncoder
    from graphvae.nn.encoder import edgeless_input

    encoder = GCNEncoder(6, (5,), 3, variational=False, activation=torch.tanh)
    inp = edgeless_input(torch.from_numpy(IMAGES))
    before = torch.get_rng_state()
    a, b = (gv.jacobian_sq_norm(encoder, inp, "hutchinson", 2, generator=torch.Generator().manual_seed(1))
            for _ in range(2))
    assert torch.equal(torch.get_rng_state(), before) and torch.equal(a, b)
    exact = gv.jacobian_sq_norm(encoder, inp, "autograd")
    many = gv.jacobian_sq_norm(encoder, inp, "hutchinson", 4000, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(many, exact, rtol=0.1)
