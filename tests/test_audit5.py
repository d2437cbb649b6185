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
