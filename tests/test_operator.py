import numpy as np
import pytest
import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from graphvae.nn.encoder import GCNEncoder, GCNLayer, encoder_input
from graphvae.nn.operator import SparseOperator, normalized_adjacency
from conftest import random_graph


def dense(op: SparseOperator) -> torch.Tensor:
    return torch.eye(op.shape[0]) if op.is_identity else op.csr.to_dense()


def test_normalized_adjacency_equals_pyg_gcn_norm():
    n = 60
    ei = random_graph(n, 0.1, seed=1)
    op = normalized_adjacency(ei, n)
    index, weight = gcn_norm(torch.from_numpy(ei), num_nodes=n, add_self_loops=True)
    ref = torch.sparse_coo_tensor(index, weight, (n, n)).to_dense()
    assert torch.allclose(dense(op), ref, atol=1e-6)


def test_input_self_loops_and_duplicates_do_not_change_the_operator():
    n = 30
    ei = random_graph(n, 0.2, seed=2)
    noisy = np.concatenate([ei, ei[:, :5], np.stack([np.arange(n), np.arange(n)])], axis=1)
    assert torch.allclose(dense(normalized_adjacency(noisy, n)), dense(normalized_adjacency(ei, n)))


def test_no_edges_gives_identity_and_gcn_layer_is_dense_layer():
    n = 7
    op = normalized_adjacency(np.zeros((2, 0), dtype=np.int64), n)
    assert op.is_identity
    layer = GCNLayer(5, 3)
    x = torch.randn(n, 5)
    assert torch.allclose(layer(x, op), x @ layer.weight + layer.bias)


def test_sparse_product_gradient_matches_dense():
    n = 40
    op = normalized_adjacency(random_graph(n, 0.15, seed=3), n)
    h = torch.randn(n, 4, requires_grad=True)
    (op @ h).square().sum().backward()
    h2 = h.detach().clone().requires_grad_(True)
    (dense(op) @ h2).square().sum().backward()
    assert torch.allclose(h.grad, h2.grad, atol=1e-5)


@pytest.mark.parametrize("symmetric", [False, True])
def test_kept_entries_are_the_masked_matrix_and_its_transpose_and_gradient(symmetric):
    """``keep_entries``: the matrix ``values * keep / divisor`` on the same pattern, with the true transpose
    cached (empty rows and columns included), and ``op @ W`` differentiates like the dense product."""
    import scipy.sparse as sp

    rows, cols = np.ones(30, np.float32), np.ones(20, np.float32)
    rows[3] = cols[7] = 0  # an empty row and an empty column
    x = sp.diags(rows) @ sp.random(30, 20, density=0.15, format="csr", dtype="float32", random_state=4) @ sp.diags(cols)
    x = sp.csr_matrix(x)
    x.eliminate_zeros()
    if symmetric:
        x = normalized_adjacency(random_graph(30, 0.15, seed=5), 30).to_scipy()
    op = SparseOperator(x, symmetric=symmetric)
    g = torch.Generator().manual_seed(0)
    keep = torch.rand(op.nnz, generator=g) >= 0.6
    kept = op.keep_entries(keep, 0.4)
    expected = torch.sparse_csr_tensor(op.csr.crow_indices(), op.csr.col_indices(),
                                       op.csr.values() * keep / 0.4, size=op.shape).to_dense()
    assert torch.equal(kept.csr.to_dense(), expected)
    assert torch.equal(kept.csr_t.to_dense(), expected.t())
    assert kept.nnz == int(keep.sum())
    w = torch.randn(op.shape[1], 3, generator=g, requires_grad=True)
    (kept @ w).square().sum().backward()
    w2 = w.detach().clone().requires_grad_(True)
    (expected @ w2).square().sum().backward()
    assert torch.allclose(w.grad, w2.grad, atol=1e-5)
    nothing = op.keep_entries(torch.zeros(op.nnz, dtype=torch.bool))
    assert torch.equal(nothing @ w.detach(), torch.zeros(op.shape[0], 3))


def test_encoder_with_sparse_and_precomputed_features_matches_dense_gcn():
    """The cached Â X path and sparse features give the plain two-layer GCN of the paper."""
    n, f = 50, 12
    ei = random_graph(n, 0.1, seed=4)
    op = normalized_adjacency(ei, n)
    x = (torch.rand(n, f) < 0.2).float()
    enc = GCNEncoder(f, (8,), 3)
    a = dense(op)
    l1, head = enc.layers[0], enc.head
    h = torch.relu(a @ x @ l1.weight + l1.bias)
    out = a @ h @ head.weight + head.bias
    for features in (x, x.to_sparse_csr()):
        post = enc(encoder_input(features, op))
        assert torch.allclose(post.mu, out[:, :3], atol=1e-5)
        assert torch.allclose(post.logstd, out[:, 3:], atol=1e-5)


def test_spmm_equals_scipy_with_empty_rows_int64_indices_and_float64():
    """``spmm`` / ``csr_matmul`` (``embedding_bag`` on the CPU) against scipy: empty rows (first, inside, last) are 0,
    an all-zero matrix gives 0, and int32/int64 indices and float32/float64 values give the same product."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from graphvae._sparse import csr_matmul, spmm, to_torch_csr

    m = sp.random(60, 30, density=0.05, format="lil", random_state=1)
    m[:10] = 0
    m[30:33] = 0
    m[-1] = 0
    m = m.tocsr()
    dense = torch.randn(30, 5)
    for matrix in (m, sp.csr_matrix((60, 30))):
        expected = matrix @ dense.numpy().astype("float64")
        csr = to_torch_csr(matrix)
        assert torch.allclose(spmm(csr, dense), torch.from_numpy(expected.astype("float32")), atol=1e-6)
        crow, col = csr.crow_indices().long(), csr.col_indices().long()
        out64 = csr_matmul(crow, col, csr.values().double(), dense.double())
        assert out64.dtype == torch.float64 and np.allclose(out64.numpy(), expected, atol=1e-12)
        assert torch.equal(csr_matmul(crow, col.int(), csr.values(), dense), spmm(csr, dense))


def test_weighted_edges_in_one_direction_are_mirrored_and_unequal_directions_refused():
    import graphvae as gv

    n = 40
    ei = random_graph(n, 0.15, seed=3)
    one_way = ei[:, ei[0] < ei[1]]                      # each undirected edge once
    w = np.random.default_rng(0).uniform(0.5, 2.0, one_way.shape[1])
    both = np.concatenate([one_way, one_way[::-1]], axis=1)
    index, weight = gcn_norm(torch.from_numpy(both), torch.from_numpy(np.r_[w, w]).float(), num_nodes=n,
                             add_self_loops=True)
    ref = torch.sparse_coo_tensor(index, weight, (n, n)).to_dense()
    op = normalized_adjacency(one_way, n, edge_weight=w)  # was lopsided: Â's upper triangle only, flagged symmetric
    assert torch.allclose(dense(op), ref, atol=1e-6) and torch.allclose(dense(op), dense(op).T)
    assert torch.allclose(dense(normalized_adjacency(both, n, edge_weight=np.r_[w, w])), ref, atol=1e-6)
    assert torch.allclose(dense(normalized_adjacency(one_way, n, edge_weight=np.ones(one_way.shape[1]))),
                          dense(normalized_adjacency(one_way, n)), atol=1e-6)
    with pytest.raises(gv.InputError, match="two directions of an edge differ"):
        normalized_adjacency(both, n, edge_weight=np.r_[w, 2 * w])
