import pytest
import numpy as np
import torch
import torch.nn.functional as F

from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
from conftest import random_graph


def exact_log_likelihood(z, edge_index, n, reweight):
    """Brute force over all N^2 ordered pairs, positives = edges + diagonal."""
    a = torch.zeros(n, n)
    a[edge_index[0], edge_index[1]] = 1
    a += torch.eye(n)
    s = z @ z.T
    pos = (F.logsigmoid(s) * a).sum()
    neg = (F.logsigmoid(-s) * (1 - a)).sum()
    if not reweight:
        return pos + neg
    # Kipf & Welling's reference: norm * mean over N^2 entries of weighted BCE, pos_weight from A without I
    edges = edge_index.shape[1]
    pos_weight = (n * n - edges) / edges
    norm = n * n / (2 * (n * n - edges))
    return n * n * norm * (pos_weight * pos + neg) / (n * n)


def draws(lik, z0, target, seed, times):
    """``times`` independent estimates of the likelihood at ``z0`` and of its gradient."""
    gen, values, grads = torch.Generator().manual_seed(seed), [], []
    for _ in range(times):
        z = z0.clone().requires_grad_(True)
        value = lik(z, target, gen)
        value.backward()
        values.append(value.detach())
        grads.append(z.grad)
    return torch.stack(values), torch.stack(grads)


@pytest.mark.parametrize("control_variate", [True, False])
def test_sampled_link_likelihood_is_unbiased_for_the_full_sum(control_variate):
    n = 25
    ei = random_graph(n, 0.15, seed=0)
    target = LinkTarget.from_edges(ei, n)
    z = torch.randn(n, 3)
    gen = torch.Generator().manual_seed(0)
    for reweight in (True, False):
        lik = LinkLikelihood(negatives_per_positive=1.0, reweight=reweight, control_variate=control_variate)
        draws = torch.stack([lik(z, target, gen) for _ in range(4000)])
        exact = exact_log_likelihood(z, torch.from_numpy(ei), n, reweight)
        stderr = draws.std() / np.sqrt(len(draws))
        assert abs(draws.mean() - exact) < 5 * stderr + 1e-4 * abs(exact)
        # a single draw is noisy, so the test above is not vacuous
        assert draws.std() > 0


@pytest.mark.parametrize("control_variate", [True, False])
def test_sampled_gradient_is_unbiased(control_variate):
    n = 20
    ei = random_graph(n, 0.2, seed=1)
    target = LinkTarget.from_edges(ei, n)
    z0 = torch.randn(n, 2)
    z = z0.clone().requires_grad_(True)
    exact_log_likelihood(z, torch.from_numpy(ei), n, True).backward()
    exact_grad = z.grad.clone()
    _, grads = draws(LinkLikelihood(2.0, control_variate=control_variate), z0, target, seed=1, times=3000)
    stderr = grads.std(0) / np.sqrt(len(grads))
    assert ((grads.mean(0) - exact_grad).abs() <= 5 * stderr + 1e-3).all()


def test_control_variate_lowers_the_variance_of_the_estimate_and_its_gradient():
    # scores of the size a trained model produces (|s| up to ~5), on a sparse graph
    n = 60
    ei = random_graph(n, 0.05, seed=2)
    target = LinkTarget.from_edges(ei, n)
    z0 = 0.8 * torch.randn(n, 4)

    plain_values, plain_grads = draws(LinkLikelihood(1.0, control_variate=False), z0, target, seed=3, times=300)
    cv_values, cv_grads = draws(LinkLikelihood(1.0, control_variate=True), z0, target, seed=3, times=300)
    assert cv_values.var() < 0.25 * plain_values.var()
    assert cv_grads.var(0).sum() < 0.25 * plain_grads.var(0).sum()


