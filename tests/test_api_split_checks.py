"""The graph estimators' API on what a library user can hand them: a LinkSplit built or edited by hand, a split
given to ``score``, ids that cannot key a dict, options that would be ignored. Each was a bare traceback from
torch/numpy, a misleading message or a silent wrong answer; each is now one InputError."""
from __future__ import annotations

import dataclasses

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data

import graphvae as gv
from graphvae.estimators.batched import fit_seeds
from graphvae.estimators.zoo import make_model


@pytest.fixture(scope="module")
def splits():
    return (gv.split_edges(gv.as_graph(nx.karate_club_graph()), seed=0),
            gv.split_edges(gv.as_graph(nx.cycle_graph(60)), seed=0))


def test_pairs_of_another_graph_in_a_split_are_refused_before_training(splits):
    """Validation pairs of a 60-node ring in a karate split: "training diverged ... try a smaller learning rate"
    from fit, an IndexError from fit_seeds."""
    karate, ring = splits
    bad = dataclasses.replace(karate, val_pos=ring.val_pos, val_neg=ring.val_neg)
    message = r"LinkSplit.val_pos: node indices must lie in 0..33.*another graph"
    with pytest.raises(gv.InputError, match=message):
        gv.VGAE(epochs=4, early_stopping=True, patience=2).fit(bad)
    with pytest.raises(gv.InputError, match=message):
        fit_seeds(gv.VGAE(epochs=2), [bad, bad], [0, 1])


@pytest.mark.parametrize("field, value, message", [
    ("graph", None, "LinkSplit.graph must be a graphvae Graph"),  # an AttributeError
    ("train_edge_index", "numpy", r"LinkSplit.train_edge_index must be an int64 torch tensor"),  # an AttributeError
    ("test_neg", "float", r"LinkSplit.test_neg must be an int64 torch tensor"),
    ("train_edge_weight", "short", "one weight per training edge"),
])
def test_a_hand_built_split_is_checked(splits, field, value, message):
    karate = splits[0]
    value = {"numpy": karate.train_edge_index.numpy(), "float": karate.test_neg.float(),
             "short": torch.ones(3)}.get(value, value)
    with pytest.raises(gv.InputError, match=message):
        gv.VGAE(epochs=2).fit(dataclasses.replace(karate, **{field: value}))
    from graphvae.data.split import checked_split

    assert checked_split(karate) is karate  # a split_edges split passes unchanged


def test_score_takes_a_split_of_the_fitted_graph(splits):
    karate, ring = splits
    model = gv.VGAE(epochs=3, random_state=0).fit(karate)
    assert model.score(karate) == model.score(karate.test_pos, karate.test_neg)  # reference: the pairs themselves
    with pytest.raises(gv.InputError, match=r"split's graph \(60 nodes\) is not the graph this model was fitted on"):
        model.score(ring)  # its pairs index karate's nodes 0..33 too, and were scored without a word
    with pytest.raises(gv.InputError, match="score needs the positive and the negative pairs"):
        model.score(karate.test_pos)  # TypeError: missing 'neg'
    with pytest.raises(gv.InputError, match="give no negative pairs"):
        model.score(karate, karate.test_neg)


def test_node_ids_must_be_hashable_and_one_a_node():
    """List ids trained, then embedding_dict() failed on them (TypeError: unhashable type); an [N, 2] id tensor
    became list ids."""
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    with pytest.raises(gv.InputError, match="a node id must be hashable.*list"):
        gv.VGAE(epochs=2, latent=2).fit(Data(edge_index=ei, num_nodes=4, node_ids=[[0], [1], [2], [3]]))
    with pytest.raises(gv.InputError, match=r"one id a node, shape \[N\], got shape \[4, 2\]"):
        gv.as_graph(Data(edge_index=ei, num_nodes=4, n_id=torch.arange(8).view(4, 2)))
    g = gv.as_graph(Data(edge_index=ei, num_nodes=4, node_ids=[("a", 1), "b", 3, 4.5]))  # hashable: kept
    assert g.node_ids == [("a", 1), "b", 3, 4.5]


def test_options_that_would_be_ignored_are_refused(splits):
    """degree_weight with the inner-product decoder trained exactly as degree_weight=0; an unknown option of a
    named model was VGAE's TypeError."""
    karate = splits[0]
    with pytest.raises(gv.InputError, match="degree decoder .* needs decoder='mlp'"):
        gv.VGAE(epochs=2, mask_rate=0.3, degree_weight=5.0).fit(karate)
    gv.VGAE(epochs=2, latent=8, mask_rate=0.3, degree_weight=5.0, decoder="mlp").fit(karate)  # the degree decoder's place
    with pytest.raises(gv.InputError, match=r"'foo' is not an option of 'gae'.*choose from .*degree_weight"):
        make_model("gae", foo=1)
    assert make_model("gae", epochs=3).epochs == 3


@pytest.mark.parametrize("key, value, message", [
    ("y", torch.arange(7), r"y must hold one entry a node, 4 of them, got shape \[7\]"),
    ("train_mask", torch.ones(3, dtype=torch.bool), r"train_mask must hold one entry a node"),
    ("test_mask", torch.tensor([1, 0, 1, 0]), r"test_mask must be a boolean mask of shape \[4\], got torch.int64"),
])
def test_pyg_labels_and_masks_hold_one_entry_a_node(key, value, message):
    """They were copied onto the Graph unchecked and came back out of to_pyg()."""
    ei = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    with pytest.raises(gv.InputError, match=message):
        gv.as_graph(Data(edge_index=ei, num_nodes=4, **{key: value}))
    good = Data(edge_index=ei, num_nodes=4, y=torch.tensor([0, 1, 0, 1]), train_mask=torch.tensor([True, False] * 2))
    back = gv.as_graph(good).to_pyg()
    assert torch.equal(back.y, good.y) and torch.equal(back.train_mask, good.train_mask)
