"""The named graph autoencoders beyond the paper: normalized encoder, edge masking, edge/degree decoders, ARGA."""
import networkx as nx
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphvae as gv
from graphvae.objectives import elbo as elbo_module
from graphvae.training import trainer as train_module
from graphvae.objectives.adversarial import (AdversarialPenalty, Discriminator, DiscriminatorStep, discriminator_loss,
                                  regularizer_loss)
from graphvae.objectives.edge_decoders import DecodedLinkLikelihood, DegreeDecoder, HadamardMLPDecoder
from graphvae.nn.encoder import EncoderInput
from graphvae.objectives.likelihood import LinkTarget
from graphvae.objectives.masking import MaskedLinkLikelihood, MaskedLinkTarget, mask_edges, masked_degrees
from graphvae.nn.operator import SparseOperator, normalized_adjacency
from graphvae.estimators.zoo import MODELS, NAMES, make_model, model_config

from conftest import all_pair_logits, random_graph


def _pairs(edge_index) -> set:
    e = np.asarray(edge_index)
    return set(zip(e[0].tolist(), e[1].tolist()))


def _dense_gcn_operator(edge_index: np.ndarray, n: int) -> np.ndarray:
    a = np.eye(n)
    a[edge_index[0], edge_index[1]] = 1.0
    d = 1 / np.sqrt(a.sum(1))
    return d[:, None] * a * d[None, :]


# ------------------------------------------------------------------------------------ normalized encoder
def test_normalized_head_has_norm_scale_before_propagation():
    n, f, d, scale = 12, 7, 5, 1.8
    x = torch.randn(n, f)
    enc = gv.GCNEncoder(f, (), d, variational=False, bias=True, normalize=scale)
    # an edgeless graph: no propagation, so the output rows are exactly the normalized head
    z = enc(EncoderInput(x, SparseOperator(None, n=n), propagated=True)).mu.detach().numpy()
    assert np.allclose(np.linalg.norm(z, axis=1), scale, atol=1e-5)
    # with edges: Â times the rows of XW + b scaled to norm s, against a dense hand-built Â
    edges = random_graph(n, 0.3, seed=1)
    out = enc(gv.encoder_input(x, normalized_adjacency(edges, n), fold=False)).mu.detach().numpy()
    pre = x.numpy() @ enc.head.weight.detach().numpy() + enc.head.bias.detach().numpy()
    pre = scale * pre / np.linalg.norm(pre, axis=1, keepdims=True)
    assert np.allclose(out, _dense_gcn_operator(edges, n) @ pre, atol=1e-5)
    with pytest.raises(ValueError, match="fold=False"):
        enc(gv.encoder_input(x, normalized_adjacency(edges, n)))


def test_variational_normalized_head_leaves_logstd_unnormalized():
    n = 6
    enc = gv.GCNEncoder(4, (), 3, variational=True, normalize=2.0)
    post = enc(EncoderInput(torch.randn(n, 4), SparseOperator(None, n=n), propagated=True))
    assert np.allclose(post.mu.norm(dim=1).detach().numpy(), 2.0, atol=1e-5)
    assert not np.allclose(post.logstd.norm(dim=1).detach().numpy(), 2.0, atol=1e-2)


def test_batch_norm_and_head_activation_match_torch_batchnorm_on_a_tiny_graph():
    n, f, h, d = 9, 5, 4, 3
    torch.manual_seed(0)
    x, edges = torch.randn(n, f), random_graph(n, 0.4, seed=2)
    enc = gv.GCNEncoder(f, (h,), d, variational=False, bias=True, batch_norm=True, head_activation=F.elu)
    ref = [torch.nn.BatchNorm1d(h), torch.nn.BatchNorm1d(d)]
    with torch.no_grad():  # non-trivial affine parameters, copied into the reference
        for norm, r in zip(enc.norms, ref):
            norm.weight.uniform_(0.5, 2.0), norm.bias.uniform_(-1.0, 1.0)
            r.load_state_dict(norm.state_dict())
    a = torch.tensor(_dense_gcn_operator(edges, n), dtype=torch.float32)
    inp = gv.encoder_input(x, normalized_adjacency(edges, n))

    def by_hand():  # no bias before a batch norm: its shift is the layer's bias
        h1 = torch.relu(ref[0](a @ (x @ enc.layers[0].weight)))
        return F.elu(ref[1](a @ (h1 @ enc.head.weight)))

    assert enc.layers[0].bias is None and enc.head.bias is None and enc.logstd_bias is None

    enc.train(), [r.train() for r in ref]
    assert torch.allclose(enc(inp).mu, by_hand(), atol=1e-5)  # batch statistics
    enc.eval(), [r.eval() for r in ref]
    assert torch.allclose(enc(inp).mu, by_hand(), atol=1e-5)  # the running statistics both updated once
    assert not torch.allclose(enc.norms[1].running_mean, torch.zeros(d))


