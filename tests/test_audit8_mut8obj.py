"""Tests added by a mutation-testing audit (audit 8, ``mut8obj``) of the objectives' adversarial, pixel, ELBO and
masking code, the latent layer, the MLP decoder, the inner-product scores and the corruptions. Each test kills a
hand-made mutant that the rest of the suite let through, against an independent reference: a plain formula with
torch.autograd, torch.distributions, brute force over the pairs or walks of a tiny graph, or the documented contract."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphvae.nn.latent import Posterior
from graphvae.objectives.adversarial import AdversarialPenalty, Discriminator, DiscriminatorStep
from graphvae.objectives.pixel_likelihood import bits_per_dim


def _mlp_logits(disc: Discriminator, z: torch.Tensor) -> torch.Tensor:
    """The discriminator's logits written out layer by layer (``Linear -> ReLU -> Linear -> ReLU -> Linear``)."""
    l1, l2, l3 = [m for m in disc.mlp if isinstance(m, torch.nn.Linear)]
    h = torch.relu(z @ l1.weight.T + l1.bias)
    h = torch.relu(h @ l2.weight.T + l2.bias)
    return (h @ l3.weight.T + l3.bias)[:, 0]


def _hand_discriminator_updates(disc: Discriminator, z: torch.Tensor, optimizer, steps: int,
                                generator: torch.Generator) -> None:
    r"""``steps`` updates of :math:`-\mathrm{mean}\log\sigma(D(z')) - \mathrm{mean}\log(1-\sigma(D(z)))` with a
    fresh prior sample :math:`z'\sim\mathcal N(0, I)` from ``generator`` per step."""
    for _ in range(steps):
        prior = torch.randn(z.shape, generator=generator)
        optimizer.zero_grad()
        loss = -torch.log(torch.sigmoid(_mlp_logits(disc, prior))).mean() \
            - torch.log(1 - torch.sigmoid(_mlp_logits(disc, z))).mean()
        loss.backward()
        optimizer.step()


