import torch
from torch.distributions import Normal, kl_divergence

import graphvae as gv
from graphvae.nn.latent import Posterior


def test_kl_matches_torch_distributions():
    mu, logstd = torch.randn(20, 5), 0.5 * torch.randn(20, 5)
    ours = Posterior(mu, logstd).kl_to_standard_normal()
    ref = kl_divergence(Normal(mu, logstd.exp()), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    assert torch.allclose(ours, ref, atol=1e-5)


def test_log_prob_matches_torch_distributions():
    mu, logstd = torch.randn(6, 3), torch.randn(6, 3)
    z = torch.randn(4, 6, 3)
    ref = Normal(mu, logstd.exp()).log_prob(z).sum(-1)
    assert torch.allclose(Posterior(mu, logstd).log_prob(z), ref, atol=1e-5)


def test_reparameterized_samples_have_the_posterior_moments_and_carry_gradients():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logstd = torch.tensor([[0.0, -1.0]], requires_grad=True)
    z = Posterior(mu, logstd).rsample(20000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), mu.detach(), atol=0.03)
    assert torch.allclose(z.std(0), logstd.detach().exp(), atol=0.03)
    z.sum().backward()
    assert mu.grad is not None and logstd.grad is not None


def test_deterministic_posterior_has_zero_kl():
    post = Posterior(torch.randn(3, 2))
    assert torch.equal(post.kl_to_standard_normal(), torch.zeros(3))
    assert torch.equal(post.rsample(), post.mu)


class ConstantLikelihood(gv.Likelihood):
    def forward(self, z, target, generator=None):
        return z.sum() * 0 + 7.0

    def scale(self, target):
        return 2.0


def test_objective_is_likelihood_minus_beta_kl_the_elbo_minus_kl_and_loss_is_scaled():
    torch.manual_seed(0)
    enc = gv.GCNEncoder(4, (5,), 2)
    inp = gv.encoder_input(torch.randn(6, 4), gv.SparseOperator(None, n=6))
    terms = gv.ELBO(enc, ConstantLikelihood(), beta=0.5)(inp, None)
    kl = enc(inp).kl_to_standard_normal().sum()
    assert torch.allclose(terms.kl, kl)
    assert torch.allclose(terms.objective, 7.0 - 0.5 * kl)
    assert torch.allclose(terms.elbo, 7.0 - kl)  # the bound on log p(x) (it was reported as 7 - beta KL)
    assert torch.allclose(terms.loss, -(7.0 - 0.5 * kl) / 2.0)


def test_image_vae_reports_the_elbo_whatever_beta():
    """With beta 0.2, ImageVAE.elbo()["elbo"] was log p(x|z) - 0.2 KL: above the bound, and so were bits/dim below it."""
    import numpy as np
    from sklearn.datasets import load_digits

    x = (load_digits().data[:300] > 8).astype(np.float32)
    model = gv.ImageVAE(latent=3, hidden=(16,), epochs=2, beta=0.2, random_state=0).fit(x)
    terms = model.elbo(x[:100], num_samples=3)
    assert terms["kl"] > 0 and np.isclose(terms["elbo"], terms["log_likelihood"] - terms["kl"], rtol=1e-5)


def test_row_penalties_scale_with_the_likelihoods_own_normaliser():
    """A row penalty enters the loss as lambda x its mean over rows, on graphs (c = N^2) and images (c = B) alike."""
    import numpy as np
    import pytest
    from graphvae.objectives.penalties import ActivationL1
    from graphvae.objectives.elbo import ELBO
    from graphvae.nn.decoder import MLPDecoder
    from graphvae.nn.encoder import GCNEncoder, encoder_input
    from graphvae.nn.encoder import edgeless_input
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
    from graphvae.nn.operator import normalized_adjacency
    from graphvae.objectives.pixel_likelihood import BernoulliPixels

    edges = np.array([[0, 1, 1, 2, 2, 3, 3, 4], [1, 0, 2, 1, 3, 2, 4, 3]])
    n, weight = 5, 0.3
    encoder = GCNEncoder(3, (4,), 2, variational=False)
    graph_inp = encoder_input(torch.randn(n, 3), normalized_adjacency(edges, n))
    image_inp = edgeless_input(torch.rand(7, 3))
    cases = [(ELBO(encoder, LinkLikelihood(), 0.0, [ActivationL1(weight)]), graph_inp, LinkTarget.from_edges(edges, n)),
             (ELBO(encoder, BernoulliPixels(MLPDecoder(2, (4,), 3)), 0.0, [ActivationL1(weight)]), image_inp,
              (image_inp.features > 0.5).float())]
    for model, inp, target in cases:
        terms = model(inp, target, torch.Generator().manual_seed(0))
        _, hidden = encoder(inp, return_hidden=True)
        rows = hidden[0].shape[0]
        per_row_mean = float(sum(h.detach().abs().sum() for h in hidden)) / rows
        assert float(terms.penalty.detach()) / terms.scale == pytest.approx(weight * per_row_mean, rel=1e-5)