def test_batch_norm_layers_have_no_bias_before_it_and_a_variational_head_keeps_log_sigmas():
    # a bias right before batch normalization has gradient 0 up to rounding; Adam turned the rounding into steps
    n, f, d = 9, 5, 3
    torch.manual_seed(0)
    x, edges = torch.randn(n, f), random_graph(n, 0.4, seed=2)
    enc = gv.GCNEncoder(f, (4,), d, variational=True, batch_norm=True)
    assert enc.layers[0].bias is None and enc.head.bias is None and enc.logstd_bias.shape == (d,)
    assert sum(p.numel() for p in enc.parameters()) == 5 * 4 + 4 * 2 * d + d + 2 * (4 + d)  # W1, W2, b_logsigma, BN
    a = torch.tensor(_dense_gcn_operator(edges, n), dtype=torch.float32)
    inp = gv.encoder_input(x, normalized_adjacency(edges, n))
    with torch.no_grad():
        enc.logstd_bias.uniform_(-1.0, 1.0)
    h1 = torch.relu(F.batch_norm(a @ (x @ enc.layers[0].weight), None, None, training=True))
    out = a @ (h1 @ enc.head.weight)
    post = enc(inp)
    assert torch.allclose(post.logstd, out[:, d:] + enc.logstd_bias, atol=1e-5)
    assert torch.allclose(post.mu, F.batch_norm(out[:, :d], None, None, training=True), atol=1e-5)
    normalized = gv.GCNEncoder(f, (), d, variational=False, batch_norm=True, normalize=1.8)
    assert normalized.head.bias is not None  # added before the row normalization: not subtracted by the batch norm


def test_a_batch_norm_model_trains_the_same_on_one_and_two_threads():
    graph, threads = gv.as_graph(nx.karate_club_graph()), torch.get_num_threads()
    z = []
    try:
        for t in (1, 2):
            torch.set_num_threads(t)
            z.append(make_model("maskgae", random_state=0, epochs=60, latent=16, early_stopping=False,
                                progress=False).fit(graph).embed())
    finally:
        torch.set_num_threads(threads)
    # with the bias before the batch norm the two differed by 0.16 after 100 epochs (1e-6 without it)
    assert np.abs(z[0] - z[1]).max() < 1e-4


def test_encoder_dropout_drops_sparse_feature_entries_in_training_only():
    import scipy.sparse as sp

    x = sp.random(200, 50, density=0.2, format="csr", dtype="float32", random_state=0)
    enc = gv.GCNEncoder(50, (), 4, variational=False, dropout=0.6)
    feats = gv.encoder_input(x, normalized_adjacency(random_graph(200, 0.02, seed=1), 200), fold=False).features
    torch.manual_seed(0)
    dropped = enc._drop(feats).csr.to_dense().numpy()
    dense = x.toarray()
    kept = dropped != 0
    assert not (kept & (dense == 0)).any()  # only stored entries, each zeroed or scaled by 1 / (1 - p)
    assert np.allclose(dropped[kept], dense[kept] / 0.4, rtol=1e-5)
    assert abs(kept.sum() / (dense != 0).sum() - 0.4) < 0.03
    enc.eval()
    assert enc._drop(feats) is feats


# ------------------------------------------------------------------------------------------- masking
@pytest.fixture(scope="module")
def small_split():
    graph = gv.degree_corrected_sbm(150, edges_per_node=4, num_blocks=3, num_features=8, seed=3)
    return gv.split_edges(graph, seed=0)