def test_control_variate_fit_is_exact_for_a_quadratic_and_leaves_each_slot_out():
    from graphvae.objectives.likelihood import _leave_one_slot_out_fit
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(50, 3, generator=gen)
    mask = torch.ones(50, 3)
    # on the pairs of the other slots, the fitted derivative b + 2cs is the least-squares line through -sigmoid(s)
    a, b, c = _leave_one_slot_out_fit(s, mask)
    for t in range(3):
        others = s[:, [u for u in range(3) if u != t]].ravel().double()
        x = torch.stack([torch.ones_like(others), 2 * others], 1)
        coef = torch.linalg.lstsq(x, -torch.sigmoid(others)[:, None]).solution.ravel()
        assert torch.allclose(torch.tensor([b[t], c[t]], dtype=torch.float64), coef, atol=1e-5)
        intercept = (F.logsigmoid(-others) - coef[0] * others - coef[1] * others ** 2).mean()
        assert abs(float(a[t]) - float(intercept)) < 1e-5
    # changing one slot's scores leaves that slot's coefficients unchanged (they come from the other slots)
    s2 = s.clone()
    s2[:, 1] = 5 * torch.randn(50, generator=gen)
    a2, b2, c2 = _leave_one_slot_out_fit(s2, mask)
    assert torch.allclose(torch.stack([a2[1], b2[1], c2[1]]), torch.stack([a[1], b[1], c[1]]))
    assert not torch.allclose(b2[0], b[0])


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


