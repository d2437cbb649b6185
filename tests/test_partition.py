"""Node partitions for distributed training (single process: no ranks needed)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphvae import InputError
from graphvae.training.distributed.partition import Partition, Shard, balanced_bounds, boundary_fraction, locality_order
from graphvae.nn.operator import adjacency_matrix, normalized_adjacency_matrix

from conftest import random_graph


@pytest.fixture
def graph():
    edges = random_graph(70, 0.08, seed=2)
    return edges, adjacency_matrix(edges, 70)


@pytest.mark.parametrize("method", ["rcm", "natural", "random", "metis"])
def test_shards_cover_the_normalized_adjacency_once(graph, method, tmp_path):
    if method == "metis":
        pytest.importorskip("pymetis")
    edges, adjacency = graph
    x = np.random.default_rng(0).standard_normal((70, 3)).astype(np.float32)
    part = Partition(adjacency, 3, method)
    dense = normalized_adjacency_matrix(edges, 70).toarray()
    seen = []
    for rank in range(3):
        shard = part.shard(rank, x)
        shard.save(tmp_path / "s.npz")
        shard = Shard.load(tmp_path / "s.npz")
        rows = sp.csr_matrix((shard.adj_data, shard.adj_indices, shard.adj_indptr), shape=(shard.num_local, 70))
        # columns in partition labels: back to the original labels, the rows of Â are the single process's
        np.testing.assert_allclose(rows.toarray()[:, shard.new_of_orig], dense[shard.orig_ids], rtol=1e-6)
        np.testing.assert_array_equal(shard.x, x[shard.orig_ids])
        keys = np.sort(np.concatenate([shard.orig_ids[i] * 70 + np.flatnonzero(dense[shard.orig_ids[i]])
                                       for i in range(shard.num_local)]))
        np.testing.assert_array_equal(shard.keys, keys)  # positives: the rows of A + I it owns
        assert shard.num_positive == adjacency.nnz + 70 and shard.num_edges == adjacency.nnz
        seen.append(shard.orig_ids)
    assert sorted(np.concatenate(seen).tolist()) == list(range(70))


def test_boundary_fraction_by_brute_force(graph):
    _, adjacency = graph
    order = locality_order(adjacency, "rcm")
    owner = np.empty(70, dtype=int)
    owner[order] = np.repeat(np.arange(2), np.diff(balanced_bounds(70, 2)))
    dense = adjacency.toarray() > 0
    expected = np.mean([any(dense[i, j] and owner[i] != owner[j] for j in range(70)) for i in range(70)])
    assert boundary_fraction(adjacency, order, 2) == pytest.approx(expected)
    assert boundary_fraction(adjacency, order, 1) == 0.0


def test_too_many_ranks_is_an_input_error():
    assert balanced_bounds(5, 5).tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.raises(InputError, match="larger than the number of nodes"):
        balanced_bounds(4, 5)


def test_weighted_ranges_balance_the_work():
    rng = np.random.default_rng(0)
    weights = rng.pareto(1.5, 1000) + 1
    bounds = balanced_bounds(1000, 4, weights)
    shares = np.add.reduceat(weights, bounds[:-1]) / weights.sum()
    assert np.all(np.diff(bounds) >= 1) and bounds[0] == 0 and bounds[-1] == 1000
    assert np.abs(shares - 0.25).max() <= weights.max() / weights.sum()  # off by less than one node's weight
    assert balanced_bounds(3, 3, np.array([100.0, 1, 1])).tolist() == [0, 1, 2, 3]  # one node each, at least