@pytest.mark.parametrize("rate", [0.0, 0.4, 0.95])
def test_undirected_masking_gives_the_general_path_bit_for_bit(rate):
    """``UndirectedMasking.draw`` against ``mask_edges`` + ``normalized_adjacency`` + ``MaskedLinkTarget.from_hidden``
    from the same generator state: the same Â (pattern, index dtype and float32 values) and the same target, on a
    graph with a duplicated edge (drawn twice, as mask_edges does) and with the identity when nothing is visible."""
    from graphvae.objectives.masking import UndirectedMasking

    n = 40
    edges = torch.from_numpy(random_graph(n, 0.15, seed=6))
    edges = torch.cat([edges, edges[:, :1], edges[:, :1].flip(0)], dim=1)  # one edge listed twice
    base = LinkTarget.from_edges(edges, n)
    masking = UndirectedMasking(edges, n, base)
    for seed in range(4):
        adj, target = masking.draw(rate, torch.Generator().manual_seed(seed))
        visible, hidden = mask_edges(edges, rate, torch.Generator().manual_seed(seed))
        expected = normalized_adjacency(visible.numpy(), n)
        assert adj.is_identity == expected.is_identity
        if not adj.is_identity:
            for a, b in [(adj.csr.crow_indices(), expected.csr.crow_indices()),
                         (adj.csr.col_indices(), expected.csr.col_indices()),
                         (adj.csr.values(), expected.csr.values())]:
                assert a.dtype == b.dtype and torch.equal(a, b)
        reference = MaskedLinkTarget.from_hidden(base, hidden)
        assert torch.equal(target.weights, reference.weights)
        assert torch.equal(target.hidden_edge_index, reference.hidden_edge_index)
    everything = UndirectedMasking(edges, n, base).draw(0.999999, torch.Generator().manual_seed(0))[0]
    assert everything.is_identity


def test_masked_positives_are_exactly_the_hidden_edges(small_split):
    train = small_split.train_edge_index
    visible, hidden = mask_edges(train, 0.6, torch.Generator().manual_seed(0))
    vis, hid, tr = _pairs(visible), _pairs(hidden), _pairs(train)
    assert vis | hid == tr and not vis & hid
    assert all((v, u) in hid for u, v in hid) and 0.45 < len(hid) / len(tr) < 0.75
    target = MaskedLinkTarget.from_hidden(LinkTarget.from_edges(train, small_split.num_nodes), hidden)
    rows = target.base.positives.rows().numpy()
    cols = target.base.positives.col.long().numpy()
    w = target.weights.numpy()
    assert _pairs(np.stack([rows[w == 1], cols[w == 1]])) == hid
    assert set(np.unique(w)) <= {0.0, 1.0} and target.num_hidden == len(hid)


def test_masking_never_shows_validation_or_test_edges(monkeypatch, small_split):
    held_out = set()
    for e in (small_split.val_pos, small_split.test_pos):
        held_out |= _pairs(e) | _pairs(e.flip(0))
    seen = []
    original = elbo_module.ELBO.forward

    def spy(self, inp, target, generator=None):
        seen.append((inp, target))
        return original(self, inp, target, generator)

    monkeypatch.setattr(elbo_module.ELBO, "forward", spy)
    for name in ("masked-gnae", "maskgae"):
        make_model(name, epochs=3, early_stopping=False).fit(small_split)
    assert len(seen) == 6
    for inp, target in seen:
        a = inp.adj.to_scipy().tocoo()
        assert not _pairs(np.stack([a.row, a.col])) & held_out  # encoder graph
        rows, cols = target.base.positives.rows().numpy(), target.base.positives.col.long().numpy()
        w = target.weights.numpy() > 0
        assert not _pairs(np.stack([rows[w], cols[w]])) & held_out  # positives
        assert not _pairs(np.stack([rows, cols])) & held_out  # nor the excluded (training) pairs