# ------------------------------------------------------------------------------------------ adversarial
def test_discriminator_step_takes_five_adam_steps_by_default_with_fresh_prior_samples():
    """``DiscriminatorStep(disc)`` (defaults: ``lr=0.001``, ``steps=5``, as in PyG's ARGA example) equals five Adam
    steps of the discriminator loss written out by hand, each on a fresh N(0, I) sample from the generator.
    (Mutants: ``range(self.steps)`` -> ``range(1)``; default ``steps=5`` -> 1.)"""
    torch.manual_seed(0)
    disc, twin = Discriminator(3, hidden=8), Discriminator(3, hidden=8)
    twin.load_state_dict(disc.state_dict())
    z = torch.randn(20, 3) * 0.5 + 1.0
    DiscriminatorStep(disc)(type("T", (), {"posterior": Posterior(z)})(), torch.Generator().manual_seed(4))
    _hand_discriminator_updates(twin, z, torch.optim.Adam(twin.parameters(), lr=0.001), 5,
                                torch.Generator().manual_seed(4))
    for a, b in zip(disc.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_discriminator_step_builds_its_optimizer_with_the_given_learning_rate():
    """``optimizer(params, lr)`` gets the step's ``lr``: three SGD steps at ``lr=0.05`` equal the hand-written ones.
    (Mutant: ``optimizer(params, lr)`` -> ``optimizer(params, 0.001)``.)"""
    torch.manual_seed(1)
    disc, twin = Discriminator(2, hidden=4), Discriminator(2, hidden=4)
    twin.load_state_dict(disc.state_dict())
    z = torch.randn(10, 2)
    step = DiscriminatorStep(disc, lr=0.05, steps=3, optimizer=lambda p, lr: torch.optim.SGD(p, lr=lr))
    step(type("T", (), {"posterior": Posterior(z)})(), torch.Generator().manual_seed(2))
    _hand_discriminator_updates(twin, z, torch.optim.SGD(twin.parameters(), lr=0.05), 3, torch.Generator().manual_seed(2))
    for a, b in zip(disc.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_adversarial_penalty_rejects_a_nan_weight():
    """A NaN weight is rejected like a negative one (``not weight >= 0``). (Mutant: ``if weight < 0``.)"""
    with pytest.raises(ValueError):
        AdversarialPenalty(Discriminator(2), weight=float("nan"))
    with pytest.raises(ValueError):
        AdversarialPenalty(Discriminator(2), weight=-0.1)


def test_adversarial_penalty_gradient_reaches_the_posterior_means():
    r"""The penalty :math:`\lambda c\,\Omega(\mu)` is differentiable in :math:`\mu` (it is what regularizes the encoder):
    its gradient equals autograd through :math:`-\lambda c\,\mathrm{mean}\log\sigma(\mathrm{MLP}(\mu))` written out.
    (Mutant: ``posterior.mu`` -> ``posterior.mu.detach()``.)"""
    torch.manual_seed(2)
    disc = Discriminator(3, hidden=5)
    mu = torch.randn(7, 3, requires_grad=True)
    AdversarialPenalty(disc, weight=0.5)(None, Posterior(mu), [], None, units=49.0).backward()
    ref_mu = mu.detach().clone().requires_grad_()
    (-0.5 * 49.0 * torch.log(torch.sigmoid(_mlp_logits(disc, ref_mu))).mean()).backward()
    assert mu.grad is not None
    torch.testing.assert_close(mu.grad, ref_mu.grad, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------------------------ pixels
def test_bits_per_dim_rejects_zero_dimensions_and_a_single_level():
    """``dims < 1`` or ``num_levels < 2`` is a ValueError (not a ZeroDivisionError or a log of 1 = 0 bits).
    (Mutant: ``dims < 1`` -> ``dims < 0``.)"""
    with pytest.raises(ValueError):
        bits_per_dim(-100.0, 0)
    with pytest.raises(ValueError):
        bits_per_dim(-100.0, 10, num_levels=1)
    assert bits_per_dim(0.0, 1, num_levels=2) == pytest.approx(1.0)  # uniform on [0, 1): log2(2) bits


# -------------------------------------------------------------------------------------------------- ELBO
def _image_elbo(beta: float = 1.0):
    """A tiny image VAE: GCN encoder on an edgeless graph, MLP decoder, Bernoulli pixels."""
    import graphvae as gv
    from graphvae.nn.decoder import MLPDecoder
    from graphvae.objectives.pixel_likelihood import BernoulliPixels

    torch.manual_seed(3)
    enc = gv.GCNEncoder(4, (5,), 3)
    return gv.ELBO(enc, BernoulliPixels(MLPDecoder(3, (6,), 4)), beta=beta)


def test_elbo_likelihood_is_evaluated_at_a_reparameterized_sample():
    r""":math:`\log p(x\mid z)` at :math:`z = \mu + \sigma\odot\varepsilon`, :math:`\varepsilon` the generator's draw,
    equals ``torch.distributions.Bernoulli(logits=decoder(z)).log_prob(x).sum()``, and differs from the value at
    :math:`\mu`. (Mutant: ``z = posterior.rsample(...)`` -> ``z = posterior.mu``.)"""
    from graphvae.nn.encoder import edgeless_input

    elbo = _image_elbo()
    x = (torch.rand(6, 4, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    inp = edgeless_input(torch.rand(6, 4, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        terms = elbo(inp, x, torch.Generator().manual_seed(7))
        post = elbo.encoder(inp)
        eps = torch.randn(post.mu.shape, generator=torch.Generator().manual_seed(7))
        z = post.mu + post.logstd.exp() * eps
        bern = lambda zz: torch.distributions.Bernoulli(logits=elbo.likelihood.decoder(zz)).log_prob(x).sum()
        assert float(terms.log_likelihood) == pytest.approx(float(bern(z)), rel=1e-5)
        assert abs(float(bern(z)) - float(bern(post.mu))) > 1e-3


def test_a_unit_penalty_needs_the_likelihoods_units():
    """A ``normaliser = "unit"`` penalty called without ``units`` raises (its factor is the likelihood's
    normaliser; there is no sensible default). (Mutant: that ``raise`` removed: a TypeError from ``weight * None``.)"""
    import graphvae as gv

    enc = gv.GCNEncoder(3, (4,), 2, variational=False)
    with pytest.raises(ValueError):
        gv.WeightDecay(0.1)(None, None, [], enc)


def test_weight_decay_does_not_decay_biases():
    r""":math:`\Omega = \tfrac12\sum_W\lVert W\rVert_F^2` over the weight matrices only: with every bias set to 3 the
    penalty is the same as with zero biases, and equals the hand sum. (Mutant: the ``endswith("weight")`` filter
    dropped, so biases are decayed too.)"""
    import graphvae as gv

    torch.manual_seed(0)
    enc = gv.GCNEncoder(5, (4,), 3, variational=True, bias=True)
    with torch.no_grad():
        for name, p in enc.named_parameters():
            if name.endswith("bias"):
                p.fill_(3.0)
    weights = [p for name, p in enc.named_parameters() if "bias" not in name]
    assert weights and len(weights) < len(list(enc.parameters()))
    by_hand = 0.5 * sum(float(p.detach().double().square().sum()) for p in weights)
    assert float(gv.WeightDecay(0.2)(None, None, [], enc, units=10.0).detach()) == pytest.approx(0.2 * 10.0 * by_hand, rel=1e-5)


# ----------------------------------------------------------------------------------------------- masking
def test_path_masking_starts_from_round_rate_times_n_nodes():
    """``round(rate * num_nodes)`` distinct start nodes (7 * 0.5 = 3.5 -> 4): one-step walks on a graph without
    isolated nodes hide one out-pair of each of 4 distinct nodes; rate 1 is allowed and starts from every node.
    (Mutant: ``int(rate * num_nodes)``, 3.)"""
    from graphvae.objectives.masking import mask_paths

    n = 7
    ring = [(i, (i + 1) % n) for i in range(n)]
    edges = torch.tensor(ring + [(v, u) for u, v in ring]).T
    for seed in range(5):
        _, hidden = mask_paths(edges, n, 0.5, walk_length=1, generator=torch.Generator().manual_seed(seed))
        assert hidden.shape[1] == 4 and len(set(hidden[0].tolist())) == 4
    _, hidden = mask_paths(edges, n, 1.0, walk_length=1, generator=torch.Generator().manual_seed(0))
    assert sorted(hidden[0].tolist()) == list(range(n))  # rate 1 (allowed): a walk from every node


def test_masked_batches_path_and_directed_modes_pass_their_options_through():
    """``mode="path"`` walks ``walk_length`` steps (``walk_length=1``: one hidden pair per start node, distinct
    sources), and ``mode="directed"`` hides directed pairs independently: over a few epochs some hidden pair's
    reverse is not hidden, which the undirected masking never does. (Mutants: ``walk_length`` not passed on (3
    steps); ``directed=False`` in the directed mode.)"""
    from graphvae.objectives.masking import masked_batches

    n = 12
    ring = [(i, (i + 1) % n) for i in range(n)] + [(i, (i + 5) % n) for i in range(n)]
    edges = torch.tensor(ring + [(v, u) for u, v in ring]).T
    x = torch.eye(n)
    path = masked_batches(edges, x, n, 0.25, torch.Generator().manual_seed(0), mode="path", walk_length=1)
    for epoch in range(3):
        hidden = path(epoch)[0][1].hidden_edge_index
        assert hidden.shape[1] == round(0.25 * n) and len(set(hidden[0].tolist())) == round(0.25 * n)
    directed = masked_batches(edges, x, n, 0.5, torch.Generator().manual_seed(0), mode="directed")
    one_way = 0
    for epoch in range(3):
        hidden = set(zip(*directed(epoch)[0][1].hidden_edge_index.tolist()))
        one_way += sum((v, u) not in hidden for u, v in hidden)
    assert one_way > 0


def test_masked_likelihood_with_nothing_hidden_is_the_balanced_non_edge_sum():
    r"""Masking rate 0: no positives, and the class-balanced likelihood is :math:`\tfrac{N^2}{2|\bar T|}\sum_{(i,j)
    \notin T}\log\sigma(-s_{ij})` in expectation (brute force over all pairs), not a division by zero.
    (Mutant: ``max(num_hidden, 1)`` -> ``num_hidden``.)"""
    from graphvae.objectives.likelihood import LinkTarget
    from graphvae.objectives.masking import MaskedLinkLikelihood, MaskedLinkTarget, mask_edges

    n = 12
    ring = [(i, (i + 1) % n) for i in range(n)] + [(i, (i + 3) % n) for i in range(n)]
    edges = torch.tensor(ring + [(v, u) for u, v in ring]).T
    _, hidden = mask_edges(edges, 0.0, torch.Generator().manual_seed(0))
    target = MaskedLinkTarget.from_hidden(LinkTarget.from_edges(edges, n), hidden)
    assert target.num_hidden == 0
    z = torch.randn(n, 3, generator=torch.Generator().manual_seed(1)) * 0.6
    s = (z @ z.T).double().numpy()
    is_train = np.eye(n, dtype=bool)
    is_train[edges[0], edges[1]] = True
    exact = n * n / (2 * (~is_train).sum()) * (-np.logaddexp(0, s[~is_train])).sum()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        est = torch.stack([MaskedLinkLikelihood()(z, target, g) for _ in range(200)]).double()
    assert bool(torch.isfinite(est).all())
    assert abs(float(est.mean()) - exact) < 4 * float(est.std()) / 200 ** 0.5 + 1e-6 * abs(exact)


def test_masked_likelihood_is_normalised_by_all_node_pairs():
    r"""The masked link likelihood's normaliser is :math:`N^2`, the pairs it totals over (the loss is per pair, as for
    :class:`LinkLikelihood`), whatever the number of hidden edges. (Mutant: ``scale`` = the number of hidden pairs.)"""
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
    from graphvae.objectives.masking import MaskedLinkLikelihood, MaskedLinkTarget

    edges = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    base = LinkTarget.from_edges(edges, 5)
    target = MaskedLinkTarget.from_hidden(base, torch.tensor([[1, 2], [2, 1]]))
    assert MaskedLinkLikelihood().scale(target) == 25.0 == LinkLikelihood().scale(base)


def test_symmetrized_lists_each_undirected_edge_once_in_both_directions():
    """``symmetrized`` of directed pairs with both directions of some edges and a repeated pair: every undirected
    edge exactly once per direction (no duplicate columns), brute force with Python sets. (Mutant: the
    ``unique`` dropped, so an edge present in both directions is listed twice each way.)"""
    from graphvae.objectives.masking import symmetrized

    pairs = torch.tensor([[0, 1, 2, 3, 1, 4], [1, 0, 3, 2, 0, 2]])
    out = symmetrized(pairs)
    und = {(min(u, v), max(u, v)) for u, v in pairs.T.tolist()}
    expected = und | {(v, u) for u, v in und}
    assert set(zip(*out.tolist())) == expected and out.shape[1] == len(expected)


# ------------------------------------------------------------------------------------------ latent layer
def test_rsample_with_one_generator_per_block_draws_each_block_from_its_own_generator():
    r"""With generators ``[g_0, g_1]`` the rows are two equal blocks and block ``c`` is
    :math:`\mu_c + \sigma_c\odot\varepsilon_c`, :math:`\varepsilon_c` drawn from ``g_c`` alone (also with a sample
    dimension). (Mutant: the generators taken in reverse order.)"""
    mu, logstd = torch.randn(6, 2), 0.3 * torch.randn(6, 2)
    post = Posterior(mu, logstd)
    for samples in (None, 3):
        z = post.rsample(samples, [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])
        lead = () if samples is None else (samples,)
        for c, seed in enumerate((1, 2)):
            eps = torch.randn(*lead, 3, 2, generator=torch.Generator().manual_seed(seed))
            rows = slice(3 * c, 3 * c + 3)
            torch.testing.assert_close(z[..., rows, :], mu[rows] + logstd[rows].exp() * eps)


# ----------------------------------------------------------------------------------------------- decoder
def test_mlp_decoder_is_the_plain_mlp_with_widths_in_the_given_order():
    """``MLPDecoder(3, (8, 5), 4)`` is ``relu(relu(z W1 + b1) W2 + b2) W3 + b3`` with ``W1: 3x8``, ``W2: 8x5``,
    ``W3: 5x4`` and no output nonlinearity, also with a leading sample dimension. (Mutants: the hidden widths
    reversed; the activation on the output.)"""
    from graphvae.nn.decoder import MLPDecoder

    torch.manual_seed(0)
    dec = MLPDecoder(3, (8, 5), 4)
    assert [tuple(layer.weight.shape) for layer in dec.layers] == [(3, 8), (8, 5), (5, 4)]
    with torch.no_grad():
        for layer in dec.layers:
            layer.bias.normal_()
        z = torch.randn(2, 7, 3)
        (w1, b1), (w2, b2), (w3, b3) = [(layer.weight, layer.bias) for layer in dec.layers]
        expected = torch.relu(torch.relu(z @ w1 + b1) @ w2 + b2) @ w3 + b3
        out = dec(z)
    torch.testing.assert_close(out, expected)
    assert bool((out < 0).any())


# ------------------------------------------------------------------------------------- masking: edge lists
def test_mask_edges_refuses_a_rate_of_one():
    """The masking rate is in [0, 1): hiding every edge leaves the encoder nothing, so 1 is an InputError (as is a
    negative rate). (Mutant: ``0 <= rate <= 1``.)"""
    import graphvae as gv
    from graphvae.objectives.masking import mask_edges

    edges = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    for rate in (1.0, -0.1):
        with pytest.raises(gv.InputError):
            mask_edges(edges, rate, torch.Generator().manual_seed(0))


def test_directed_masking_shows_the_encoder_the_symmetrized_rest():
    """``directed=True``: ``hidden`` is a set of directed pairs of the list and ``visible`` holds both directions of
    every undirected edge with at least one direction not hidden, each once (brute force with sets).
    (Mutant: ``visible`` not symmetrized: the surviving directed pairs only.)"""
    from graphvae.objectives.masking import mask_edges

    und = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 2), (1, 3), (2, 4)]
    pairs = und + [(v, u) for u, v in und]
    edges = torch.tensor(pairs).T
    one_sided = 0
    for seed in range(4):
        visible, hidden = mask_edges(edges, 0.5, torch.Generator().manual_seed(seed), directed=True)
        hid = set(zip(*hidden.tolist()))
        assert hid <= set(pairs) and hidden.shape[1] == len(hid)
        shown = {(min(u, v), max(u, v)) for u, v in set(pairs) - hid}
        expected = shown | {(v, u) for u, v in shown}
        assert set(zip(*visible.tolist())) == expected and visible.shape[1] == len(expected)
        one_sided += sum((v, u) not in hid for u, v in hid)
    assert one_sided > 0  # some hidden pair's reverse stayed visible: the case the symmetrization is for


def test_masked_target_refuses_hidden_pairs_that_are_not_training_edges():
    """``MaskedLinkTarget.from_hidden`` checks that each hidden pair is a pair of ``base`` (a non-edge is an
    InputError), so a held-out edge can never become a
    positive. (Mutant: the check dropped: the weight lands on a neighbouring positive.)"""
    import graphvae as gv
    from graphvae.objectives.likelihood import LinkTarget
    from graphvae.objectives.masking import MaskedLinkTarget

    edges = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    base = LinkTarget.from_edges(edges, 5)
    assert MaskedLinkTarget.from_hidden(base, torch.tensor([[1, 2], [2, 1]])).num_hidden == 2
    for bad in ([[0], [2]], [[3], [4]], [[4], [0]]):
        with pytest.raises(gv.InputError):
            MaskedLinkTarget.from_hidden(base, torch.tensor(bad))


# -------------------------------------------------------------------------------------------- corruption
def test_gaussian_corruption_accepts_a_level_above_one():
    r"""Gaussian noise has no upper bound on its level: ``level=1.5`` adds :math:`1.5\,\varepsilon` (sample std
    within 3% of 1.5), while masking and salt-and-pepper levels stay in [0, 1] and a negative level is refused.
    (Mutant: the ``noise == "gaussian"`` exemption dropped, so 1.5 is refused.)"""
    import graphvae as gv
    from graphvae.training.corruption import corrupt

    x = torch.rand(200, 50, generator=torch.Generator().manual_seed(0))
    noisy = corrupt(x, "gaussian", 1.5, torch.Generator().manual_seed(1))
    assert abs(float((noisy - x).std()) / 1.5 - 1) < 0.03
    for noise, level in (("salt_pepper", 1.5), ("gaussian", -0.1)):
        with pytest.raises(gv.InputError):
            corrupt(x, noise, level)


def test_hide_edges_keeps_the_visible_share_of_the_edges():
    """``hide_edges(e, 0.8)`` keeps each undirected edge with probability 0.2 (both directions together): on 300
    edges the kept share is within 5 binomial sds of 0.2, never 0.8. (Mutant: the hidden part returned.)"""
    from graphvae.training.corruption import hide_edges

    n = 300
    und = [(i, (i + 1) % n) for i in range(n)]
    edges = torch.tensor(und + [(v, u) for u, v in und]).T
    kept = hide_edges(edges, 0.8, torch.Generator().manual_seed(0))
    pairs = set(zip(*kept.tolist()))
    assert pairs <= set(zip(*edges.tolist())) and all((v, u) in pairs for u, v in pairs)
    share = len(pairs) / 2 / n
    assert abs(share - 0.2) < 5 * math.sqrt(0.2 * 0.8 / n)


def test_mask_features_accepts_fraction_one_and_masks_every_entry():
    """``fraction`` is in [0, 1] (1 is allowed: every stored entry zeroed, dense or sparse CSR), outside is refused.
    (Mutant: ``0 <= fraction < 1``.)"""
    import graphvae as gv
    from graphvae.training.corruption import mask_features

    x = torch.rand(5, 4) + 0.5
    assert torch.equal(mask_features(x, 1.0, torch.Generator().manual_seed(0)), torch.zeros(5, 4))
    sparse = mask_features(x.to_sparse_csr(), 1.0, torch.Generator().manual_seed(0))
    assert sparse.layout == torch.sparse_csr and torch.equal(sparse.to_dense(), torch.zeros(5, 4))
    with pytest.raises(gv.InputError):
        mask_features(x, 1.1)


def test_denoising_graph_batches_mask_features_at_their_own_rate():
    """``denoising_graph_batches(graph, hidden_edges=0.5, feature_mask=0.1, fold=False)``: the encoder's features
    (unpropagated with ``fold=False``) have about 10% of the all-ones entries zeroed (binomial, 1000 entries), not
    the edges' 50%; ``fold=True`` gives propagated features. (Mutant: the features masked at ``hidden_edges``.)"""
    from graphvae.data.graph import build_graph
    from graphvae.training.corruption import denoising_graph_batches

    n = 50
    src = np.arange(n)
    graph = build_graph(src, (src + 1) % n, n, x=np.ones((n, 20), dtype=np.float32))
    (inp, target), = denoising_graph_batches(graph, 0.5, 0.1, torch.Generator().manual_seed(0), fold=False)(0)
    assert not inp.propagated and target.num_positive == 2 * n + n  # the clean graph: every edge and self-loop
    zeros = float((inp.features == 0).float().mean())
    assert abs(zeros - 0.1) < 5 * math.sqrt(0.1 * 0.9 / 1000)
    assert denoising_graph_batches(graph, 0.5, 0.1, torch.Generator().manual_seed(0), fold=True)(0)[0][0].propagated


def test_denoising_image_batches_corrupt_the_input_and_keep_the_clean_target():
    """Each batch's encoder input is the masked batch and its target the clean one (rows of ``x``): the input's
    nonzero entries equal the target's, with about 40% zeroed. (Mutant: input and target swapped.)"""
    from graphvae.training.corruption import denoising_image_batches

    x = torch.rand(40, 25) + 0.1
    rows = {tuple(r.tolist()) for r in x}
    batches = list(denoising_image_batches(x, 16, "masking", 0.4, torch.Generator().manual_seed(0)))
    assert sum(int(t.shape[0]) for _, t in batches) == 40
    zeroed = []
    for inp, target in batches:
        assert all(tuple(r.tolist()) in rows for r in target)
        kept = inp.features != 0
        assert torch.equal(inp.features[kept], target[kept])
        zeroed.append((~kept).float().mean())
    assert abs(float(torch.stack(zeroed).mean()) - 0.4) < 0.1


# ------------------------------------------------------------------------ input checks and shapes (masking, latent)
def test_undirected_masking_refuses_edges_missing_from_the_target():
    """``UndirectedMasking(edges, n, base)`` checks that both directions of every edge are pairs of ``base`` (the
    edges it hides become the positives). (Mutant: the check dropped.)"""
    import graphvae as gv
    from graphvae.objectives.likelihood import LinkTarget
    from graphvae.objectives.masking import UndirectedMasking

    edges = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    base = LinkTarget.from_edges(edges[:, :4], 4)
    with pytest.raises(gv.InputError):
        UndirectedMasking(edges, 4, base)
    UndirectedMasking(edges[:, :4], 4, base)


def test_deterministic_posterior_samples_carry_the_sample_dimension():
    """A point-mass posterior's ``rsample(k)`` is ``mu`` repeated: shape ``[k, n, d]`` like a variational one.
    (Mutant: ``mu`` returned without the sample dimension.)"""
    mu = torch.randn(4, 2)
    z = Posterior(mu).rsample(3)
    assert z.shape == (3, 4, 2) and all(torch.equal(z[i], mu) for i in range(3))

