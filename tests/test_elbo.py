import torch
from torch.distributions import Normal, kl_divergence

import graphvae as gv
from graphvae.latent import Posterior


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


def test_elbo_is_likelihood_minus_beta_kl_and_loss_is_scaled():
    torch.manual_seed(0)
    enc = gv.GCNEncoder(4, (5,), 2)
    inp = gv.encoder_input(torch.randn(6, 4), gv.SparseOperator(None, n=6))
    terms = gv.ELBO(enc, ConstantLikelihood(), beta=0.5)(inp, None)
    kl = enc(inp).kl_to_standard_normal().sum()
    assert torch.allclose(terms.kl, kl)
    assert torch.allclose(terms.elbo, 7.0 - 0.5 * kl)
    assert torch.allclose(terms.loss, -(7.0 - 0.5 * kl) / 2.0)