def test_masked_likelihood_matches_the_exact_sum_in_expectation():
    n = 30
    edges = torch.from_numpy(random_graph(n, 0.15, seed=2))
    base = LinkTarget.from_edges(edges, n)
    _, hidden = mask_edges(edges, 0.5, torch.Generator().manual_seed(1))
    target = MaskedLinkTarget.from_hidden(base, hidden)
    z = torch.randn(n, 4) * 0.7
    s = (z @ z.T).numpy().astype(np.float64)
    logsig = lambda t: -np.logaddexp(0, -t)
    is_train = np.eye(n, dtype=bool)
    is_train[edges[0], edges[1]] = True
    is_hidden = np.zeros((n, n), dtype=bool)
    is_hidden[hidden[0], hidden[1]] = True
    negatives = (~is_train).sum()
    exact = n * n / (2 * negatives) * (negatives / is_hidden.sum() * logsig(s[is_hidden]).sum()
                                       + logsig(-s[~is_train]).sum())
    lik = MaskedLinkLikelihood()
    g = torch.Generator().manual_seed(0)
    estimates = torch.stack([lik(z, target, g) for _ in range(300)]).double()
    assert abs(float(estimates.mean()) - exact) < 4 * float(estimates.std()) / 300 ** 0.5 + 1e-6 * abs(exact)


# ----------------------------------------------------------------------------- edge and degree decoders
def test_decoded_likelihood_matches_the_exact_sum_in_expectation():
    n = 25
    edges = torch.from_numpy(random_graph(n, 0.2, seed=4))
    target = LinkTarget.from_edges(edges, n)
    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(4, 8)
    lik = DecodedLinkLikelihood(decoder)
    z = torch.randn(n, 4)
    logits, pos = all_pair_logits(decoder, z, edges)
    with torch.no_grad():
        negatives = (~pos).sum()
        logsig = lambda t: -np.logaddexp(0, -t)
        exact = n * n / (2 * negatives) * (negatives / pos.sum() * logsig(logits[pos]).sum()
                                           + logsig(-logits[~pos]).sum())
        g = torch.Generator().manual_seed(0)
        estimates = torch.stack([lik(z, target, g) for _ in range(400)]).double()
    assert abs(float(estimates.mean()) - exact) < 4 * float(estimates.std()) / 400 ** 0.5
    # the decoder is symmetric in (i, j)
    assert np.allclose(logits, logits.T, atol=1e-5)


def test_mlp_decoder_in_checkpointed_chunks_equals_one_pass():
    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(6, 5)
    z = torch.randn(30, 6, requires_grad=True)
    row, col = torch.randint(0, 30, (2, 100))
    whole = decoder(z, row, col)
    grads = torch.autograd.grad(whole.square().sum(), [z, *decoder.parameters()])
    decoder.chunk = 7  # 15 chunks, each recomputed in backward
    chunked = decoder(z, row, col)
    assert torch.allclose(chunked, whole, atol=1e-6)
    for a, b in zip(torch.autograd.grad(chunked.square().sum(), [z, *decoder.parameters()]), grads):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("masked,bias", [(True, True), (False, True), (True, False)])
def test_hadamard_linear_gradients_pass_gradcheck(masked, bias):
    """The hand-written backward of the decoder's first layer against finite differences (float64), with two
    different embeddings at ``row`` and ``col`` so each input's gradient is checked on its own."""
    from graphvae.objectives.edge_decoders import HadamardLinear

    g = torch.Generator().manual_seed(0)
    z_row, z_col = (torch.randn(7, 5, dtype=torch.float64, generator=g, requires_grad=True) for _ in range(2))
    row, col = torch.randint(0, 7, (2, 13), generator=g)  # repeated nodes: the scatter must add
    weight = torch.randn(3, 5, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, generator=g, requires_grad=True) if bias else None
    mask = (torch.rand(13, 5, dtype=torch.float64, generator=g) > 0.3) * 1.5 if masked else None
    inputs = (z_row, z_col, row, col, weight, b, mask)
    assert torch.autograd.gradcheck(HadamardLinear.apply, inputs)


def test_hadamard_linear_is_bitwise_the_autograd_of_the_plain_layers():
    """``HadamardLinear`` against ``linear((z[row] * z[col]) * mask)`` through autograd, on one ``z``:
    the same outputs and the same gradients, bit for bit (float32)."""
    from graphvae.nn.dropout import dropout_mask
    from graphvae.objectives.edge_decoders import HadamardLinear

    torch.manual_seed(0)
    z = torch.randn(50, 16, requires_grad=True)
    row, col = torch.randint(0, 50, (2, 400))
    linear = torch.nn.Linear(16, 8)
    mask = dropout_mask((400, 16), 0.2)
    grad = torch.randn(400, 8)
    plain = linear(z.index_select(0, row) * z.index_select(0, col) * mask)
    expected = torch.autograd.grad(plain, [z, *linear.parameters()], grad)
    fused = HadamardLinear.apply(z, z, col, row, linear.weight, linear.bias, mask)
    assert torch.equal(fused, plain)
    for a, b in zip(torch.autograd.grad(fused, [z, *linear.parameters()], grad), expected):
        assert torch.equal(a, b)


