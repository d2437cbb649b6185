import numpy as np
import pytest
import torch

import graphvae as gv
from conftest import keys


def test_split_sizes_no_leak_and_true_negatives(cora):
    s = gv.split_edges(cora, seed=3)
    n = cora.num_nodes
    all_edges = keys(cora.edge_index, n)
    e = len(all_edges)
    assert s.test_pos.shape[1] == s.test_neg.shape[1] == int(np.floor(0.10 * e))
    assert s.val_pos.shape[1] == s.val_neg.shape[1] == int(np.floor(0.05 * e))
    train = keys(s.train_edge_index, n)
    held_out = keys(s.val_pos, n) | keys(s.test_pos, n)
    assert not train & held_out  # no held-out edge in the training graph, in either direction
    assert len(train) + len(held_out) == e
    # the training edge index holds both directions of every training edge
    ti = s.train_edge_index.numpy()
    assert set(map(tuple, ti.T)) == set(map(tuple, ti[::-1].T))
    negatives = keys(s.val_neg, n) | keys(s.test_neg, n)
    assert not negatives & all_edges  # no negative is a true edge
    assert len(negatives) == s.val_neg.shape[1] + s.test_neg.shape[1]  # distinct
    assert (s.test_neg[0] != s.test_neg[1]).all()


def test_split_is_seeded(cora):
    a, b, c = gv.split_edges(cora, seed=1), gv.split_edges(cora, seed=1), gv.split_edges(cora, seed=2)
    assert torch.equal(a.test_pos, b.test_pos) and torch.equal(a.test_neg, b.test_neg)
    assert not torch.equal(a.test_pos, c.test_pos)


def test_too_few_edges_is_a_clear_error():
    g = gv.build_graph(np.arange(5), np.arange(1, 6), 6)
    with pytest.raises(ValueError, match="too few to split"):
        gv.split_edges(g)


def test_key_helpers_match_numpy():
    from graphvae._keys import first_occurrences, is_member, unique_inverse, unique_sorted
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 50, 200)
    assert np.array_equal(unique_sorted(keys), np.unique(keys))
    u, inv = unique_inverse(keys)
    assert np.array_equal(u, np.unique(keys)) and np.array_equal(u[inv], keys)
    assert np.array_equal(first_occurrences(keys), np.sort(np.unique(keys, return_index=True)[1]))
    table = np.unique(rng.integers(0, 50, 20))
    assert np.array_equal(is_member(keys, table), np.isin(keys, table))
