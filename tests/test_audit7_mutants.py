"""Tests added by a mutation-testing audit of the core maths: each kills a hand-made mutant that the rest of the
suite let through, against an independent reference (brute force on a tiny graph, numpy, torch.autograd)."""
import numpy as np
import pytest
import torch
from conftest import all_pair_logits, random_graph

import graphvae as gv
from graphvae.nn.encoder import GCNEncoder, edgeless_input
from graphvae.nn.operator import adjacency_matrix
from graphvae.objectives import penalties
from graphvae.objectives.edge_decoders import DecodedLinkLikelihood, HadamardMLPDecoder
from graphvae.objectives.likelihood import LinkTarget
from graphvae.objectives.masking import MaskedLinkTarget, mask_edges

logsig = lambda t: -np.logaddexp(0, -t)  # noqa: E731


# ----------------------------------------------------------------------------------------- operator
def test_adjacency_matrix_and_a_target_without_self_loops_drop_input_self_loops():
    """``adjacency_matrix`` is the symmetric 0/1 matrix *without* self-loops (brute force on a small list), so a
    ``LinkTarget`` built with ``self_loops=False`` has no diagonal positive even when the list has self-loops.
    (Mutant: ``keep = ei[0] != ei[1]`` dropped -- invisible to the GCN operator, whose A + I has one diagonal entry
    per row either way.)"""
    n = 6
    ei = np.array([[0, 1, 2, 2, 4, 5, 3], [1, 0, 3, 2, 4, 0, 3]])  # self-loops at 2, 4 and 3
    dense = np.zeros((n, n))
    for u, v in ei.T:
        if u != v:
            dense[u, v] = dense[v, u] = 1.0
    a = adjacency_matrix(ei, n)
    assert np.array_equal(a.toarray(), dense)
    target = LinkTarget.from_edges(ei, n, self_loops=False)
    rows, cols = target.positives.rows().numpy(), target.positives.col.long().numpy()
    assert set(zip(rows.tolist(), cols.tolist())) == set(zip(*np.nonzero(dense)))
    assert target.num_positive == target.num_edges == int(dense.sum())


# ------------------------------------------------------------------------------------ edge decoders
def test_decoded_likelihood_of_a_masked_target_has_only_the_hidden_edges_as_positives():
    """MaskGAE's objective with the MLP decoder: in expectation the class-balanced sum over the *hidden* pairs
    (weight |non-edges| / |hidden|) and over the non-training pairs, by brute force over all N² pairs. The visible
    training pairs are neither positives nor negatives. (Mutant: every training pair taken as a positive.)"""
    n = 25
    edges = torch.from_numpy(random_graph(n, 0.2, seed=4))
    base = LinkTarget.from_edges(edges, n)
    _, hidden = mask_edges(edges, 0.5, torch.Generator().manual_seed(3))
    target = MaskedLinkTarget.from_hidden(base, hidden)
    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(4, 8)
    lik = DecodedLinkLikelihood(decoder)
    z = torch.randn(n, 4)
    logits, is_train = all_pair_logits(decoder, z, edges)
    is_hidden = np.zeros((n, n), dtype=bool)
    is_hidden[hidden[0].numpy(), hidden[1].numpy()] = True
    assert 0 < is_hidden.sum() < is_train.sum() - n  # some training edges stay visible
    negatives = (~is_train).sum()
    exact = n * n / (2 * negatives) * (negatives / is_hidden.sum() * logsig(logits[is_hidden]).sum()
                                       + logsig(-logits[~is_train]).sum())
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        estimates = torch.stack([lik(z, target, g) for _ in range(300)]).double()
    assert abs(float(estimates.mean()) - exact) < 4 * float(estimates.std()) / 300 ** 0.5