@pytest.mark.parametrize("masked", [True, False])
def test_hadamard_linear_in_bfloat16_is_the_float64_layer_on_rounded_values(masked):
    """``compute_dtype=torch.bfloat16``: each matrix product is the exact (float64) product of the bfloat16-rounded
    factors, itself rounded to bfloat16 (as under ``torch.autocast``), returned as float32. The reference is written
    out by hand in float64, rounding U, W, the output's gradient G and each product's result; the kernels
    accumulate in float32 and may round the other way at a tie, so the comparison allows 1-2 bfloat16 steps."""
    from graphvae.nn.dropout import dropout_mask
    from graphvae.objectives.edge_decoders import HadamardLinear

    torch.manual_seed(0)
    z = torch.randn(50, 16, requires_grad=True)
    row, col = torch.randint(0, 50, (2, 400))
    linear = torch.nn.Linear(16, 8)
    mask = dropout_mask((400, 16), 0.2) if masked else None
    grad = torch.randn(400, 8)
    out = HadamardLinear.apply(z, z, col, row, linear.weight, linear.bias, mask, torch.bfloat16)
    grads = torch.autograd.grad(out, [z, linear.weight, linear.bias], grad)
    assert out.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads)

    rounded = lambda t: t.detach().to(torch.bfloat16).double()
    zr, zc = z.detach()[col].double(), z.detach()[row].double()
    m = mask.double() if masked else torch.ones(400, 16, dtype=torch.float64)
    u = ((zr * zc).float() * m.float()).double()                       # the float32 product, masked in float32
    w, g = rounded(linear.weight), rounded(grad)
    expected_out = rounded(rounded(u) @ w.T) + linear.bias.detach().double()
    grad_u = rounded(g @ w) * m
    expected_z = torch.zeros(50, 16, dtype=torch.float64).index_add_(0, col, grad_u * zc).index_add_(0, row, grad_u * zr)
    expected = (expected_z, rounded(g.T @ rounded(u)), grad.double().sum(0))
    step = 2.0 ** -7  # two bfloat16 steps, relative
    assert torch.allclose(out.double(), expected_out, rtol=step, atol=1e-6)
    for a, b in zip(grads, expected):
        assert torch.allclose(a.double(), b, rtol=step, atol=step * float(b.abs().mean()))
    # and it is not the float32 layer: the rounding shows (so the option is not silently ignored)
    plain = HadamardLinear.apply(z, z, col, row, linear.weight, linear.bias, mask)
    assert not torch.equal(out, plain) and torch.allclose(out, plain, rtol=0.05, atol=0.05)


def test_decoder_precision_option_reaches_the_decoder_and_is_validated():
    model = gv.VGAE(decoder="mlp", decoder_precision="bfloat16", mask_rate=0.5, epochs=1)
    assert model._likelihood().decoder.precision == "bfloat16"
    assert gv.GAE(decoder="mlp").get_params()["decoder_precision"] == "float32"
    with pytest.raises(gv.InputError, match="decoder_precision"):
        gv.VGAE(decoder="mlp", decoder_precision="float16").fit(gv.as_graph(nx.karate_club_graph()))
    with pytest.raises(ValueError, match="precision"):
        HadamardMLPDecoder(4, 8, precision="half")
    # a float64 model stays float64 around the bfloat16 products: its output and every gradient
    decoder = HadamardMLPDecoder(4, 8, precision="bfloat16").double()
    z = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    out = decoder(z, torch.tensor([0, 1, 2]), torch.tensor([3, 4, 0]))
    out.sum().backward()
    assert out.dtype == z.grad.dtype == decoder.linears[0].weight.grad.dtype == torch.float64


