import numpy as np
import torch
import torch.nn.functional as F

from graphvae.likelihood import LinkLikelihood, LinkTarget
from conftest import random_graph


def exact_log_likelihood(z, edge_index, n, balanced):
    """Brute force over all N^2 ordered pairs, positives = edges + diagonal."""
    a = torch.zeros(n, n)
    a[edge_index[0], edge_index[1]] = 1
    a += torch.eye(n)
    s = z @ z.T
    pos = (F.logsigmoid(s) * a).sum()
    neg = (F.logsigmoid(-s) * (1 - a)).sum()
    if not balanced:
        return pos + neg
    return 0.5 * n * n * (pos / a.sum() + neg / (1 - a).sum())


def test_sampled_link_likelihood_is_unbiased_for_the_full_sum():
    n = 25
    ei = random_graph(n, 0.15, seed=0)
    target = LinkTarget.from_edges(ei, n)
    z = torch.randn(n, 3)
    gen = torch.Generator().manual_seed(0)
    for balanced in (True, False):
        lik = LinkLikelihood(negatives_per_positive=1.0, balanced=balanced)
        draws = torch.stack([lik(z, target, gen) for _ in range(4000)])
        exact = exact_log_likelihood(z, torch.from_numpy(ei), n, balanced)
        stderr = draws.std() / np.sqrt(len(draws))
        assert abs(draws.mean() - exact) < 5 * stderr + 1e-4 * abs(exact)
        # a single draw is noisy, so the test above is not vacuous
        assert draws.std() > 0


def test_sampled_gradient_is_unbiased():
    n = 20
    ei = random_graph(n, 0.2, seed=1)
    target = LinkTarget.from_edges(ei, n)
    z0 = torch.randn(n, 2)
    z = z0.clone().requires_grad_(True)
    exact_log_likelihood(z, torch.from_numpy(ei), n, True).backward()
    exact_grad = z.grad.clone()
    lik, gen, grads = LinkLikelihood(2.0), torch.Generator().manual_seed(1), []
    for _ in range(3000):
        z = z0.clone().requires_grad_(True)
        lik(z, target, gen).backward()
        grads.append(z.grad)
    grads = torch.stack(grads)
    stderr = grads.std(0) / np.sqrt(len(grads))
    assert ((grads.mean(0) - exact_grad).abs() <= 5 * stderr + 1e-3).all()


def test_positive_membership_and_counts():
    n = 15
    ei = random_graph(n, 0.3, seed=2)
    target = LinkTarget.from_edges(ei, n)
    assert target.num_positive == ei.shape[1] + n
    rows, cols = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    mask = target.is_positive(rows.ravel(), cols.ravel()).reshape(n, n)
    a = torch.eye(n, dtype=torch.bool)
    a[ei[0], ei[1]] = True
    assert torch.equal(mask, a)


def test_no_dense_pair_matrix_on_sampled_path():
    """The number of scored pairs is O(E), far below N^2."""
    n = 2000
    ei = random_graph(n, 0.002, seed=3)
    target = LinkTarget.from_edges(ei, n)
    row, col, keep = LinkLikelihood(1.0).sample_pairs(target)
    assert row.numel() < 3 * target.num_positive < n * n / 50