def test_membership_with_the_hashed_prefilter_matches_a_set_lookup():
    # many queries share a hash slot with a positive (the filter has ~4-8 slots per key): the exact
    # lookup behind the filter must still sort them out; queries include every positive
    n = 3000
    rng = np.random.default_rng(4)
    ei = np.unique(rng.integers(0, n, (2, 20000)), axis=1)
    ei = ei[:, ei[0] != ei[1]]
    target = LinkTarget.from_edges(np.concatenate([ei, ei[::-1]], 1), n)
    positives = set((target.keys).tolist())
    rows = torch.cat([torch.from_numpy(rng.integers(0, n, 200000)), target.keys // n])
    cols = torch.cat([torch.from_numpy(rng.integers(0, n, 200000)), target.keys % n])
    expected = torch.tensor([int(k) in positives for k in (rows * n + cols).tolist()])
    candidates = target.key_filter[target.filter_slots(rows, rows * n + cols)]
    assert candidates.sum() > expected.sum()  # the filter alone would give false positives
    assert torch.equal(target.is_positive(rows, cols), expected)


def test_no_dense_pair_matrix_on_sampled_path():
    """The number of scored pairs is O(E), far below N^2."""
    n = 2000
    ei = random_graph(n, 0.002, seed=3)
    target = LinkTarget.from_edges(ei, n)
    pairs, keep = LinkLikelihood(1.0).sample_pairs(target)
    assert pairs.col.numel() < 3 * target.num_positive < n * n / 50


@pytest.mark.parametrize("local_block,table", [(None, True), (8, True), (None, False)])
def test_sampled_pairs_have_k_per_row_and_column_and_a_valid_transpose(local_block, table, monkeypatch):
    import graphvae.objectives.likelihood as likelihood
    if not table:  # the hashed membership test instead of the table of all pairs that small graphs use
        monkeypatch.setattr(likelihood, "_DIRECT_TABLE_MAX_PAIRS", 0)
    n = 42  # with blocks of 8: five full blocks and a partial one
    target = LinkTarget.from_edges(random_graph(n, 0.1, seed=4), n)
    lik = LinkLikelihood(2.0, local_block=local_block)
    k = lik.negatives_per_node(target)
    pairs, keep = lik.sample_pairs(target, torch.Generator().manual_seed(0))
    rows = pairs.rows()
    assert torch.equal(torch.bincount(rows, minlength=n), torch.full((n,), k))
    assert torch.equal(torch.bincount(pairs.col, minlength=n), torch.full((n,), k))
    # entry e of the transpose is the pair (rows_t[e], col_t[e]) = (col, row) of entry transpose[e]
    rows_t = torch.repeat_interleave(torch.arange(n), pairs.crow_t.diff())
    assert torch.equal(rows_t, pairs.col[pairs.transpose]) and torch.equal(pairs.col_t, rows[pairs.transpose])
    assert torch.equal(keep, ~target.is_positive(rows, pairs.col))


def test_pattern_scores_and_gradient_match_autograd_gather():
    from graphvae.objectives.likelihood import pair_scores, pattern_scores
    n = 30
    target = LinkTarget.from_edges(random_graph(n, 0.2, seed=5), n)
    pairs, _ = LinkLikelihood(3.0).sample_pairs(target, torch.Generator().manual_seed(1))
    assert target.positives.symmetric and not pairs.symmetric  # both backward passes are checked
    for pattern in (target.positives, pairs):
        w = torch.randn(pattern.col.numel())
        z1 = torch.randn(n, 4, requires_grad=True)
        z2 = z1.detach().clone().requires_grad_(True)
        s1 = pattern_scores(z1, pattern)
        s2 = pair_scores(z2, pattern.rows(), pattern.col)
        assert torch.allclose(s1, s2, atol=1e-5)
        (s1 * w).sum().backward()
        (s2 * w).sum().backward()
        assert torch.allclose(z1.grad, z2.grad, atol=1e-4)


def test_block_local_sampling_is_unbiased_and_local():
    """Cache-sized blocks (forced on a small graph): value and gradient stay unbiased; partners stay in few blocks."""
    n, block = 26, 4
    ei = random_graph(n, 0.15, seed=6)
    target = LinkTarget.from_edges(ei, n)
    z0 = torch.randn(n, 3)
    z = z0.clone().requires_grad_(True)
    exact = exact_log_likelihood(z, torch.from_numpy(ei), n, True)
    exact.backward()
    lik = LinkLikelihood(1.0, local_block=block)
    values, grads = draws(lik, z0, target, seed=7, times=3000)
    assert abs(values.mean() - exact.detach()) < 5 * values.std() / np.sqrt(len(values)) + 1e-4 * abs(exact.detach())
    stderr = grads.std(0) / np.sqrt(len(grads))
    assert ((grads.mean(0) - z.grad).abs() <= 5 * stderr + 1e-3).all()
    # locality: per slot, the rows of one block of nodes find their partners in at most two blocks (three when
    # the shifted window wraps around the partial last block)
    pairs, _ = lik.sample_pairs(target, torch.Generator().manual_seed(0))
    k = lik.negatives_per_node(target)
    partner_blocks = pairs.col.long().view(n, k)[: (n // block) * block] // block
    for rows in partner_blocks.view(n // block, block, k).unbind(0):
        assert all(rows[:, t].unique().numel() <= 3 for t in range(k))
    uniform, _ = LinkLikelihood(1.0).sample_pairs(target, torch.Generator().manual_seed(0))
    spread = (uniform.col.long().view(n, k)[: (n // block) * block] // block).view(n // block, block, k)
    assert any(rows[:, t].unique().numel() > 3 for rows in spread.unbind(0) for t in range(k))


def test_sampled_pairs_are_the_documented_permutation_draws():
    """pi_t(i) = p[(p^-1[i] + o_t) mod N] with p = randperm(N) and o = randint(N, (k,)) drawn in that order."""
    n = 37
    target = LinkTarget.from_edges(random_graph(n, 0.2, seed=8), n)
    lik = LinkLikelihood(1.5)
    k = lik.negatives_per_node(target)
    pairs, _ = lik.sample_pairs(target, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    p = torch.randperm(n, generator=gen)
    offsets = torch.randint(n, (k,), generator=gen)
    p_inv = torch.argsort(p)
    expected = p[(p_inv[:, None] + offsets[None, :]) % n]
    assert torch.equal(pairs.col.long().view(n, k), expected)


def _reference_log_likelihood(z, target, lik, generator_seed, ei, n):
    """The estimate of LinkLikelihood (control variate on) built with autograd from its definition: the same
    sampled pairs, each slot's coefficients an independent least-squares fit on the other slots' kept pairs,
    the quadratic summed by brute force over every non-positive pair, the residual over the sampled ones."""
    pairs, keep = lik.sample_pairs(target, torch.Generator().manual_seed(generator_seed))
    k = lik.negatives_per_node(target)
    rows, cols = pairs.rows(), pairs.col.long()
    s_all = z @ z.T
    s = s_all[rows, cols].view(n, k)
    keep = keep.view(n, k)
    coef = []
    for t in range(k):
        others = [u for u in range(k) if u != t]
        x = s.detach()[:, others][keep[:, others]].double()
        slope_fit = torch.linalg.lstsq(torch.stack([torch.ones_like(x), 2 * x], 1), -torch.sigmoid(x)[:, None]).solution.ravel()
        b, c = slope_fit[0], slope_fit[1]
        a = (F.logsigmoid(-x) - b * x - c * x ** 2).mean()
        coef.append(torch.stack([a, b, c]).float())
    coef = torch.stack(coef)                                                      # [k, 3]
    positive = torch.zeros(n, n, dtype=torch.bool)
    positive[ei[0], ei[1]] = True
    positive |= torch.eye(n, dtype=torch.bool)
    a_bar, b_bar, c_bar = coef.mean(0)
    quadratic = ((a_bar + b_bar * s_all + c_bar * s_all ** 2) * ~positive).sum()
    per_pair = F.logsigmoid(-s) - coef[:, 0] - coef[:, 1] * s - coef[:, 2] * s ** 2
    neg = quadratic + (per_pair * keep).sum() * (n / k)
    pos = F.logsigmoid(s_all[positive]).sum()
    edges = float(ei.shape[1])
    weight, norm = (n * n - edges) / edges, n * n / (2 * (n * n - edges))
    return norm * (weight * pos + neg)


@pytest.mark.parametrize("n,p", [(30, 0.15), (90, 0.04)])
def test_likelihood_value_and_gradient_equal_an_autograd_reference(n, p):
    """The hand-written passes (closed-form quadratic, sampled residual, fused fit, pair-score products) against
    autograd through the estimator's definition on the same draws: value and gradient."""
    ei = random_graph(n, p, seed=n)
    target = LinkTarget.from_edges(ei, n)
    lik = LinkLikelihood(1.0)
    z0 = 0.8 * torch.randn(n, 4, generator=torch.Generator().manual_seed(n))
    z = z0.clone().requires_grad_(True)
    value = lik(z, target, torch.Generator().manual_seed(11))
    value.backward()
    z_r = z0.clone().requires_grad_(True)
    ref = _reference_log_likelihood(z_r, target, lik, 11, torch.from_numpy(ei), n)
    ref.backward()
    assert torch.allclose(value, ref, rtol=1e-4, atol=1e-3)
    assert torch.allclose(z.grad, z_r.grad, rtol=1e-3, atol=1e-3 * z_r.grad.abs().max())


@pytest.mark.parametrize("components", [1, 3])
def test_closed_form_quadratic_gradient_equals_autograd(components):
    from graphvae.objectives.likelihood import _ClosedFormQuadratic
    gen = torch.Generator().manual_seed(components)
    n, d, per = 5, 3, 4
    z = torch.randn(components * n, d, generator=gen, dtype=torch.float64, requires_grad=True)
    pos = torch.randn(components * per, generator=gen, dtype=torch.float64, requires_grad=True)
    coef = torch.randn(3, components, generator=gen, dtype=torch.float64)
    component = None if components == 1 else torch.arange(components).repeat_interleave(per)
    count = 17.0 if components == 1 else torch.tensor([17.0, 18.0, 19.0], dtype=torch.float64)
    weights = torch.randn(components, generator=gen, dtype=torch.float64)
    lengths = None if components == 1 else torch.full((components,), per)
    (_ClosedFormQuadratic.apply(z, pos, coef, count, component, lengths) * weights).sum().backward()
    z_r, pos_r = z.detach().clone().requires_grad_(), pos.detach().clone().requires_grad_()
    total = 0
    for c in range(components):
        zc = z_r[c * n:(c + 1) * n]
        pc = pos_r[c * per:(c + 1) * per]
        cnt = count if components == 1 else count[c]
        value = (coef[0, c] * cnt + coef[1, c] * ((zc @ zc.T).sum() - pc.sum())
                 + coef[2, c] * ((zc @ zc.T).square().sum() - pc.square().sum()))
        total = total + weights[c] * value
    total.backward()
    assert torch.allclose(z.grad, z_r.grad) and torch.allclose(pos.grad, pos_r.grad)


def test_grouped_offsets_are_uniform_per_slot_and_shared_within_a_group():
    """Cache-sized blocks share one offset per group of slots: every slot's offset (so every partner) stays uniform."""
    from graphvae.objectives.likelihood import _offsets
    n, k, groups, draws_ = 7, 5, 3, 7000
    offsets = torch.stack([_offsets(n, k, groups, torch.Generator().manual_seed(s), "cpu") for s in range(draws_)])
    group = torch.arange(k) * groups // k                                   # slots 0-1, 2-3, 4
    for t in range(k):  # consecutive offsets inside a group, mod n
        first = int((group == group[t]).nonzero()[0])
        assert torch.equal(offsets[:, t], (offsets[:, first] + t - first) % n)
    counts = torch.stack([torch.bincount(offsets[:, t], minlength=n) for t in range(k)]).double()
    expected = draws_ / n
    chi2 = ((counts - expected) ** 2 / expected).sum(1)                     # 6 degrees of freedom per slot
    assert (chi2 < 30).all(), chi2
    # slots of different groups are independent: the joint of slots 0 and 4 is uniform over the n^2 cells
    joint = torch.bincount(offsets[:, 0] * n + offsets[:, 4], minlength=n * n).double()
    assert ((joint - draws_ / n ** 2) ** 2 / (draws_ / n ** 2)).sum() < 48 + 5 * (2 * 48) ** 0.5


def test_block_sampled_pairs_are_the_documented_grouped_draws():
    """With cache-sized blocks: pi_t(i) = p[(p^-1[i] + o_t) mod N], p block-wise, o_t from the grouped offsets;
    the rows of one block find the partners of all the slots of a group in at most three blocks of nodes."""
    from graphvae.objectives.likelihood import _offsets, _relabelling
    n, block = 40, 4
    target = LinkTarget.from_edges(random_graph(n, 0.3, seed=9), n)
    lik = LinkLikelihood(1.0, local_block=block)
    k = lik.negatives_per_node(target)
    groups = lik.offset_groups(n, k)
    assert k >= 3 and groups == 3
    pairs, _ = lik.sample_pairs(target, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    p = _relabelling(n, block, gen, "cpu")
    offsets = _offsets(n, k, groups, gen, "cpu")
    expected = p[(torch.argsort(p)[:, None] + offsets[None, :]) % n]
    assert torch.equal(pairs.col.long().view(n, k), expected)
    group = torch.arange(k) * groups // k
    for rows in (expected // block).view(n // block, block, k).unbind(0):
        assert all(rows[:, group == g].unique().numel() <= 3 for g in range(groups))


def test_control_variate_fit_with_groups_leaves_the_whole_group_out():
    from graphvae.objectives.likelihood import _leave_one_slot_out_fit
    gen = torch.Generator().manual_seed(1)
    k, groups = 5, 3
    s = torch.randn(60, k, generator=gen)
    mask = torch.rand(60, k, generator=gen) > 0.1
    group = torch.arange(k) * groups // k
    a, b, c = _leave_one_slot_out_fit(s, mask, groups=groups)
    for t in range(k):
        others = group != group[t]
        x = s[:, others][mask[:, others]].double()
        coef = torch.linalg.lstsq(torch.stack([torch.ones_like(x), 2 * x], 1), -torch.sigmoid(x)[:, None]).solution.ravel()
        assert torch.allclose(torch.tensor([b[t], c[t]], dtype=torch.float64), coef, atol=1e-5)
        intercept = (F.logsigmoid(-x) - coef[0] * x - coef[1] * x ** 2).mean()
        assert abs(float(a[t]) - float(intercept)) < 1e-5


@pytest.mark.parametrize("local_block", [0, 8])
def test_blockwise_large_graph_path_equals_the_whole_array_path(local_block, monkeypatch):
    """The large-graph code (membership, positions, residual and positives' sum in row blocks) on a small graph,
    by shrinking its block sizes: the same pairs and, up to float32 summation order, the same value and gradient."""
    import graphvae.objectives.likelihood as lik_module
    n = 150
    ei = random_graph(n, 0.1, seed=5)
    target = LinkTarget.from_edges(ei, n)
    lik = LinkLikelihood(1.0, local_block=local_block)
    z0 = torch.randn(n, 4)

    def run():
        pairs, keep = lik.sample_pairs(target, torch.Generator().manual_seed(2))
        z = z0.clone().requires_grad_(True)
        value = lik(z, target, torch.Generator().manual_seed(2))
        value.backward()
        return pairs, keep, value.detach(), z.grad

    monkeypatch.setattr(lik_module, "_DIRECT_TABLE_MAX_PAIRS", 0)  # the hashed filter, as on a large graph
    whole = run()
    monkeypatch.setattr(lik_module, "_CHUNK_PAIRS", 64)           # blocks of 64 // k rows, many of them
    monkeypatch.setattr(lik_module, "_KEEP_CHUNK_PAIRS", 100)
    blocks = run()
    for a, b in zip((whole[0].col, whole[0].col_t, whole[0].transpose, whole[1]),
                    (blocks[0].col, blocks[0].col_t, blocks[0].transpose, blocks[1])):
        assert torch.equal(a, b)
    assert torch.allclose(blocks[2], whole[2], rtol=1e-5)
    assert torch.allclose(blocks[3], whole[3], rtol=1e-4, atol=1e-4 * whole[3].abs().max().item())
    # the block path really ran: the positives' and the residual's autograd nodes are the blockwise ones
    z = z0.clone().requires_grad_(True)
    value = lik(z, target, torch.Generator().manual_seed(2))
    names, seen, stack = set(), set(), [value.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and id(node) not in seen:
            seen.add(id(node))
            names.add(type(node).__name__)
            stack.extend(f for f, _ in node.next_functions)
    assert {"_ChunkedResidualBackward", "_ChunkedLogSigmoidSumBackward"} <= names


def test_pairs_per_node_never_exceed_the_nodes():
    # negatives_per_positive above N²/P asked for more sampled partners per row than the row has columns; the sparse
    # kernels (run without invariant checks) then wrote out of bounds and killed the process (segfault, "free():
    # invalid next size") on the karate club from negatives_per_positive=13
    import networkx as nx

    import graphvae as gv

    n = 30
    target = LinkTarget.from_edges(random_graph(n, 0.2, seed=0), n)
    assert LinkLikelihood(1000.0).negatives_per_node(target) == n
    assert LinkLikelihood(1.0).negatives_per_node(target) == max(2, int(np.ceil(target.num_positive / n)))
    pattern, _ = LinkLikelihood(1000.0).sample_pairs(target, torch.Generator().manual_seed(0))
    assert int(pattern.crow.diff().max()) == n and 0 <= int(pattern.col.min()) and int(pattern.col.max()) < n
    z = gv.GAE(epochs=5, negatives_per_positive=20, latent=4, random_state=0).fit(nx.karate_club_graph()).embed()
    assert np.isfinite(z).all()
