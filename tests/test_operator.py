import numpy as np
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