def test_sample_and_kl_gradients_equal_autograd_through_the_plain_formulas():
    """The hand-written backward passes of the reparameterized sample and the KL against autograd of the formulas
    (and torch.distributions' KL), with and without leading sample dimensions; sigma is shared by both."""
    gen = torch.Generator().manual_seed(0)
    mu0, logstd0 = torch.randn(7, 3, generator=gen, dtype=torch.float64), 0.7 * torch.randn(7, 3, generator=gen, dtype=torch.float64)
    weights = torch.randn(4, 7, 3, generator=gen, dtype=torch.float64)
    for samples in (None, 4):
        mu, logstd = mu0.clone().requires_grad_(), logstd0.clone().requires_grad_()
        post = Posterior(mu, logstd)
        z = post.rsample(samples, torch.Generator().manual_seed(1))
        kl = post.kl_to_standard_normal()
        ((z * (weights if samples else weights[0])).sum() + (kl * weights[0, :, 0]).sum()).backward()

        mu_r, logstd_r = mu0.clone().requires_grad_(), logstd0.clone().requires_grad_()
        shape = (samples, 7, 3) if samples else (7, 3)
        eps = torch.randn(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        z_r = mu_r + eps * logstd_r.exp()
        kl_r = kl_divergence(Normal(mu_r, logstd_r.exp()), Normal(torch.zeros_like(mu_r), torch.ones_like(mu_r))).sum(-1)
        ((z_r * (weights if samples else weights[0])).sum() + (kl_r * weights[0, :, 0]).sum()).backward()
        assert torch.allclose(z, z_r) and torch.allclose(kl, kl_r)
        assert torch.allclose(mu.grad, mu_r.grad) and torch.allclose(logstd.grad, logstd_r.grad)


def _pixel_elbo(likelihood):
    from graphvae.nn.decoder import MLPDecoder

    torch.manual_seed(0)
    encoder = gv.GCNEncoder(6, (8,), 2, variational=True)
    pixels = gv.BernoulliPixels(MLPDecoder(2, (8,), 6)) if likelihood == "bernoulli" else \
        gv.GaussianPixels(MLPDecoder(2, (8,), 6), 6)
    return gv.ELBO(encoder, pixels)


def test_pixel_targets_are_checked_with_one_input_error():
    """A target of the wrong shape was torch's broadcasting RuntimeError; Bernoulli pixels outside [0, 1] gave a
    finite loss, NaN a NaN loss, without a word; iwae's k 0 a bare ValueError. Reference for the valid target: the
    Bernoulli log-likelihood by torch.distributions."""
    import pytest
    from graphvae.nn.encoder import edgeless_input

    x = torch.rand(5, 6, generator=torch.Generator().manual_seed(1)).round()
    inp = edgeless_input(x)
    bernoulli, gaussian = _pixel_elbo("bernoulli"), _pixel_elbo("gaussian")
    out = bernoulli.likelihood.decoder(torch.zeros(5, 2))
    expected = torch.distributions.Bernoulli(logits=out).log_prob(x).sum()
    assert torch.allclose(bernoulli.likelihood(torch.zeros(5, 2), x), expected)
    bad = {"shape": (x[:, :4], r"shape \[5, 4\]"), "rows": (x[:3], r"shape \[3, 6\]"),
           "range": (x * 3, r"finite in \[0, 1\].*\[0, 3\]"), "nan": (x.masked_fill(x > 0, float("nan")), "finite"),
           "dtype": (x.long(), "float tensor")}
    for name, (target, message) in bad.items():
        for elbo in (bernoulli, gaussian):
            if name == "range" and elbo is gaussian:
                continue  # any finite value is a Gaussian pixel
            with pytest.raises(gv.InputError, match=message):
                elbo(inp, target)
            with pytest.raises(gv.InputError, match=message):
                elbo.iwae(inp, target, k=3)
    assert torch.isfinite(gaussian(inp, x * 3).loss)
    for k in (0, 2.5, True):
        with pytest.raises(gv.InputError, match="k must be an integer of at least 1"):
            bernoulli.iwae(inp, x, k=k)
