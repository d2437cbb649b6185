"""Defects found by a library-user audit (2026-12-06, fourth session); each test fails without its fix."""
from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.data.embedding_files import load_embeddings, save_embeddings
from graphvae.estimators.node_embeddings import fit_embeddings

SRC, DST = np.array([0, 1, 2]), np.array([1, 2, 3])


def test_a_list_of_0d_tensors_as_node_ids_is_plain_ids():
    """0-d tensors hash by identity: a duplicate passed, no lookup by id found them, files got "tensor(7)"."""
    with pytest.raises(gv.InputError, match="3 distinct"):
        gv.build_graph(SRC, DST, 4, node_ids=[torch.tensor(7), torch.tensor(7), torch.tensor(8), torch.tensor(9)])
    with pytest.raises(gv.InputError, match="3 distinct"):
        gv.as_graph(gv.Graph(torch.zeros(4, 1), torch.zeros(2, 0, dtype=torch.long), 4,
                             [torch.tensor(7), torch.tensor(7), torch.tensor(8), torch.tensor(9)]))
    ids = [torch.tensor(i) for i in (7, 8, 9, 10)]
    g = gv.build_graph(SRC, DST, 4, node_ids=ids)
    assert g.node_ids == [7, 8, 9, 10] and all(type(i) is int for i in g.node_ids)
    model = gv.GAE(epochs=2, latent=2, random_state=0).fit(g)
    # the same nodes named by other 0-d tensors: found by id ("4 node(s) of this graph are new" before)
    again = gv.build_graph(SRC, DST, 4, node_ids=[torch.tensor(i) for i in (7, 8, 9, 10)])
    assert np.allclose(model.embed(again), model.embed(g))
    assert gv.build_graph(SRC, DST, 4, node_ids=[np.int64(i) for i in range(4)]).node_ids == [0, 1, 2, 3]


def test_save_embeddings_writes_0d_tensor_ids_as_numbers(tmp_path):
    save_embeddings(tmp_path / "z.emb", np.ones((2, 2)), [torch.tensor(10), torch.tensor(20)])
    ids, _ = load_embeddings(tmp_path / "z.emb")
    assert ids == ["10", "20"]  # was "tensor(10)", "tensor(20)"
    with pytest.raises(gv.InputError, match="both written as '3'"):
        save_embeddings(tmp_path / "d.csv", np.ones((2, 2)), [torch.tensor(3), torch.tensor(3)])


def test_a_node_id_must_be_one_value():
    with pytest.raises(gv.InputError, match="single value.*shape \\(2,\\)"):
        gv.build_graph(SRC, DST, 4, node_ids=[torch.tensor([0, 1]), 1, 2, 3])


def _pyg_karate():
    from torch_geometric.utils import from_networkx

    data = from_networkx(nx.karate_club_graph())
    del data.club, data.weight, data.name
    data.x = None
    return data


def test_pyg_subgraph_n_id_names_the_nodes_of_a_featureless_model():
    """PyG's loaders put each sampled node's index in the whole graph in ``n_id``: it was ignored, so a featureless
    model embedded the subgraph's nodes as nodes 0..k-1 of the fitted graph."""
    from torch_geometric.utils import subgraph

    data = _pyg_karate()
    model = gv.GAE(epochs=20, latent=4, random_state=0).fit(data)
    subset = torch.tensor([33, 32, 8, 30, 2])
    edge_index, _ = subgraph(subset, data.edge_index, relabel_nodes=True, num_nodes=data.num_nodes)
    sub = type(data)(edge_index=edge_index, num_nodes=len(subset), n_id=subset)
    by_ids = gv.build_graph(edge_index[0].numpy(), edge_index[1].numpy(), len(subset), node_ids=subset.tolist())
    assert gv.as_graph(sub).node_ids == [33, 32, 8, 30, 2]
    assert np.allclose(model.embed(sub), model.embed(by_ids))
    with pytest.raises(gv.InputError, match="n_id must name each of the 5 nodes once"):
        gv.as_graph(type(data)(edge_index=edge_index, num_nodes=5, n_id=torch.tensor([1, 1, 2, 3, 4])))


def test_featureless_model_warns_when_a_smaller_graph_without_ids_is_taken_by_position():
    from torch_geometric.utils import subgraph

    data = _pyg_karate()
    model = gv.GAE(epochs=5, latent=4, random_state=0).fit(data)
    edge_index, _ = subgraph(torch.tensor([33, 32, 8]), data.edge_index, relabel_nodes=True, num_nodes=34)
    with pytest.warns(UserWarning, match="3 nodes have no ids: node k is embedded as the fitted node of id k.*n_id"):
        model.embed(type(data)(edge_index=edge_index, num_nodes=3))
    with pytest.warns(UserWarning, match="no ids"):  # a scipy matrix names no nodes either
        model.embed(nx.to_scipy_sparse_array(nx.path_graph(3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fitted graph itself, or nodes named by id (networkx's 0..k-1): no warning
        model.embed(data)
        model.embed(nx.relabel_nodes(nx.karate_club_graph(), {i: 33 - i for i in range(34)}))
        model.embed(nx.path_graph(3))
    with pytest.warns(UserWarning, match="no ids"):  # still none after a round trip through PyG
        model.embed(gv.as_graph(gv.as_graph(type(data)(edge_index=edge_index, num_nodes=3)).to_pyg()))


def test_composed_embeddings_with_random_state_none_share_one_recorded_seed():
    """Each component drew its own seed and none was recorded: the run could not be repeated."""
    karate = nx.karate_club_graph()
    z, composed = fit_embeddings(karate, "gnae-maskgae-s2gc", random_state=None, max_latent=4, epochs=3)
    seeds = {m.seed_ for m in composed.models}
    assert len(seeds) == 1 and composed.seed_ == seeds.pop()
    again, _ = fit_embeddings(karate, "gnae-maskgae-s2gc", random_state=composed.seed_, max_latent=4, epochs=3)
    assert np.array_equal(z, again)
    _, single = fit_embeddings(karate, "gae", random_state=None, max_latent=4, epochs=2)
    assert isinstance(single.seed_, int)


def test_a_failed_fit_keeps_the_seed_it_drew():
    model = gv.GAE(epochs=2, random_state=None)
    with pytest.raises(gv.InputError):
        model.fit("no-such-graph-file.csv")
    assert isinstance(model.seed_, int)  # a failed fresh-seed run can be repeated


def test_atomic_write_writes_into_a_named_pipe_and_leaves_it_one(tmp_path):
    """A rename over a device or a pipe replaced it with a regular file (as root, ``--json /dev/full`` replaced the
    device node, exit status 0); it is now written to as it is."""
    import os
    import stat
    import threading

    from graphvae.files import write_json

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    write_json(fifo, {"auc": 0.5})
    reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and got == ['{\n  "auc": 0.5\n}\n']
    link = tmp_path / "stdout"  # as /dev/stdout, a link to the pipe
    link.symlink_to(fifo)
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    write_json(link, [1])
    reader.join(10)
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(fifo).st_mode) and got[1] == "[\n  1\n]\n"