class _TableDecoder(torch.nn.Module):
    """Logits read from a fixed ``[N, N]`` table (any decoder: the estimator must be unbiased for all of them)."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = table

    def forward(self, z, row, col):
        return self.table[row, col] + 0 * z[row, 0]


def _separating_table(n, is_positive, seed=0):
    """Random logits, but +4 on the positives: a decoder that tells positives apart, so a sampled pair whose
    positive-mask is misaligned changes the estimate."""
    t = torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    t[torch.from_numpy(is_positive)] = 4.0
    return t


def test_decoded_negative_sum_is_unbiased_for_a_decoder_that_separates_the_positives():
    """``N/k sum keep * log sigmoid(-l)`` over the sampled pairs has the brute-force non-edge sum as its
    expectation for *any* decoder; with one whose logits differ on the positives, a ``keep`` mask that belongs to
    other pairs than the scored ones is biased. (Mutant: the sampled pairs' columns taken from the transpose
    pattern, a uniform partner too, but not the one ``keep`` was computed for.)"""
    n = 25
    edges = torch.from_numpy(random_graph(n, 0.2, seed=4))
    target = LinkTarget.from_edges(edges, n)
    is_pos = np.eye(n, dtype=bool)
    is_pos[edges[0].numpy(), edges[1].numpy()] = True
    table = _separating_table(n, is_pos)
    lik = DecodedLinkLikelihood(_TableDecoder(table))
    z = torch.zeros(n, 2, dtype=torch.float64)
    exact = logsig(-table.numpy())[~is_pos].sum()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        estimates = torch.stack([lik.negative_sum(z, None, target, g) for _ in range(400)])
    assert abs(float(estimates.mean()) - exact) < 4 * float(estimates.std()) / 400 ** 0.5 + 1e-9


def test_a_single_layer_mlp_decoder_has_no_dropout_on_its_input():
    """Dropout goes on the input of every layer *but the last*: a one-layer decoder in training mode is
    exactly ``w . (z_i * z_j) + b`` (numpy). (Mutant: the first layer's input dropped whenever ``dropout > 0``.)"""
    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(5, layers=1, dropout=0.5).train()
    z = torch.randn(12, 5)
    row, col = torch.randint(0, 12, (2, 40))
    w, b = decoder.linears[0].weight.detach().numpy(), decoder.linears[0].bias.detach().numpy()
    zn = z.numpy().astype(np.float64)
    expected = (zn[row] * zn[col]) @ w[0].astype(np.float64) + b[0]
    with torch.no_grad():
        assert np.allclose(decoder(z, row, col).numpy(), expected, atol=1e-5)


def test_degree_decoder_is_deterministic_in_eval_mode():
    """``d_i = MLP(z_i)`` with dropout on the hidden units in training only: in eval mode the output is the plain
    two-layer ReLU network (numpy). (Mutant: the degree decoder's dropout applied in eval mode.)"""
    from graphvae.objectives.edge_decoders import DegreeDecoder

    torch.manual_seed(0)
    dec = DegreeDecoder(4, hidden=16, dropout=0.5)
    z = torch.randn(30, 4)
    (w1, b1), (w2, b2) = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                          for m in (dec.mlp[0], dec.mlp[2])]
    expected = (np.maximum(z.double().numpy() @ w1.T + b1, 0) @ w2.T + b2)[:, 0]
    dec.eval()
    with torch.no_grad():
        assert np.allclose(dec(z).numpy(), expected, atol=1e-5)
        dec.train()
        assert not np.allclose(dec(z).numpy(), expected, atol=1e-5)  # dropout does act in training


# ------------------------------------------------------------------------------------------ masking
def test_masked_likelihood_without_reweighting_is_the_plain_bernoulli_sum():
    """``reweight=False``: ``sum_H log sigma(s) + sum_{not T} log sigma(-s)`` in expectation, brute force over all
    N² pairs (the existing test covers the class-balanced default only). (Mutant: the non-edge term halved.)"""
    from graphvae.objectives.masking import MaskedLinkLikelihood

    n = 30
    edges = torch.from_numpy(random_graph(n, 0.15, seed=2))
    base = LinkTarget.from_edges(edges, n)
    _, hidden = mask_edges(edges, 0.5, torch.Generator().manual_seed(1))
    target = MaskedLinkTarget.from_hidden(base, hidden)
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(5)) * 0.7
    s = (z @ z.T).double().numpy()
    is_train = np.eye(n, dtype=bool)
    is_train[edges[0], edges[1]] = True
    is_hidden = np.zeros((n, n), dtype=bool)
    is_hidden[hidden[0], hidden[1]] = True
    exact = logsig(s[is_hidden]).sum() + logsig(-s[~is_train]).sum()
    lik = MaskedLinkLikelihood(reweight=False)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        estimates = torch.stack([lik(z, target, g) for _ in range(300)]).double()
    assert abs(float(estimates.mean()) - exact) < 4 * float(estimates.std()) / 300 ** 0.5 + 1e-6 * abs(exact)


