"""Fixes from the sixth library-user audit: each test fails without its fix."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import graphvae as gv
from graphvae.estimators import models as models_module
from graphvae.estimators.zoo import make_model


@pytest.mark.parametrize("name, label", [("gae", "GAE"), ("vgae", "VGAE"), ("gnae", "GNAE"), ("vgnae", "VGNAE"),
                                         ("arga", "ARGA"), ("argva", "ARGVA"), ("masked-gnae", "masked GNAE")])
def test_progress_bar_names_the_model(monkeypatch, name, label):
    """The progress bar said "GAE:" for every deterministic model (gnae, arga, masked-gnae ...)."""
    seen = []
    real = models_module.train_elbo

    def spy(*args, **kwargs):
        seen.append(kwargs["desc"])
        return real(*args, **kwargs)

    monkeypatch.setattr(models_module, "train_elbo", spy)
    make_model(name, epochs=1, early_stopping=False, latent=4, hidden=8).fit(gv.as_graph(nx.karate_club_graph()))
    assert seen == [label]


@pytest.mark.parametrize("loops, message", [(1, "(1 self-loop was dropped)"), (2, "(2 self-loops were dropped)")])
def test_dropped_count_grammar(loops, message):
    """The error said "1 self-loops were dropped"."""
    with pytest.raises(gv.InputError) as e:
        gv.VGAE(latent=1, epochs=1).fit(gv.build_graph(np.arange(loops), np.arange(loops), 2))
    assert message in str(e.value)


def _karate():
    return gv.as_graph(nx.karate_club_graph())


def test_random_state_none_draws_a_recorded_seed():
    """random_state=None (scikit-learn's convention for "not reproducible") was refused with an InputError."""
    import torch

    before = torch.random.get_rng_state()
    a = gv.VGAE(latent=4, hidden=8, epochs=3, random_state=None).fit(_karate())
    b = gv.VGAE(latent=4, hidden=8, epochs=3, random_state=None).fit(_karate())
    assert torch.equal(torch.random.get_rng_state(), before)  # the draw never touches the global generators
    assert a.seed_ != b.seed_ and not np.allclose(a.embed(), b.embed())
    again = gv.VGAE(latent=4, hidden=8, epochs=3, random_state=a.seed_).fit(_karate())
    assert np.array_equal(again.embed(), a.embed())  # seed_ repeats the run
    assert gv.VGAE(latent=4, hidden=8, epochs=1, random_state=7).fit(_karate()).seed_ == 7


def test_random_state_none_in_the_image_and_classic_autoencoders():
    from sklearn.datasets import load_digits

    x = load_digits().data[:100] / 16.0
    vae = gv.ImageVAE(latent=2, hidden=(8,), epochs=1, batch_size=50, random_state=None).fit(x)
    assert np.array_equal(gv.ImageVAE(latent=2, hidden=(8,), epochs=1, batch_size=50,
                                      random_state=vae.seed_).fit(x).transform(x), vae.transform(x))
    ae = gv.Autoencoder(latent=2, hidden=(8,), epochs=1, random_state=None).fit(x)
    assert ae.model_.seed_ == ae.seed_  # the inner model trained with the recorded seed


def test_random_state_none_refused_where_a_seed_must_be_shared():
    from graphvae.estimators.batched import fit_seeds
    from graphvae.training.distributed.fit import check_supported

    split = gv.split_edges(_karate(), seed=0)
    with pytest.raises(gv.InputError, match="integer seed"):
        fit_seeds(gv.VGAE(latent=4, epochs=1), [split, split], [0, None])
    with pytest.raises(gv.InputError, match="random_state=None"):
        check_supported(gv.VGAE(early_stopping=False, random_state=None))
