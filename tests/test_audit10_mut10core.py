"""Tests written to kill the surviving mutants of a mutation audit of the hand-optimized core (``_sparse``, the
sparse operator, the pair decoder, the posterior, the link likelihood's sampler and control variate, the ELBO and
the trainer's fused Adam). Each checks behaviour against an independent reference: dense torch algebra and
autograd, scipy, numpy's least squares, PyG's ``gcn_norm``, a brute-force sum over all pairs, or the documented
contract; each docstring names the mutant it kills."""
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
import torch

from graphvae.nn.operator import SparseOperator, normalized_adjacency
from graphvae.training.trainer import train_elbo
from conftest import random_graph


def _non_symmetric(seed: int = 0, n: int = 12) -> sp.csr_matrix:
    """A square float32 CSR matrix that is not symmetric (an empty row included)."""
    m = sp.random(n, n, density=0.3, format="csr", dtype="float32", random_state=seed)
    m = sp.triu(m, 1) + sp.diags(np.arange(1, n + 1, dtype=np.float32))
    m = sp.csr_matrix(sp.diags((np.arange(n) != 2).astype(np.float32)) @ m)  # row 2 empty
    m.eliminate_zeros()
    assert (m != m.T).nnz
    return m


def _grad_through(op: SparseOperator, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    (op @ x).square().sum().backward()
    return x.grad


def _dense_grad(m: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    (torch.from_numpy(m).to(x.dtype) @ x).square().sum().backward()
    return x.grad


# --------------------------------------------------------------------------- _sparse.py

def test_index_dtype_switches_to_int64_above_int32s_largest_value():
    """CSR indices are int32 only while every pointer and column id fits ``np.iinfo(np.int32).max``; kills the
    threshold mutant ``< 2**32 - 1`` (int32 pointers that would wrap past 2^31 entries)."""
    from graphvae._sparse import index_dtype

    top = int(np.iinfo(np.int32).max)
    assert index_dtype(top - 1, 5) == np.int32 and index_dtype(5, top - 1) == np.int32
    for nnz, size in ((top + 1, 5), (5, top + 1), (2 * top, 3)):
        assert index_dtype(nnz, size) == np.int64


def test_to_torch_csr_sorts_the_column_indices_of_an_unsorted_scipy_matrix():
    """``to_torch_csr`` promises sorted column indices (cuSPARSE's kernels and the cached transposes rely on it):
    a scipy CSR whose rows list their columns out of order gives scipy's sorted pattern; kills the mutant that
    drops ``sort_indices``."""
    from graphvae._sparse import to_torch_csr

    indptr, indices = np.array([0, 3, 3, 5]), np.array([2, 0, 1, 3, 0])
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32)
    m = sp.csr_matrix((data, indices, indptr), shape=(3, 4))
    assert not m.has_sorted_indices
    ref = m.sorted_indices()
    csr = to_torch_csr(m)
    assert np.array_equal(csr.crow_indices().numpy(), ref.indptr)
    assert np.array_equal(csr.col_indices().numpy(), ref.indices)
    assert np.array_equal(csr.values().numpy(), ref.data)


# --------------------------------------------------------------------------- operator.py

def test_float64_product_with_a_non_symmetric_operator_differentiates_like_the_dense_product():
    """``op @ x`` for a float64 ``x`` casts the operator (``_as_dtype``) and its *transpose*; the backward is
    ``M^T g``, checked against autograd through the dense matrix; kills the mutant that caches ``(M, M)``."""
    m = _non_symmetric(1)
    op = SparseOperator(m)
    x = torch.randn(m.shape[1], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(op @ x, torch.from_numpy(m.toarray()).double() @ x)
    assert torch.allclose(_grad_through(op, x), _dense_grad(m.toarray(), x))


def test_an_operator_moved_with_to_keeps_its_transpose():
    """``op.to(device)`` of a non-symmetric operator keeps ``M^T`` for the backward (dense autograd reference);
    kills the mutant that gives the moved operator ``csr_t = csr``."""
    m = _non_symmetric(2)
    moved = SparseOperator(m).to("cpu")
    x = torch.randn(m.shape[1], 2, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(_grad_through(moved, x), _dense_grad(m.toarray(), x), atol=1e-5)


def test_keeping_every_entry_gives_back_the_whole_matrix():
    """``keep_entries`` with an all-true mask (dropout that happens to drop nothing) is the matrix itself, last
    row's last entry included (scipy reference, and its transpose); kills a mutant that clamps the row pointers
    below ``nnz``."""
    m = _non_symmetric(3)
    op = SparseOperator(m)
    kept = op.keep_entries(torch.ones(op.nnz, dtype=torch.bool), 0.5)
    assert np.array_equal(kept.csr.crow_indices().numpy(), m.indptr)
    assert np.array_equal(kept.csr_t.crow_indices().numpy(), m.T.tocsr().indptr)
    x = torch.randn(m.shape[1], 2, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(kept @ x, torch.from_numpy(m.toarray() / 0.5) @ x, atol=1e-5)
    assert torch.allclose(_grad_through(kept, x), _dense_grad(m.toarray() / 0.5, x), atol=1e-5)


def test_weighted_operator_replaces_input_self_loops_by_one_as_the_unweighted_one():
    """An input self-loop is replaced by the one self-loop of weight 1 on both paths: with unit weights the
    weighted operator equals PyG's ``gcn_norm`` of the loop-free edges (and the 0/1 operator); kills the mutant
    that keeps input self-loops on the weighted path (diagonal ``1 + w``)."""
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    n = 20
    ei = random_graph(n, 0.2, seed=7)
    loops = np.array([[3, 8], [3, 8]])
    noisy = np.concatenate([ei, loops], axis=1)
    index, weight = gcn_norm(torch.from_numpy(ei), num_nodes=n, add_self_loops=True)
    ref = torch.sparse_coo_tensor(index, weight, (n, n)).to_dense()
    weighted = normalized_adjacency(noisy, n, edge_weight=np.ones(noisy.shape[1]))
    assert torch.allclose(weighted.csr.to_dense(), ref, atol=1e-6)
    assert torch.allclose(normalized_adjacency(noisy, n).csr.to_dense(), ref, atol=1e-6)


# --------------------------------------------------------------------------- trainer.py

class _Batches(torch.nn.Module):
    """A stand-in objective whose loss differs per batch; records every returned loss."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        self.losses: list[float] = []

    def forward(self, inp, target, generator):
        loss = (self.w - target).square().sum()
        self.losses.append(float(loss.detach()))
        zero = loss * 0
        return SimpleNamespace(loss=loss, elbo=-loss, log_likelihood=-loss, kl=zero, penalty=zero)


def test_history_loss_is_the_mean_over_the_epochs_batches_and_the_totals_are_sums():
    """The documented history: ``loss`` the epoch's mean over its batches, ``elbo`` etc. summed; the reference is
    numpy over the losses the objective returned; kills the mutant that drops the division by the batch count."""
    toy = _Batches()
    targets = [torch.tensor([0.0, 0.0]), torch.tensor([3.0, 1.0]), torch.tensor([-1.0, 5.0])]
    history = train_elbo(toy, lambda epoch: [(None, t) for t in targets], 2, 0.05, torch.Generator())
    assert len(history) == 2
    for epoch, entry in enumerate(history):
        seen = toy.losses[3 * epoch:3 * epoch + 3]
        assert np.isclose(entry["loss"], np.mean(seen), rtol=1e-6)
        assert np.isclose(entry["elbo"], -np.sum(seen), rtol=1e-6)


# --------------------------------------------------------------------------- likelihood.py

def test_pairs_per_node_is_at_least_two_as_documented():
    """``k = max(2, ceil(negatives_per_positive |P| / N))`` (the class docstring), computed here from the target's
    counts; at least two slots so that every slot's control variate is fitted on another slot; kills the mutant
    ``max(1, ...)``."""
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget

    n = 30
    target = LinkTarget.from_edges(random_graph(n, 0.1, seed=2), n)
    for ratio in (0.05, 0.5, 1.0, 3.0):
        expected = max(2, int(np.ceil(ratio * target.num_positive / n)))
        assert LinkLikelihood(ratio).negatives_per_node(target) == expected


def _grouped_reference(z, target, lik, seed, ei, n, fit_rows):
    """The estimate of ``LinkLikelihood`` with cache-sized blocks, built with autograd from its docstring: the same
    draws; slot ``t``'s coefficients a numpy least-squares fit of ``-sigmoid`` (slope ``2c``, intercept ``b``) and
    of the mean residual ``a`` on the kept pairs of the first ``fit_rows`` rows in the slots of the *other* offset
    groups; the quadratic of the mean coefficients summed over every non-positive pair by brute force."""
    import torch.nn.functional as F

    pairs, keep = lik.sample_pairs(target, torch.Generator().manual_seed(seed))
    k = lik.negatives_per_node(target)
    groups = lik.offset_groups(n, k)
    s_all = z @ z.T
    s = s_all[pairs.rows(), pairs.col.long()].view(n, k)
    keep = keep.view(n, k)
    coef = []
    for t in range(k):
        others = [u for u in range(k) if u * groups // k != t * groups // k]
        x = s.detach()[:fit_rows, others][keep[:fit_rows, others]].double().numpy()
        slope, intercept = np.polyfit(x, -1 / (1 + np.exp(-x)), 1)
        b, c = intercept, slope / 2
        a = np.mean(-np.logaddexp(0, x) - b * x - c * x * x)
        coef.append([a, b, c])
    coef = torch.tensor(coef, dtype=z.dtype)                                       # [k, 3]
    positive = torch.eye(n, dtype=torch.bool)
    positive[ei[0], ei[1]] = True
    a_bar, b_bar, c_bar = coef.mean(0)
    quadratic = ((a_bar + b_bar * s_all + c_bar * s_all ** 2) * ~positive).sum()
    residual = (F.logsigmoid(-s) - coef[:, 0] - coef[:, 1] * s - coef[:, 2] * s ** 2) * keep
    neg = quadratic + residual.sum() * (n / k)
    pos = F.logsigmoid(s_all[positive]).sum()
    edges = float(ei.shape[1])
    weight, norm = (n * n - edges) / edges, n * n / (2 * (n * n - edges))
    return norm * (weight * pos + neg)


def test_block_sampled_likelihood_fits_each_slot_on_the_other_groups_and_the_first_fit_rows(monkeypatch):
    """With cache-sized blocks the slots share offsets in groups, so slot ``t``'s control variate must be fitted on
    the *other groups'* slots (a slot of its own group has the same offset base: a fit on it would depend on slot
    ``t``'s own draw and bias the estimate), on the first ``_FIT_ROWS`` rows; value and gradient against the
    autograd reference above. Kills the mutants ``groups = 0`` in ``negative_sum`` (leave one slot out) and
    the fit on the *last* ``_FIT_ROWS`` rows."""
    import graphvae.objectives.likelihood as likelihood
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget

    monkeypatch.setattr(likelihood, "_FIT_ROWS", 13)  # a subset of the rows, as on a graph of more than 8192 nodes
    n = 30
    ei = random_graph(n, 0.15, seed=3)
    target = LinkTarget.from_edges(ei, n)
    lik = LinkLikelihood(1.0, local_block=4)
    k = lik.negatives_per_node(target)
    assert lik.offset_groups(n, k) == 3 and k >= 6  # groups of two or more slots
    z0 = 0.8 * torch.randn(n, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    z = z0.clone().requires_grad_(True)
    value = lik(z, target, torch.Generator().manual_seed(5))
    value.backward()
    z_r = z0.clone().requires_grad_(True)
    ref = _grouped_reference(z_r, target, lik, 5, torch.from_numpy(ei), n, 13)
    ref.backward()
    assert torch.allclose(value, ref, rtol=1e-9, atol=1e-8)
    assert torch.allclose(z.grad, z_r.grad, rtol=1e-8, atol=1e-9)


def test_the_partial_last_block_of_the_relabelling_is_randomly_ordered():
    """``_relabelling`` with blocks: the last, partial block maps onto its own nodes in a *random* order (a random
    permutation of the rest, as the full blocks are); over draws every position of it takes every value; kills
    the mutant that leaves the partial block in the identity order."""
    from graphvae.objectives.likelihood import _relabelling

    n, block = 23, 5
    full = n - n % block
    g = torch.Generator().manual_seed(0)
    tails = torch.stack([_relabelling(n, block, g, "cpu")[full:] for _ in range(200)])
    assert torch.equal(tails.sort(1).values, torch.arange(full, n).expand_as(tails))
    for position in tails.T:
        assert set(position.tolist()) == set(range(full, n))


def test_the_samplers_row_pointers_keep_int64_when_the_pairs_overflow_int32():
    """BUG (fixed): ``_compact`` chose int32 from a tensor's *length*, but CSR row pointers run up to the number of
    entries: with ``N k >= 2^31`` sampled pairs (e.g. 2M nodes, ``k = 1024``) the sampler's row pointers wrapped to
    negative int32 while its columns stayed int64. Pinned: the pointers equal numpy's ``arange(0, N k + 1, k)``
    exactly (int64 reference), and ``_compact`` keeps values beyond int32's range."""
    from graphvae.objectives.likelihood import LinkTarget, _compact, _sampler_constants

    big = torch.tensor([0, int(np.iinfo(np.int32).max) + 8])
    assert torch.equal(_compact(big, 2), big)
    assert _compact(torch.tensor([0, 3, 7]), 5).dtype == torch.int32  # small indices are still compacted
    n, k = 1000, 1 << 22  # N k > 2^32: only the row pointers are built here, no pair is drawn
    chain = np.stack([np.arange(n - 1), np.arange(1, n)])
    target = LinkTarget.from_edges(np.concatenate([chain, chain[::-1]], 1), n)
    crow = _sampler_constants(target, k)["crow"]
    assert np.array_equal(crow.numpy().astype(np.int64), np.arange(0, n * k + 1, k, dtype=np.int64))