# ------------------------------------------------------------------------------------------ sampler
def test_block_relabelling_is_random_inside_each_block():
    """The cache-sized relabelling maps each run of ``B`` positions onto one block of ``B`` consecutive nodes,
    blocks *and the order inside each block* random: over many draws, the node at position 0 takes each of its
    block's ``B`` offsets about equally often. (Mutant: the order inside a block left as the identity.)"""
    from graphvae.objectives.likelihood import _relabelling

    n, block, draws = 22, 4, 2000
    g = torch.Generator().manual_seed(0)
    firsts = []
    for _ in range(draws):
        p = _relabelling(n, block, g, "cpu")
        assert torch.equal(p.sort().values, torch.arange(n))
        full = (n // block) * block
        blocks = p[:full].view(-1, block) // block
        assert (blocks == blocks[:, :1]).all()                 # each run of B positions: one block of nodes
        assert torch.equal(p[full:].sort().values, torch.arange(full, n))  # the partial last block onto itself
        firsts.append(int(p[0]) % block)
    freq = np.bincount(firsts, minlength=block) / draws
    assert np.abs(freq - 1 / block).max() < 5 * np.sqrt((1 / block) * (1 - 1 / block) / draws)


# ---------------------------------------------------------------------------------------- penalties
def test_hutchinson_with_few_probes_is_unbiased():
    """``(1/P) sum_p |J^T v_p|^2`` is unbiased for ``|J|_F^2`` for any ``P``: with ``P = 3`` probes per row, the
    mean over 4000 copies of one input (independent probes per row) matches the exact norm of ``torch.func.jacrev``.
    (The existing test uses 4000 probes, where dividing by ``P + 1`` instead of ``P`` is invisible.)"""
    torch.manual_seed(3)
    encoder = GCNEncoder(9, (7,), 4, variational=False, activation=torch.sigmoid)
    x = torch.rand(1, 9)

    def f(v):
        return encoder(edgeless_input(v[None])).mu[0]

    exact = float(torch.func.jacrev(f)(x[0]).detach().square().sum())
    inp = edgeless_input(x.expand(4000, -1).contiguous())
    estimate = penalties.jacobian_sq_norm(encoder, inp, "hutchinson", num_probes=3,
                                          generator=torch.Generator().manual_seed(0))
    assert estimate.shape == (4000,)
    assert float(estimate.mean()) == pytest.approx(exact, rel=0.06)


# --------------------------------------------------------------------------------------------- ARGA
def _numpy_discriminator(disc, v):
    """``D``'s logits by hand (numpy float64) from the module's weights."""
    h = np.asarray(v, dtype=np.float64)
    linears = [m for m in disc.mlp if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(linears):
        h = h @ lin.weight.detach().double().numpy().T + lin.bias.detach().double().numpy()
        if i < len(linears) - 1:
            h = np.maximum(h, 0)
    return h[:, 0]


def test_argva_penalty_and_discriminator_step_use_the_posterior_means():
    """ARGVA regularizes the posterior means: with a variational posterior the penalty is
    ``lambda c mean softplus(-D(mu))`` (numpy) and the discriminator is trained on ``mu`` itself, against prior
    draws that are standard normal. (Mutants: a posterior sample in place of ``mu`` in the penalty or in the
    discriminator's step; uniform instead of normal prior draws.)"""
    from graphvae.objectives.adversarial import AdversarialPenalty, Discriminator, DiscriminatorStep
    from graphvae.objectives.elbo import ELBOTerms

    torch.manual_seed(0)
    disc = Discriminator(2, hidden=8)
    mu, logstd = torch.randn(4000, 2), torch.full((4000, 2), 0.5)
    post = gv.Posterior(mu, logstd)
    expected = np.mean(np.logaddexp(0, -_numpy_discriminator(disc, mu.numpy())))
    penalty = AdversarialPenalty(disc, weight=0.5)
    assert float(penalty(None, post, [], None, units=9.0).detach()) == pytest.approx(0.5 * 9 * expected, rel=1e-5)

    seen = []
    disc.register_forward_hook(lambda module, inputs, out: seen.append(inputs[0].detach().clone()))
    step = DiscriminatorStep(disc, steps=1)
    terms = ELBOTerms(torch.zeros(()), torch.zeros(()), torch.zeros(()), 1.0, 1.0, post)
    step(terms, torch.Generator().manual_seed(1))
    prior, embedded = seen
    assert torch.equal(embedded, mu)
    assert prior.shape == mu.shape
    assert abs(float(prior.mean())) < 0.05 and abs(float(prior.std()) - 1) < 0.05
    assert 0.45 < float((prior < 0).double().mean()) < 0.55


# ------------------------------------------------------------------------------------------ metrics
def test_link_probabilities_are_the_sigmoid_of_the_inner_products():
    """``link_probabilities`` is ``sigma(z_u . z_v)`` (numpy): probabilities, not logits. AUC and AP are invariant
    under the monotone sigmoid, so only a direct check sees it. (Mutant: the sigmoid dropped.)"""
    from graphvae.evaluation.metrics import link_probabilities

    z = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    pairs = torch.tensor([[0, 1, 2, 9, 4], [5, 1, 7, 3, 8]])
    zn = z.double().numpy()
    expected = 1 / (1 + np.exp(-(zn[pairs[0]] * zn[pairs[1]]).sum(1)))
    got = link_probabilities(z, pairs)
    assert np.allclose(got, expected, atol=1e-6) and ((got > 0) & (got < 1)).all()