def test_degree_decoder_target_is_the_masked_degree():
    n = 20
    edges = torch.from_numpy(random_graph(n, 0.3, seed=5))
    _, hidden = mask_edges(edges, 0.5, torch.Generator().manual_seed(2))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(hidden.T.tolist())
    assert masked_degrees(hidden, n).tolist() == [float(g.degree(i)) for i in range(n)]
    # the likelihood's degree term is -weight * n / 2 * sum((d_hat - d)^2) against those degrees
    target = MaskedLinkTarget.from_hidden(LinkTarget.from_edges(edges, n), hidden)
    torch.manual_seed(0)
    decoder, degree = HadamardMLPDecoder(3, 8), DegreeDecoder(3, 8)
    z = torch.randn(n, 3)
    with_degree = DecodedLinkLikelihood(decoder, degree_decoder=degree, degree_weight=0.01)
    without = DecodedLinkLikelihood(decoder)
    a = with_degree(z, target, torch.Generator().manual_seed(3))
    b = without(z, target, torch.Generator().manual_seed(3))
    d = np.array([g.degree(i) for i in range(n)], dtype=float)
    expected = -0.01 * n / 2 * ((degree(z).detach().double().numpy() - d) ** 2).sum()
    assert float((a - b).detach()) == pytest.approx(expected, rel=1e-4, abs=1e-4)


# ---------------------------------------------------------------------------------------------- ARGA
def test_arga_losses_equal_a_hand_computation():
    disc = Discriminator(2, hidden=3)
    linears = [m for m in disc.mlp if isinstance(m, torch.nn.Linear)]
    weights = [np.array([[0.5, -1.0], [0.3, 0.2], [-0.4, 0.7]]), np.eye(3) * 0.5 + 0.1, np.array([[1.0, -0.5, 0.25]])]
    biases = [np.array([0.1, 0.0, -0.2]), np.zeros(3), np.array([0.05])]
    with torch.no_grad():
        for lin, w, b in zip(linears, weights, biases):
            lin.weight.copy_(torch.tensor(w, dtype=torch.float32))
            lin.bias.copy_(torch.tensor(b, dtype=torch.float32))
    z = np.array([[0.2, -0.3], [1.0, 0.5], [-0.7, 0.1]])
    prior = np.array([[0.0, 1.0], [-1.2, 0.4], [0.3, 0.3]])

    def d(v):
        h = np.maximum(v @ weights[0].T + biases[0], 0)
        h = np.maximum(h @ weights[1].T + biases[1], 0)
        return 1 / (1 + np.exp(-(h @ weights[2].T + biases[2])[:, 0]))

    expected_d = -np.mean(np.log(d(prior))) - np.mean(np.log(1 - d(z)))
    expected_reg = -np.mean(np.log(d(z)))
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    assert float(discriminator_loss(disc, t(prior), t(z)).detach()) == pytest.approx(expected_d, rel=1e-5)
    assert float(regularizer_loss(disc, t(z)).detach()) == pytest.approx(expected_reg, rel=1e-5)
    penalty = AdversarialPenalty(disc, weight=0.5)
    assert not list(penalty.parameters())  # the discriminator is not an ELBO parameter
    post = gv.Posterior(t(z))
    assert float(penalty(None, post, [], None, units=9.0).detach()) == pytest.approx(0.5 * 9 * expected_reg, rel=1e-5)


def test_discriminator_step_lowers_its_loss_and_only_touches_the_discriminator():
    torch.manual_seed(0)
    disc = Discriminator(2)
    step = DiscriminatorStep(disc, lr=0.01)
    z = torch.randn(200, 2) * 0.2 + 2.0  # far from the prior: easy to tell apart
    terms = type("T", (), {"posterior": gv.Posterior(z.requires_grad_())})()
    g = torch.Generator().manual_seed(0)
    step(terms, g)
    first = step.last_loss
    for _ in range(50):
        step(terms, g)
    assert step.last_loss < first and z.grad is None


# ------------------------------------------------------------------------------ shared trainer and ELBO
def test_every_model_trains_through_the_shared_trainer_and_elbo(monkeypatch, small_split):
    calls = {"train": 0, "elbo": 0}
    original_train, original_forward = train_module.train_elbo, elbo_module.ELBO.forward

    def train_spy(*args, **kwargs):
        calls["train"] += 1
        return original_train(*args, **kwargs)

    def forward_spy(self, inp, target, generator=None):
        calls["elbo"] += 1
        return original_forward(self, inp, target, generator)

    import graphvae.estimators.models as models_module
    monkeypatch.setattr(models_module, "train_elbo", train_spy)
    monkeypatch.setattr(elbo_module.ELBO, "forward", forward_spy)
    assert set(NAMES) == set(MODELS) | {"best"}
    for name in NAMES:
        before = dict(calls)
        model = make_model(name, epochs=2, patience=5).fit(small_split)
        assert isinstance(model.objective_, elbo_module.ELBO)
        assert calls["train"] == before["train"] + 1 and calls["elbo"] == before["elbo"] + 2, name
        assert np.isfinite(model.score(small_split.test_pos, small_split.test_neg)["auc"])


