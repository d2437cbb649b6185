"""The importance-weighted bound of the ELBO module (Burda et al. 2016) against the ELBO and a brute force."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal

import graphvae as gv
from graphvae.nn.decoder import MLPDecoder
from graphvae.objectives.elbo import ELBO
from graphvae.nn.encoder import GCNEncoder
from graphvae.nn.encoder import edgeless_input
from graphvae.objectives.pixel_likelihood import BernoulliPixels, GaussianPixels


def _tiny(likelihood: str = "bernoulli", seed: int = 0) -> ELBO:
    torch.manual_seed(seed)
    encoder = GCNEncoder(5, (4,), 2, variational=True)
    decoder = MLPDecoder(2, (4,), 5)
    pixels = BernoulliPixels(decoder) if likelihood == "bernoulli" else GaussianPixels(decoder, 5, 0.7)
    return ELBO(encoder, pixels).eval()


X = torch.tensor(np.random.default_rng(0).random((3, 5)) > 0.5, dtype=torch.float32)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_iwae_matches_a_brute_force_sum_over_samples(likelihood):
    model, k = _tiny(likelihood), 7
    with torch.no_grad():
        bound = model.iwae(edgeless_input(X), X, k, torch.Generator().manual_seed(5), samples_per_chunk=3)
        # the same draws, one sample and one image at a time, with torch.distributions densities
        post = model.encoder(edgeless_input(X))
        eps = torch.cat([torch.randn((n, *post.mu.shape), generator=g)
                         for g in [torch.Generator().manual_seed(5)] for n in (3, 3, 1)])
    q = Normal(post.mu, post.logstd.exp())
    for m in range(X.shape[0]):
        terms = []
        for i in range(k):
            z = post.mu[m] + eps[i, m] * post.logstd[m].exp()
            out = model.likelihood.decoder(z[None])[0]
            if likelihood == "bernoulli":
                log_px = Bernoulli(logits=out).log_prob(X[m]).sum()
            else:
                log_px = Normal(out, model.likelihood.logstd.exp()).log_prob(X[m]).sum()
            terms.append(float(log_px.detach() + Normal(0.0, 1.0).log_prob(z).sum() - q.log_prob(z)[m].sum().detach()))
        expected = float(torch.logsumexp(torch.tensor(terms, dtype=torch.float64), 0)) - math.log(k)
        assert float(bound[m]) == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_iwae_with_one_sample_is_the_elbo_in_expectation_per_image():
    model = _tiny()
    inp, draws = edgeless_input(X), 20000
    with torch.no_grad():
        one = model.iwae(inp, X, 1, torch.Generator().manual_seed(1)).double()
        samples = torch.stack([model.iwae(inp, X, 1, g)
                               for g in [torch.Generator().manual_seed(2)] for _ in range(draws)]).double()
        post = model.encoder(inp)
        z = post.rsample(draws, torch.Generator().manual_seed(3))
        elbo = (model.likelihood.log_prob_rows(z, X).double().mean(0) - post.kl_to_standard_normal().double())
    assert one.shape == (3,)
    mean, se = samples.mean(0), samples.std(0) / math.sqrt(draws)
    assert torch.all((mean - elbo).abs() < 5 * se + 1e-3), (mean, elbo, se)


def test_iwae_does_not_decrease_with_k_and_needs_a_variational_encoder():
    model = _tiny()
    with torch.no_grad():
        bounds = [float(model.iwae(edgeless_input(X), X, k, torch.Generator().manual_seed(0)).mean())
                  for k in (1, 10, 200)]
    assert bounds[0] < bounds[2] and bounds[1] < bounds[2] + 0.05
    ae = ELBO(GCNEncoder(5, (4,), 2, variational=False), BernoulliPixels(MLPDecoder(2, (4,), 5)))
    with pytest.raises(ValueError, match="variational"):
        ae.iwae(edgeless_input(X), X, 3)
    with pytest.raises(NotImplementedError, match="rows"):
        gv.LinkLikelihood().log_prob_rows(torch.zeros(2, 2), None)
