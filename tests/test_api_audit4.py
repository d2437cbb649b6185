"""Defects found by a library-user audit (2026-12-06, third session); each test fails without its fix."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.data.embedding_files import load_embeddings, save_embeddings


def _permuted_karate() -> nx.Graph:
    karate = nx.karate_club_graph()
    permuted = nx.Graph()
    permuted.add_nodes_from(np.random.RandomState(0).permutation(34).tolist())
    permuted.add_edges_from(karate.edges(data=True))
    return permuted


def test_featureless_model_embeds_a_graph_by_node_id_not_by_row():
    """Without features a node's feature is the one-hot vector of its row: another graph of the same size was embedded
    row by row whatever its ids (the same node got another node's embedding, 1.9 apart)."""
    karate = nx.karate_club_graph()
    model = gv.GAE(epochs=30, latent=4, random_state=0).fit(karate)
    fitted = model.embedding_dict()
    permuted = _permuted_karate()
    again = dict(zip(gv.as_graph(permuted).node_ids, model.embed(permuted)))
    assert max(np.abs(fitted[i] - again[i]).max() for i in karate) < 1e-5
    autoencoder = gv.Autoencoder(kind="vanilla", epochs=5, random_state=0).fit(karate)
    codes = dict(zip(range(34), autoencoder.transform(karate)))
    codes_permuted = dict(zip(gv.as_graph(permuted).node_ids, autoencoder.transform(permuted)))
    assert max(np.abs(codes[i] - codes_permuted[i]).max() for i in karate) < 1e-5
    with pytest.raises(gv.InputError, match="fitted without node features.*34 node.*'other0'"):
        model.embed(nx.relabel_nodes(karate, lambda i: f"other{i}"))


def test_featureless_batched_fit_embeds_by_node_id():
    from graphvae.estimators.batched import fit_seeds

    karate = nx.karate_club_graph()
    splits = [gv.split_edges(karate, seed=s) for s in (0, 1)]
    models = fit_seeds(gv.VGAE(epochs=5, latent=4), splits, [0, 1])
    permuted = _permuted_karate()
    by_id = dict(zip(gv.as_graph(permuted).node_ids, models[1].embed(permuted)))
    z = models[1].embed(karate)  # the same edges in the fitted order
    assert max(np.abs(z[i] - by_id[i]).max() for i in karate) < 1e-5


def test_pyg_weight_attribute_is_read_and_edge_attr_ignored_with_a_warning():
    from torch_geometric.utils import from_networkx

    g = nx.Graph()
    g.add_edge(0, 1, weight=5.0)
    g.add_edge(1, 2, weight=0.1)
    expected = gv.as_graph(g).edge_weight
    assert torch.equal(gv.as_graph(from_networkx(g)).edge_weight, expected)  # was None: the weights were dropped
    with pytest.warns(UserWarning, match="edge_attr is ignored"):
        assert gv.as_graph(from_networkx(g, group_edge_attrs=["weight"])).edge_weight is None
    # beside weights, edge_attr was dropped without a word
    from torch_geometric.data import Data

    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    for key, source in (("edge_weight", "data.edge_weight"), ("weight", "data.weight")):
        data = Data(edge_index=ei, num_nodes=3, edge_attr=torch.ones(4, 3), **{key: torch.tensor([5.0, 5.0, 0.1, 0.1])})
        with pytest.warns(UserWarning, match=f"edge_attr is ignored.*weights are read from {source}"):
            assert torch.equal(gv.as_graph(data).edge_weight, expected)


@pytest.mark.parametrize("name", ["vgae", "vgnae", "argva"])
def test_numpy_integer_widths_as_from_a_parameter_grid(name):
    """``latent=np.int64(2)`` (scikit-learn's ParameterGrid over np.arange) crashed in torch's split."""
    model = gv.make_model(name, epochs=2, latent=np.int64(2), hidden=[np.int64(4)], random_state=0,
                          early_stopping=False)
    assert model.fit(nx.karate_club_graph()).embed().shape == (34, 2)


def test_numpy_integer_latent_of_the_image_vae():
    x = np.random.default_rng(0).random((40, 16))
    assert gv.ImageVAE(epochs=1, latent=np.int64(2), hidden=[np.int64(8)]).fit(x).transform(x).shape == (40, 2)


def test_tensor_node_ids_become_plain_ids():
    src, dst = np.array([0, 1, 2]), np.array([1, 2, 3])
    with pytest.raises(gv.InputError, match="3 distinct"):  # 0-d tensors hash by identity: the duplicate passed
        gv.build_graph(src, dst, 4, node_ids=torch.tensor([7, 7, 8, 9]))
    g = gv.build_graph(src, dst, 4, node_ids=torch.tensor([7, 8, 9, 10]))
    assert g.node_ids == [7, 8, 9, 10]
    assert 7 in gv.GAE(epochs=2, latent=2).fit(g).embedding_dict()


def test_save_embeddings_takes_tensors_and_tensor_ids(tmp_path):
    z = torch.randn(3, 2, requires_grad=True)
    save_embeddings(tmp_path / "z.csv", z, torch.tensor([10, 20, 30]))  # was "tensor(10)" ids and a torch error
    ids, back = load_embeddings(tmp_path / "z.csv")
    assert ids == ["10", "20", "30"] and np.allclose(back, z.detach().numpy())


def test_undirected_networkx_graph_has_no_one_way_edges():
    assert gv.as_graph(nx.path_graph(4)).cleaning["one_way"] == 0  # was 3, as for the directed path
    assert gv.as_graph(nx.DiGraph([(0, 1), (1, 2), (2, 3)])).cleaning["one_way"] == 3


def test_graph_autoencoder_maps_codes_back_to_the_callers_node_ids():
    """As GAE/VGAE do: ``node_ids_`` and ``embedding_dict()`` keyed by the networkx graph's own ids (strings and
    tuples here, inserted out of order); the reference is the rows of ``transform()`` in ``graph_``'s node order."""
    g = nx.relabel_nodes(nx.karate_club_graph(), {k: (f"n{k}" if k % 2 else ("t", k)) for k in range(34)})
    g = nx.Graph(list(reversed(list(g.edges()))))  # nodes no longer in numeric order
    model = gv.Autoencoder(kind="denoising", epochs=3, random_state=0).fit(g)
    assert model.node_ids_ == list(model.graph_.node_ids) and set(model.node_ids_) == set(g.nodes)
    z, codes = model.transform(), model.embedding_dict()
    assert list(codes) == model.node_ids_
    for row, node in enumerate(model.node_ids_):
        np.testing.assert_array_equal(codes[node], z[row])
    images = gv.Autoencoder(epochs=1, random_state=0).fit(np.random.default_rng(0).random((20, 16)))
    with pytest.raises(gv.InputError, match="fitted on images"):
        images.embedding_dict()
    with pytest.raises(Exception, match="not fitted"):
        gv.Autoencoder().embedding_dict()