def test_maskgae_wide_is_maskgae_with_a_wider_decoder_more_partners_and_a_heavier_degree_term():
    """maskgae-wide is the published MaskGAE configuration (maskgae) with two widths and the degree decoder's
    weight changed, nothing else; best is maskgae-wide with its snapshot ensemble, nothing else."""
    wide, base = model_config("maskgae-wide"), model_config("maskgae")
    assert {k for k in wide if wide[k] != base.get(k)} == {"decoder_hidden", "negatives_per_positive", "degree_weight"}
    assert (base["decoder_hidden"], base["negatives_per_positive"], base["degree_weight"]) == (32, 0.5, 3e-3)
    assert (wide["decoder_hidden"], wide["negatives_per_positive"], wide["degree_weight"]) == (64, 1.0, 1e-2)
    assert model_config("best") == {**wide, "snapshots": 50} and set(wide) == set(base)
    model = make_model("best", random_state=0)
    assert (model.decoder, model.decoder_hidden, model.negatives_per_positive, model.mask_rate) == ("mlp", 64, 1.0, 0.4)


def test_paper_models_keep_the_paper_defaults():
    for name, variational in (("gae", False), ("vgae", True)):
        m = make_model(name)
        assert (m.hidden, m.latent, m.epochs, m.lr, m.variational, m.early_stopping) == (32, 16, 200, 0.01, variational, False)
        assert (m.normalize, m.mask_rate, m.decoder, m.adversarial, m.bias) == (None, 0.0, "inner", 0.0, False)


def _planted_partition_with_word_features(n: int = 300, blocks: int = 4, words: int = 200, degree: float = 3.0):
    """A tiny sparse SBM (80% of the edges inside blocks) with Cora-like binary bag-of-words features:
    each block has a topic (10% of the words), used by its nodes with probability 0.3, other words 0.02."""
    rng = np.random.default_rng(0)
    block = rng.integers(0, blocks, n)
    p_in, p_out = degree * 0.8 / (n / blocks), degree * 0.2 / (n - n / blocks)
    a = np.triu(rng.random((n, n)) < np.where(block[:, None] == block[None, :], p_in, p_out), 1)
    topic = rng.random((blocks, words)) < 0.1
    x = (rng.random((n, words)) < np.where(topic[block], 0.3, 0.02)).astype(np.float32)
    return gv.build_graph(*np.nonzero(a), n, x=x)


def test_best_beats_gae_on_a_planted_partition_graph():
    graph = _planted_partition_with_word_features()
    best, gae = [], []
    for seed in (0, 1):
        split = gv.split_edges(graph, seed=seed)
        best.append(make_model("best", epochs=60, random_state=seed).fit(split).score(split.test_pos, split.test_neg)["auc"])
        gae.append(make_model("gae", epochs=60, random_state=seed).fit(split).score(split.test_pos, split.test_neg)["auc"])
    assert np.mean(best) > np.mean(gae) + 0.04, (best, gae)


