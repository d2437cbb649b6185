"""Audit of the public building blocks used by hand (normalized_adjacency, GCNEncoder, Posterior, LinkLikelihood,
ELBO, MLPDecoder): bad input gives one InputError, float64 works, references agree."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import graphvae as gv

N = 6
EI = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])


@pytest.mark.parametrize("edge_index, num_nodes", [
    (torch.tensor([[0, 9], [9, 0]]), N),          # out of range
    (torch.tensor([[0, -1], [-1, 0]]), N),        # negative
    (EI.T.contiguous(), N),                       # [E, 2]: was silently reshaped into wrong edges
    (torch.zeros(3, 4, dtype=torch.long), N),     # [3, E]
    (EI.float() + 0.5, N),                        # non-integer ids: were truncated
    (torch.ones(N, N) - torch.eye(N), N),          # a dense adjacency: was read as an edge list
    (EI, 6.0),                                    # num_nodes not an int
])
def test_normalized_adjacency_rejects_bad_edge_index(edge_index, num_nodes):
    with pytest.raises(gv.InputError):
        gv.normalized_adjacency(edge_index, num_nodes)


@pytest.mark.parametrize("weight", [torch.ones(3), -torch.ones(6), torch.full((6,), float("nan"))])
def test_normalized_adjacency_rejects_bad_edge_weight(weight):
    with pytest.raises(gv.InputError):
        gv.normalized_adjacency(EI, N, edge_weight=weight)


@pytest.mark.parametrize("adjacency", [
    sp.csr_matrix(np.array([[0, 2.0], [2.0, 0]])),   # weighted: degrees were taken as row lengths
    sp.csr_matrix(np.array([[1.0, 1], [1, 0]])),     # a self-loop: the diagonal became 2
    sp.csr_matrix(np.array([[0, 1.0], [0, 0]])),     # not symmetric
    sp.csr_matrix((3, 3)),                           # wrong size for num_nodes=2
])
def test_normalized_adjacency_rejects_a_scipy_adjacency_it_would_normalize_wrongly(adjacency):
    with pytest.raises(gv.InputError):
        gv.normalized_adjacency(adjacency, 2)


def test_scipy_adjacency_path_still_equals_the_edge_list_path():
    from graphvae.nn.operator import adjacency_matrix
    a = gv.normalized_adjacency(adjacency_matrix(EI, N), N).to_scipy().toarray()
    assert np.array_equal(a, gv.normalized_adjacency(EI, N).to_scipy().toarray())


def test_link_target_rejects_out_of_range_edges_and_a_wrong_size_adjacency():
    with pytest.raises(gv.InputError):
        gv.LinkTarget.from_edges(torch.tensor([[0, 9], [9, 0]]), N)
    with pytest.raises(gv.InputError):
        gv.LinkTarget.from_edges(sp.csr_matrix((3, 3)), N)


def _encoder_and_input(dtype=torch.float32):
    torch.manual_seed(0)
    enc = gv.GCNEncoder(5, (8,), 4).to(dtype)
    return enc, gv.encoder_input(torch.randn(N, 5, dtype=dtype), gv.normalized_adjacency(EI, N))


@pytest.mark.parametrize("x", [torch.randn(4, 5), torch.randn(N), np.random.randn(N, 5).astype(np.float32),
                               torch.ones(N, 5, dtype=torch.long)])
def test_encoder_input_rejects_bad_features(x):
    with pytest.raises(gv.InputError):
        gv.encoder_input(x, gv.normalized_adjacency(EI, N))


def test_encoder_rejects_wrong_width_and_mismatched_dtype():
    enc, _ = _encoder_and_input()
    adj = gv.normalized_adjacency(EI, N)
    with pytest.raises(gv.InputError):
        enc(gv.encoder_input(torch.randn(N, 7), adj))
    with pytest.raises(gv.InputError):
        enc(gv.encoder_input(torch.randn(N, 5, dtype=torch.float64), adj))
    with pytest.raises(gv.InputError):
        gv.EncoderInput(torch.randn(4, 5), adj).adj @ torch.randn(4, 5)


@pytest.mark.parametrize("kwargs", [dict(in_dim=0), dict(latent=0), dict(latent=-1), dict(hidden=(0,))])
def test_encoder_rejects_non_positive_sizes(kwargs):
    with pytest.raises(gv.InputError):
        gv.GCNEncoder(**{"in_dim": 5, "hidden": (8,), "latent": 4, **kwargs})


def test_a_float64_encoder_runs_on_the_float32_operator_and_matches_float32():
    enc, _ = _encoder_and_input()
    adj = gv.normalized_adjacency(EI, N)
    x = torch.randn(N, 5)
    mu32 = enc(gv.encoder_input(x, adj, fold=False)).mu
    enc64 = gv.GCNEncoder(5, (8,), 4)
    enc64.load_state_dict(enc.state_dict())
    enc64 = enc64.double()
    post = enc64(gv.encoder_input(x.double(), adj, fold=False))
    assert post.mu.dtype == torch.float64
    torch.testing.assert_close(post.mu.float(), mu32, rtol=1e-5, atol=1e-6)
    terms = gv.ELBO(enc64, gv.LinkLikelihood())(gv.encoder_input(x.double(), adj), gv.LinkTarget.from_edges(EI, N))
    terms.loss.backward()
    assert enc64.head.weight.grad.dtype == torch.float64


def test_posterior_rejects_mismatched_shapes():
    with pytest.raises(gv.InputError):
        gv.Posterior(torch.zeros(3, 2), torch.zeros(3, 4))


def test_link_likelihood_rejects_z_of_the_wrong_rows_and_an_edgeless_reweighted_target():
    target = gv.LinkTarget.from_edges(EI, N)
    with pytest.raises(gv.InputError):  # was a silent (wrong) number
        gv.LinkLikelihood()(torch.randn(4, 3), target)
    with pytest.raises(gv.InputError):
        gv.LinkLikelihood()(torch.randn(N), target)
    empty = gv.LinkTarget.from_edges(torch.zeros(2, 0, dtype=torch.long), N)
    with pytest.raises(gv.InputError):  # was ZeroDivisionError
        gv.LinkLikelihood()(torch.randn(N, 3), empty)
    assert torch.isfinite(gv.LinkLikelihood(reweight=False)(torch.randn(N, 3), empty))


def test_elbo_rejects_nan_beta_and_decoder_rejects_wrong_latent_width():
    enc, _ = _encoder_and_input()
    with pytest.raises(gv.InputError):
        gv.ELBO(enc, gv.LinkLikelihood(), beta=float("nan"))
    with pytest.raises(gv.InputError):
        gv.MLPDecoder(4, (8,), 5)(torch.randn(3, 7))