def test_snapshots_average_the_top_validation_epochs_without_changing_training():
    from sklearn.metrics import roc_auc_score

    split = gv.split_edges(_planted_partition_with_word_features(n=200, degree=4.0), seed=1)
    plain = make_model("maskgae-wide", epochs=40, random_state=1).fit(split)
    model = make_model("maskgae-wide", epochs=40, random_state=1, snapshots=5).fit(split)
    # training, the best epoch and the embeddings are the plain fit's, bit for bit
    assert model.best_epoch_ == plain.best_epoch_ and np.array_equal(model.embed(), plain.embed())
    # the kept epochs are the 5 highest validation AUCs of the history (ties: the earlier epoch), best first
    val = [(-h["val_auc"], epoch) for epoch, h in enumerate(model.history_)]  # epochs count from 0
    assert model.snapshot_epochs_ == [epoch for _, epoch in sorted(val)[:5]]
    assert model.snapshot_epochs_[0] == model.best_epoch_ and len(model.snapshots_) == 5
    # predictions: the mean of the probabilities of the snapshots, each loaded into a model of its own
    pairs = torch.cat([split.test_pos, split.test_neg], 1)
    each = []
    for state in model.snapshots_:
        plain.objective_.load_state_dict(state)
        each.append(plain.predict_proba(pairs))
    mean = np.mean(each, axis=0)
    assert np.allclose(model.predict_proba(pairs), mean, rtol=1e-6)
    labels = np.r_[np.ones(split.test_pos.shape[1]), np.zeros(split.test_neg.shape[1])]
    assert model.score(split.test_pos, split.test_neg)["auc"] == pytest.approx(roc_auc_score(labels, mean))
    # predicting restored the best epoch's parameters
    assert np.array_equal(model.embed(), make_model("maskgae-wide", epochs=40, random_state=1).fit(split).embed())


def test_snapshots_without_validation_leave_the_last_epoch_alone():
    # graphvae embed trains best without early stopping: no validation ranks the epochs, nothing is kept
    split = gv.split_edges(_planted_partition_with_word_features(n=100), seed=0)
    plain = gv.GAE(epochs=5).fit(split)
    model = gv.GAE(epochs=5, snapshots=3).fit(split)
    assert not hasattr(model, "snapshots_")
    assert np.array_equal(model.predict_proba(split.test_pos), plain.predict_proba(split.test_pos))


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_linkpred_and_embed_take_every_model_name(tmp_path, capsys):
    import json

    from graphvae.cli import main

    graph = _planted_partition_with_word_features(n=200, degree=4.0)
    edges = tmp_path / "e.csv"
    e = graph.edge_index.numpy()
    edges.write_text("".join(f"{u},{v}\n" for u, v in e.T if u < v))
    out = tmp_path / "r.json"
    assert main(["linkpred", "--edges", str(edges), "--model", "best", "--epochs", "2", "--first-seed", "3",
                 "--seeds", "2", "--no-progress", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [r["seed"] for r in result["seeds"]] == [3, 4]
    expected = {k: list(v) if isinstance(v, tuple) else v for k, v in model_config("best").items() if k != "epochs"}
    assert {k: result["config"][k] for k in expected} == expected
    for name in ("maskgae", "argva", "gae"):
        z = tmp_path / f"{name}.npy"
        assert main(["embed", "--edges", str(edges), "--model", name, "--epochs", "2", "--no-progress",
                     "--out", str(z)]) == 0
        assert np.load(z).shape == (len(np.unique(e)), make_model(name).latent)  # nodes with an edge
    with pytest.raises(SystemExit) as exc:
        main(["linkpred", "--edges", str(edges), "--model", "nope"])
    assert exc.value.code == 2


def test_weight_decay_penalty_is_half_lambda_scale_squared_weights():
    enc = gv.GCNEncoder(5, (4,), 3, variational=False, bias=True)
    penalty = gv.WeightDecay(0.01)
    by_hand = sum(float((layer.weight.detach() ** 2).sum()) for layer in [*enc.layers, enc.head])
    assert float(penalty(None, None, [], enc, units=100.0).detach()) == pytest.approx(0.5 * 0.01 * 100.0 * by_hand, rel=1e-6)


def test_output_names_spell_acronyms_in_capitals_and_say_what_best_is(tmp_path, monkeypatch, capsys):
    from graphvae.cli import main
    from graphvae.estimators.zoo import BEST, display_name

    assert [display_name(n) for n in ("vgae", "gnae-wd", "argva", "maskgae-wide")] == ["VGAE", "gnae-wd", "ARGVA",
                                                                                        "maskgae-wide"]
    assert display_name("best") == f"best ({BEST})"  # was "BEST", which said neither that it is an alias nor of what
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text("".join(f"n{i},n{(i + 1) % 40}\nn{i},n{(i + 7) % 40}\n" for i in range(40)))
    assert main(["linkpred", "--edges", "e.csv", "--model", "best", "--epochs", "2", "--latent", "4",
                 "--no-progress", "--workers", "1"]) == 0
    assert f"best ({BEST}) on e.csv, 1 seed(s): AUC" in capsys.readouterr().out
