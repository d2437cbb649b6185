"""The node-embedding workflow: graph formats in, embedding formats out, the probe, clustering, pictures, bad input."""
import dataclasses
import itertools
import json

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data
from torch_geometric.nn.conv.gcn_conv import gcn_norm

import graphvae as gv
from graphvae.cli import main
from graphvae.data.embedding_files import load_embeddings, save_embeddings
from graphvae.estimators.node_embeddings import DEFAULT_MODEL, EMBEDDING_MODELS
from graphvae.evaluation.node_tasks import (CLUSTER_RESTARTS, cluster, cluster_scores, encode_labels, label_splits,
                                            matched_accuracy)
from graphvae.nn.operator import normalized_adjacency


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def dense(op):
    return torch.eye(op.shape[0]) if op.is_identity else op.csr.to_dense()


def two_communities(n=16, seed=0):
    """Two dense groups joined by one edge; string ids; labels = group."""
    g = nx.Graph()
    rng = np.random.default_rng(seed)
    for block in range(2):
        nodes = [f"v{block}_{i}" for i in range(n)]
        g.add_nodes_from(nodes)
        for a, b in itertools.combinations(nodes, 2):
            if rng.random() < 0.4:
                g.add_edge(a, b)
    g.add_edge("v0_0", "v1_0")
    return g


# --------------------------------------------------------------------------- formats in

def test_weighted_edge_list_weights_enter_a_hat_as_pyg_gcn_norm(tmp_path):
    p = write(tmp_path, "e.tsv", "a\tb\t2.5\nb\tc\t1\nc\ta\t0.5\nb\ta\t4\nc\td\t3\n")
    g = gv.load_graph(p)
    assert g.node_ids == ["a", "b", "c", "d"]
    assert g.cleaning["one_way"] == 3 and g.cleaning["undirected_edges"] == 4
    w = {(int(u), int(v)): float(x) for u, v, x in zip(*g.edge_index.numpy(), g.edge_weight.numpy())}
    assert w[(0, 1)] == w[(1, 0)] == 4.0  # a-b listed twice: the largest weight
    assert w[(2, 3)] == 3.0 and w[(0, 2)] == 0.5
    op = normalized_adjacency(g.edge_index.numpy(), 4, edge_weight=g.edge_weight)
    index, weight = gcn_norm(g.edge_index, g.edge_weight, num_nodes=4, add_self_loops=True)
    ref = torch.sparse_coo_tensor(index, weight, (4, 4)).to_dense()
    assert torch.allclose(dense(op), ref, atol=1e-6)
    # the model uses it: the encoder input's operator is the weighted one
    model = gv.GAE(hidden=4, latent=2, epochs=1).fit(g)
    assert torch.allclose(dense(model.input_.adj), ref, atol=1e-6)


def weighted_random_graph(n=60, p=0.12, seed=0) -> nx.Graph:
    rng = np.random.default_rng(seed)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from((u, v, float(rng.uniform(0.1, 5))) for u in range(n) for v in range(u + 1, n)
                              if rng.random() < p)
    return g


def test_a_split_keeps_the_weights_of_its_training_edges():
    g = weighted_random_graph()
    graph = gv.as_graph(g)
    split = gv.split_edges(graph, seed=1)
    ei, w = split.train_edge_index.numpy(), split.train_edge_weight.numpy()
    assert w.shape == (ei.shape[1],)
    # every training edge carries its weight in the networkx graph (node ids 0..n-1 read as themselves)
    ids = [int(i) for i in graph.node_ids]
    assert all(w[k] == np.float32(g[ids[u]][ids[v]]["weight"]) for k, (u, v) in enumerate(ei.T))
    held_out = {tuple(p) for p in np.concatenate([split.val_pos, split.test_pos], axis=1).T.tolist()}
    assert not held_out & {(min(u, v), max(u, v)) for u, v in ei.T.tolist()}
    assert split.train_graph.edge_weight is split.train_edge_weight
    assert gv.split_edges(nx.Graph(g.edges()), seed=1).train_edge_weight is None  # unweighted: none


def test_link_prediction_trains_on_the_weighted_training_graph():
    """The encoder of a fit on a weighted split sees PyG's gcn_norm of the training edges with their weights, and so
    does each seed of a batched fit (its block of the union's Â)."""
    split = gv.split_edges(gv.as_graph(weighted_random_graph()), seed=2)
    model = gv.GAE(hidden=4, latent=2, epochs=2).fit(split)
    index, weight = gcn_norm(split.train_edge_index, split.train_edge_weight, num_nodes=60, add_self_loops=True)
    assert torch.allclose(dense(model.input_.adj), torch.sparse_coo_tensor(index, weight, (60, 60)).to_dense(), atol=1e-6)
    unweighted = gv.GAE(hidden=4, latent=2, epochs=20).fit(dataclasses.replace(split, train_edge_weight=None))
    from graphvae.estimators.batched import fit_seeds

    other = gv.split_edges(gv.as_graph(weighted_random_graph()), seed=3)
    batched = fit_seeds(gv.GAE(hidden=4, latent=2, epochs=20), [split, other], [0, 1])
    singles = [gv.GAE(hidden=4, latent=2, epochs=20, random_state=seed).fit(s) for seed, s in ((0, split), (1, other))]
    weights_matter = np.abs(singles[0].embed() - unweighted.embed()).max()
    assert len(batched) == 2
    for single, seed_model in zip(singles, batched):
        assert np.abs(single.embed() - seed_model.embed()).max() < 1e-4 < weights_matter / 100, weights_matter
    with pytest.raises(gv.InputError, match="split 1 is unweighted"):
        fit_seeds(gv.GAE(epochs=1), [split, dataclasses.replace(other, train_edge_weight=None)], [0, 1])


def test_the_linkpred_command_on_a_weighted_edge_list_says_what_it_does(tmp_path, capsys):
    g = weighted_random_graph()
    path = write(tmp_path, "w.csv", "".join(f"{u},{v},{d['weight']}\n" for u, v, d in g.edges(data=True)))
    assert main(["linkpred", "--edges", str(path), "--seeds", "2", "--epochs", "3", "--no-progress", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "edge weights enter the training graph's Â" in err and "unused" not in err


def test_features_from_networkx_node_attributes_are_pygs_from_networkx():
    from torch_geometric.utils import from_networkx

    g = nx.les_miserables_graph()
    rng = np.random.default_rng(0)
    for v in g:
        g.nodes[v]["x"], g.nodes[v]["size"] = rng.random(3).tolist(), float(rng.integers(1, 9))
    graph = gv.as_graph(g, features=["x", "size"])
    reference = from_networkx(g, group_node_attrs=["x", "size"])
    assert graph.node_ids == list(g.nodes)
    assert torch.allclose(graph.x, reference.x.float())
    assert torch.equal(gv.as_graph(g, features="size").x, graph.x[:, 3:])
    gv.GAE(epochs=2, latent=2).fit(gv.split_edges(graph, seed=0))  # trains on them


@pytest.mark.parametrize("change,message", [
    (lambda g: g.nodes["Napoleon"].pop("x"), "node 'Napoleon' has no attribute 'x'"),
    (lambda g: g.nodes["Napoleon"].update(x="big"), "is not a number or a sequence of numbers"),
    (lambda g: g.nodes["Valjean"].update(x=[1.0]), "has 3 number\\(s\\) on the first node but 1 on node 'Valjean'"),
    (lambda g: g.nodes["Napoleon"].update(x=[1.0, float("nan"), 0.0]), "node features"),
])
def test_bad_node_attribute_features_are_one_clear_error(change, message):
    g = nx.les_miserables_graph()
    for v in g:
        g.nodes[v]["x"] = [1.0, 2.0, 3.0]
    change(g)
    with pytest.raises(gv.InputError, match=message):
        gv.as_graph(g, features="x")


def test_unweighted_operator_unchanged_and_unit_weights_agree():
    n = 40
    rng = np.random.default_rng(3)
    a = np.triu(rng.random((n, n)) < 0.15, 1)
    u, v = np.nonzero(a)
    ei = np.stack([np.r_[u, v], np.r_[v, u]])
    plain = normalized_adjacency(ei, n)
    index, weight = gcn_norm(torch.from_numpy(ei), num_nodes=n, add_self_loops=True)
    assert torch.allclose(dense(plain), torch.sparse_coo_tensor(index, weight, (n, n)).to_dense(), atol=1e-6)
    ones = normalized_adjacency(ei, n, edge_weight=np.ones(ei.shape[1]))
    assert torch.allclose(dense(ones), dense(plain), atol=1e-6)


@pytest.mark.parametrize("suffix,writer", [(".graphml", nx.write_graphml), (".gml", nx.write_gml),
                                           (".gexf", nx.write_gexf), (".net", nx.write_pajek)])
def test_networkx_formats_keep_string_ids_and_weights(tmp_path, suffix, writer):
    g = nx.Graph()
    g.add_weighted_edges_from([("x", "y", 2.0), ("y", "z", 0.5), ("z", "w", 1.0)])
    path = tmp_path / f"g{suffix}"
    writer(g, path)
    graph = gv.load_graph(path)
    assert sorted(graph.node_ids) == ["w", "x", "y", "z"] and all(isinstance(i, str) for i in graph.node_ids)
    ids = graph.node_ids
    got = {frozenset((ids[int(a)], ids[int(b)])): float(w)
           for a, b, w in zip(*graph.edge_index.numpy(), graph.edge_weight.numpy())}
    assert got == {frozenset(("x", "y")): 2.0, frozenset(("y", "z")): 0.5, frozenset(("z", "w")): 1.0}


def test_directed_graphml_reports_one_way_edges(tmp_path):
    d = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "c")])
    nx.write_graphml(d, tmp_path / "d.graphml")
    g = gv.load_graph(tmp_path / "d.graphml")
    assert g.cleaning["one_way"] == 1 and g.cleaning["undirected_edges"] == 2 and g.edge_weight is None


def test_npz_adjacency_weighted_and_unweighted(tmp_path):
    a = sp.csr_matrix(np.array([[0, 2, 0], [2, 0, 1], [0, 1, 0]], dtype=float))
    sp.save_npz(tmp_path / "w.npz", a)
    g = gv.load_graph(tmp_path / "w.npz")
    assert g.node_ids == [0, 1, 2] and sorted(g.edge_weight.tolist()) == [1, 1, 2, 2]
    sp.save_npz(tmp_path / "u.npz", (a > 0).astype(float))
    assert gv.load_graph(tmp_path / "u.npz").edge_weight is None


def test_fit_accepts_networkx_scipy_and_pyg_and_maps_back_to_ids():
    g = two_communities(8)
    ref = gv.GAE(hidden=8, latent=4, epochs=5).fit(gv.as_graph(g))
    model = gv.GAE(hidden=8, latent=4, epochs=5).fit(g)
    assert model.node_ids_ == list(g.nodes)
    assert np.array_equal(model.embed(), ref.embed())
    assert np.array_equal(model.embedding_dict()["v1_3"], ref.embed()[list(g.nodes).index("v1_3")])
    a = nx.to_scipy_sparse_array(g, nodelist=list(g.nodes), format="csr")
    by_matrix = gv.GAE(hidden=8, latent=4, epochs=5).fit(sp.csr_matrix(a))
    assert by_matrix.node_ids_ == list(range(len(g))) and np.array_equal(by_matrix.embed(), ref.embed())
    pyg = Data(edge_index=gv.as_graph(g).edge_index, num_nodes=len(g))
    assert np.array_equal(gv.GAE(hidden=8, latent=4, epochs=5).fit(pyg).embed(), ref.embed())
    ae = dict(kind="vanilla", hidden=8, latent=4, epochs=3)
    assert np.array_equal(gv.Autoencoder(**ae).fit(g).transform(), gv.Autoencoder(**ae).fit(gv.as_graph(g)).transform())


# --------------------------------------------------------------------------- formats out

def test_emb_and_npz_outputs_round_trip_by_id(tmp_path):
    z = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    ids = ["n1", "n22", "x"]
    save_embeddings(tmp_path / "z.emb", z, ids)
    lines = (tmp_path / "z.emb").read_text().splitlines()
    assert lines[0] == "3 4" and len(lines) == 4
    parsed = {line.split(" ")[0]: np.array(line.split(" ")[1:], dtype=np.float32) for line in lines[1:]}
    for i, node in enumerate(ids):
        assert np.array_equal(parsed[node], z[i])
    save_embeddings(tmp_path / "z.npz", z, ids)
    with np.load(tmp_path / "z.npz") as f:
        assert f["ids"].tolist() == ids and np.array_equal(f["embeddings"], z)
    for path in ("z.emb", "z.npz"):
        got_ids, got = load_embeddings(tmp_path / path)
        assert got_ids == ids and np.array_equal(got, z)


def test_emb_loads_with_gensim(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    z = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    save_embeddings(tmp_path / "z.emb", z, [10, 20, 30])
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "z.emb"), binary=False)
    assert np.allclose(kv["20"], z[1])


# --------------------------------------------------------------------------- tasks

def test_matched_accuracy_is_the_best_permutation():
    rng = np.random.default_rng(1)
    for _ in range(5):
        y, pred = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
        brute = max(np.mean(np.array(p)[pred] == y) for p in itertools.permutations(range(4)))
        assert matched_accuracy(y, pred) == pytest.approx(brute)
    assert matched_accuracy([0, 0, 1, 1], [5, 5, 3, 3]) == 1.0


def test_gmm_clusters_separated_blobs_with_responsibilities():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 50)
    z = rng.normal(size=(150, 3)) + 8 * np.eye(3)[y]
    for method in ("gmm", "kmeans"):
        c = cluster(z, 3, method, random_state=0)
        assert np.allclose(c["responsibilities"].sum(axis=1), 1)
        assert np.array_equal(c["responsibilities"].argmax(axis=1), c["labels"])
        s = cluster_scores(y, c["labels"])
        assert s["acc"] == 1.0 and s["nmi"] == pytest.approx(1.0) and s["ari"] == pytest.approx(1.0)


def test_restarts_keep_the_best_of_several_initializations():
    # eight overlapping blobs: one EM run (or one k-means run) from this seed stops in a local optimum
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(8), 40)
    z = rng.normal(scale=4, size=(8, 3))[y] + rng.normal(size=(320, 3))
    one, default = cluster(z, 8, "gmm", random_state=0, n_init=1)["model"], cluster(z, 8, "gmm", random_state=0)["model"]
    assert default.n_init == CLUSTER_RESTARTS == 10
    # the first of the restarts is the single run (same random state), so the best is at least as likely; here better
    assert default.lower_bound_ > one.lower_bound_ + 0.1
    km_one, km_default = (cluster(z, 8, "kmeans", random_state=0, n_init=n)["model"] for n in (1, 10))
    assert km_default.inertia_ < km_one.inertia_ - 1
    with pytest.raises(gv.InputError, match="at least 1"):
        cluster(z, 8, "gmm", n_init=0)


def test_label_splits_errors_and_stratification():
    _, y, names = encode_labels(["a", "b", None, "a", "b", "a", "b", "a"])
    assert names == ["a", "b"] and len(y) == 7
    (tr, te), = label_splits(y, test_size=0.5, random_state=0)
    assert set(y[tr]) == set(y[te]) == {0, 1} and len(set(tr) | set(te)) == 7
    with pytest.raises(gv.InputError, match="at least 2 classes"):
        encode_labels(["a", "a", None])
    with pytest.raises(gv.InputError, match="too few to stratify"):
        label_splits(np.array([0, 0, 0, 1]), folds=None)
    with pytest.raises(gv.InputError, match="too few to stratify"):
        label_splits(np.array([0, 0, 0, 1, 1]), folds=3)
    for folds in (None, 2):  # one class: a split was returned (and a probe then failed in scikit-learn)
        with pytest.raises(gv.InputError, match="at least 2 classes, got 1"):
            label_splits(np.array(["A"] * 8), folds=folds)


def test_cluster_scores_need_two_classes():
    """Against one class, scikit-learn's NMI and ARI and the matched accuracy are all 1.0 for any clustering (the
    reference shows it): refused, as the CLI refuses such labels."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    y, pred = np.array(["A"] * 6), np.array([0, 1, 2, 0, 1, 2])
    assert normalized_mutual_info_score(y, np.zeros(6)) == adjusted_rand_score(y, np.zeros(6)) == 1.0
    with pytest.raises(gv.InputError, match="at least 2 classes, got 1"):
        gv.cluster_scores(y, pred)
    assert gv.cluster_scores(np.array(["A", "A", "B", "B"]), np.array([1, 1, 0, 0]))["acc"] == 1.0


def test_default_embedding_model_is_documented_and_used(tmp_path):
    from graphvae.cli import _common, classify, cluster as cluster_cmd
    from pathlib import Path
    from graphvae.estimators.node_embeddings import CLUSTER_DEFAULT_MODEL
    assert classify.DEFAULT_MODEL == DEFAULT_MODEL and cluster_cmd.DEFAULT_MODEL == CLUSTER_DEFAULT_MODEL
    assert _common.EMBEDDING_MODELS == list(EMBEDDING_MODELS)
    from graphvae.data import embedding_files as embeddings
    from graphvae.cli import embed as embed_cmd
    assert embed_cmd.FORMATS == embeddings.FORMATS  # the CLI's copy, kept so --help imports no numpy
    docs = (Path(__file__).resolve().parent.parent / "docs" / "embeddings.md").read_text()
    assert f"default of `classify` is **`{DEFAULT_MODEL}`**" in docs
    assert f"default of `cluster` is **`{CLUSTER_DEFAULT_MODEL}`**" in docs


def test_classify_cora_public_split_json(tmp_path, cora):
    out = tmp_path / "r.json"
    assert main(["classify", "--dataset", "cora", "--epochs", "2", "--hidden", "16", "--seeds", "2",
                 "--no-progress", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["model"] == DEFAULT_MODEL and r["protocol"] == "public split (140/500/1000)"
    assert r["config"]["probe_C"] == EMBEDDING_MODELS[DEFAULT_MODEL]["probe_C"]  # the model's C by default
    assert r["config"]["components"] == ["gnae-wd-denoise", "maskgae-cat"] and r["config"]["features"] == "s2gc"
    assert r["config"]["probe_standardize"] is False  # the blocks carry their own scale
    assert r["config"]["component_overrides"] == {"epochs": 2, "hidden": 16}  # the overrides reach each component
    accs = [s["accuracy"] for s in r["seeds"]]
    assert r["accuracy"]["mean"] == pytest.approx(np.mean(accs)) and r["accuracy"]["std"] == pytest.approx(np.std(accs))
    assert all(0 < s["macro_f1"] <= 1 and 0 < s["val_accuracy"] <= 1 for s in r["seeds"])


def graph_and_labels(tmp_path, n=16):
    g = two_communities(n)
    edges = write(tmp_path, "e.csv", "".join(f"{a},{b}\n" for a, b in g.edges))
    labels = write(tmp_path, "y.csv", "id,label\n" + "".join(f"{v},{v[1]}\n" for v in g.nodes))
    return g, edges, labels


def test_classify_user_graph_with_folds_and_split(tmp_path):
    g, edges, labels = graph_and_labels(tmp_path)
    out = tmp_path / "r.json"
    for extra in (["--folds", "3"], []):
        assert main(["classify", "--edges", str(edges), "--labels", str(labels), "--model", "gae", "--epochs", "30",
                     "--no-progress", "--json", str(out), *extra]) == 0
        r = json.loads(out.read_text())
        assert r["classes"] == ["0", "1"] and r["labelled_nodes"] == len(g)
        assert r["accuracy"]["mean"] >= 0.9  # two well-separated communities


def test_cluster_writes_ids_clusters_responsibilities_and_scores(tmp_path):
    g, edges, labels = graph_and_labels(tmp_path)
    out, res, plots = tmp_path / "c.csv", tmp_path / "r.json", tmp_path / "figs"
    assert main(["cluster", "--edges", str(edges), "--labels", str(labels), "--model", "gae", "--epochs", "30",
                 "--seeds", "2", "--no-progress", "--out", str(out), "--json", str(res), "--plot", str(plots)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "node_id,cluster,r0,r1" and len(rows) == len(g) + 1
    body = [r.split(",") for r in rows[1:]]
    assert {r[0] for r in body} == set(g.nodes)
    assert all(abs(float(r[2]) + float(r[3]) - 1) < 1e-4 and int(r[1]) == int(float(r[3]) > float(r[2])) for r in body)
    r = json.loads(res.read_text())
    assert r["model"] == "gae" and r["covariance"] == "tied" and r["method"] == "gmm" and r["restarts"] == 10
    assert r["clusters"] == 2 and set(r["acc"]) == {"mean", "std"} and r["acc"]["mean"] >= 0.9
    assert r["nmi"]["mean"] == pytest.approx(np.mean([s["nmi"] for s in r["seeds"]]))
    assert (plots / "cluster_map.png").is_file()


def test_plots_of_embed_and_linkpred(tmp_path):
    import matplotlib.image as mpimg
    _, edges, labels = graph_and_labels(tmp_path, 20)
    assert main(["embed", "--edges", str(edges), "--out", str(tmp_path / "z.emb"), "--epochs", "5", "--no-progress",
                 "--plot", str(tmp_path / "p"), "--labels", str(labels), "--projection", "pca"]) == 0
    assert main(["linkpred", "--edges", str(edges), "--epochs", "5", "--no-progress", "--plot", str(tmp_path / "p")]) == 0
    assert mpimg.imread(tmp_path / "p" / "embedding_map.png").shape[:2] == (500, 600)
    assert mpimg.imread(tmp_path / "p" / "link_curves.png").shape[:2] == (450, 1000)
    ids, z = load_embeddings(tmp_path / "z.emb")
    assert len(ids) == 40 and z.shape == (40, 16)


def test_every_graph_training_command_chooses_its_threads(tmp_path, monkeypatch):
    """embed, classify and cluster prepare the process for training (glibc's freed memory kept, the CLI's thread
    choice) as linkpred does, with --threads and the graph's node count: a small graph on a busy machine then trains
    on one thread."""
    import importlib

    g, edges, labels = graph_and_labels(tmp_path)
    calls = []
    common = ["--edges", str(edges), "--epochs", "2", "--no-progress"]
    runs = {"embed": [*common, "--out", str(tmp_path / "z.npy"), "--threads", "1"],
            "classify": [*common, "--labels", str(labels), "--model", "gae", "--folds", "2"],
            "cluster": [*common, "--labels", str(labels), "--model", "gae", "--threads", "1"]}
    from graphvae.cli import _common

    for command, args in runs.items():
        module = importlib.import_module(f"graphvae.cli.{command}")
        record = lambda requested, nodes, c=command: calls.append((c, requested, nodes)) or 1
        monkeypatch.setattr(module if command == "embed" else _common, "prepare_training", record)
        assert main([command, *args]) == 0
    assert calls == [("embed", 1, len(g)), ("classify", None, len(g)), ("cluster", 1, len(g))]


# --------------------------------------------------------------------------- bad input

def _ring(n=12):
    return "".join(f"n{i},n{(i + 1) % n}\n" for i in range(n))


BAD = [
    ("classify", {"e.csv": _ring(), "y.csv": "n0,a\nzz,b\n"}, ["--labels", "y.csv"], "'zz' is not in the graph"),
    ("cluster", {"e.csv": _ring(), "y.csv": "n0,a\nn1,b\n"}, ["--labels", "y.csv"], "have no label"),
    ("classify", {"e.csv": _ring(), "y.csv": "n0,a\nn1,a\n"}, ["--labels", "y.csv"], "at least 2 classes"),
    ("classify", {"e.csv": _ring(), "y.csv": "n0,a\nn1,a\nn2,a\nn3,b\n"}, ["--labels", "y.csv"], "too few to stratify"),
    ("classify", {"e.csv": _ring()}, [], "classify needs labels"),
    ("classify", {"e.csv": _ring(), "y.csv": "n0,a\nn1,b\n"}, ["--labels", "y.csv", "--C", "inf"], "positive finite"),
    ("classify", {"e.csv": _ring(), "y.csv": "n0,a\nn1,b\n"}, ["--labels", "y.csv", "--C", "0"], "positive finite"),
    ("cluster", {"e.csv": _ring()}, [], "--clusters K is required"),
    ("cluster", {"e.csv": _ring()}, ["--clusters", "1"], "at least 2"),
    ("cluster", {"e.csv": _ring()}, ["--clusters", "13"], "between 2 and the number of nodes (12)"),
    ("cluster", {"e.csv": _ring()}, ["--clusters", "2", "--restarts", "0"], "--restarts must be at least 1"),
    ("embed", {"e.csv": "a,b,x\nb,c,1\n"}, ["--out", "z.npy"], "'x' is not a number"),
    ("embed", {"e.csv": "a,b,-1\nb,c,1\n"}, ["--out", "z.npy"], "finite and non-negative"),
    ("embed", {"e.csv": "a,b,nan\nb,c,1\n"}, ["--out", "z.npy"], "finite and non-negative"),
    ("embed", {"e.graphml": "<graphml><node"}, ["--out", "z.npy"], "not a readable GraphML file"),
    ("embed", {"e.gml": "graph [ node [ id 0 ] edge [ source 0 ]"}, ["--out", "z.npy"], "not a readable GML file"),
    ("embed", {"e.npz": "not a zip"}, ["--out", "z.npy"], "scipy.sparse.save_npz"),
    ("embed", {"e.csv": _ring(), "blocker": "a file"}, ["--out", "blocker/z.emb"], "is not a writable folder"),
]


@pytest.mark.parametrize("command,files,args,message", BAD)
def test_bad_input_one_line_exit_2(tmp_path, monkeypatch, capsys, command, files, args, message):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        write(tmp_path, name, text)
    graph = next(n for n in files if n.startswith("e."))
    assert main([command, "--edges", graph, *args, "--epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err, err


def test_api_raises_input_error(tmp_path):
    with pytest.raises(gv.InputError, match="not a readable GraphML"):
        gv.load_graph(write(tmp_path, "g.graphml", "<graphml"))
    with pytest.raises(gv.InputError, match="finite and non-negative"):
        gv.load_graph(write(tmp_path, "e.csv", "a,b,-2\n"))
    with pytest.raises(gv.InputError, match="not a writable folder"):
        save_embeddings(tmp_path / "e.csv" / "z.emb", np.zeros((1, 2)), ["a"])
    with pytest.raises(gv.InputError, match="between 2 and the number of nodes"):
        cluster(np.zeros((5, 2)), 6)
    with pytest.raises(gv.InputError, match="at least 2 classes"):
        encode_labels([None, "a"])


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_cluster_map_ellipses_use_the_fitted_gaussians(tmp_path, covariance, monkeypatch):
    from scipy.stats import multivariate_normal
    from graphvae.evaluation import plots
    from graphvae.evaluation.plots import _full_covariances, cluster_axes, plot_cluster_map
    rng = np.random.default_rng(2)
    z = np.vstack([rng.normal(size=(40, 3)) * [1, 2, 0.5] + 6 * i for i in range(3)])
    c = cluster(z, 3, "gmm", covariance, random_state=0)
    gmm = c["model"]
    covs = _full_covariances(gmm.covariances_, covariance, 3, c["points"].shape[1])
    density = sum(w * multivariate_normal(m, s).pdf(c["points"]) for w, m, s in zip(gmm.weights_, gmm.means_, covs))
    assert np.allclose(np.log(density), gmm.score_samples(c["points"]), atol=1e-6)
    assert plot_cluster_map(c["points"], c["labels"], tmp_path / "m.png", "t", gmm).is_file()
    # the ellipses drawn: each component's Gaussian pushed through the map's linear projection (mean P(m - centre),
    # covariance P S P^T), its 1- and 2-std contours; the reference is numpy's eigendecomposition of P S P^T
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    plot_cluster_map(c["points"], c["labels"], tmp_path / "m.png", "t", gmm)
    patches = figures[0].axes[0].patches
    assert len(patches) == 2 * 3
    centre, proj = cluster_axes(c["points"], c["labels"], gmm.means_, gmm.weights_)
    for i, (mean, cov) in enumerate(zip(gmm.means_, covs)):
        axes = np.sqrt(np.linalg.eigvalsh(proj @ cov @ proj.T))[::-1]
        for n_std, e in zip((1, 2), patches[2 * i:2 * i + 2]):
            np.testing.assert_allclose(e.get_center(), proj @ (mean - centre), atol=1e-9)
            np.testing.assert_allclose([e.get_width(), e.get_height()], 2 * n_std * axes, rtol=1e-6)


def test_row_normalized_features_match_sklearn_l1(tmp_path):
    from sklearn.preprocessing import normalize
    from graphvae.estimators.node_embeddings import row_normalized
    x = np.array([[1, 3, 0], [0, 0, 0], [2, -2, 4.0]])
    for features in (x, sp.csr_matrix(x)):
        g = gv.build_graph(np.array([0, 1]), np.array([1, 2]), 3, x=features)
        got = row_normalized(g).x
        got = got.to_dense() if got.layout != torch.strided else got
        assert np.allclose(got.numpy(), normalize(x, norm="l1"))
        assert torch.equal(g.x.to_dense() if g.x.layout != torch.strided else g.x, torch.tensor(x, dtype=torch.float32))


def test_cluster_axes_are_orthonormal_and_follow_the_mean_difference():
    from graphvae.evaluation.plots import cluster_axes
    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1], 60)
    shift = np.array([0.0, 3.0, 0.0, 4.0])
    points = rng.normal(size=(120, 4)) + np.outer(labels, shift)
    _, axes = cluster_axes(points, labels)
    assert np.allclose(axes @ axes.T, np.eye(2), atol=1e-10)
    assert abs(axes[0] @ shift) / np.linalg.norm(shift) > 0.999


def test_gnae_wd_denoise_trains_denoising_on_the_normalized_encoder_and_embeds_a_hat_mu():
    """gnae-wd-denoise: the corrupted views reach the normalized head unpropagated (it needs X, not Â X),
    the corruption varies between epochs, and the embedding is Â μ of the fitted model."""
    from graphvae.training.corruption import denoising_graph_batches
    from graphvae.estimators.node_embeddings import embedding_config, fit_embeddings, probe_c

    def array(f):
        return torch.as_tensor(f.to_scipy().toarray()) if hasattr(f, "to_scipy") else f.to_dense()

    config = embedding_config("gnae-wd-denoise")
    assert config["zoo"] == "gnae-wd" and config["hops"] == 1 and probe_c("gnae-wd-denoise") == config["probe_C"] == 0.03
    g = gv.as_graph(two_communities(12))
    z, model = fit_embeddings(g, "gnae-wd-denoise", random_state=0, epochs=3, latent=4)
    assert (model.normalize, model.hidden_edges, model.feature_noise) == (1.8, 0.3, 0.3)
    adj = dense(model.input_.adj)
    assert np.allclose(z, (adj @ torch.from_numpy(model.embed())).numpy(), atol=1e-5)
    x = array(g.x).float()
    batches = {fold: denoising_graph_batches(g, 0.0, 0.0, torch.Generator().manual_seed(0), fold=fold)(0)[0][0]
               for fold in (False, True)}
    assert not batches[False].propagated and torch.equal(array(batches[False].features).float(), x)
    assert batches[True].propagated and torch.allclose(array(batches[True].features).float(), adj @ x, atol=1e-6)
    noisy = denoising_graph_batches(g, 0.3, 0.3, torch.Generator().manual_seed(0), fold=False)
    a, b = noisy(0)[0][0], noisy(1)[0][0]
    assert a.adj.nnz < model.input_.adj.nnz and not torch.equal(dense(a.adj), dense(b.adj))


# --------------------------------------------------------------------------- the composed classify default

def tiny_graph_with_features(n=12, width=5, seed=0):
    g = two_communities(n, seed)
    return gv.as_graph(g, features=np.random.default_rng(seed).random((2 * n, width)).astype(np.float32))


def test_blocks_have_equal_total_variance_and_zero_mean_or_unit_rows():
    from graphvae.estimators.node_embeddings import equal_variance_blocks, l2_blocks

    rng = np.random.default_rng(0)
    a, b = rng.normal(3.0, 5.0, (40, 3)), rng.normal(-1.0, 0.1, (40, 50))
    z = equal_variance_blocks(a, b)
    assert z.shape == (40, 53) and np.allclose(z.mean(axis=0), 0)
    assert z[:, :3].var(axis=0).sum() == pytest.approx(100) and z[:, 3:].var(axis=0).sum() == pytest.approx(100)
    w = l2_blocks(a, b)
    assert np.allclose(np.linalg.norm(w[:, :3], axis=1), 1) and np.allclose(np.linalg.norm(w[:, 3:], axis=1), 1)
    assert np.allclose(w[:, :3] * np.linalg.norm(a, axis=1, keepdims=True), a)  # a scale per row, no more


def test_s2gc_and_sgc_features_match_a_dense_brute_force():
    from graphvae.estimators.node_embeddings import s2gc_features, sgc_features

    g = tiny_graph_with_features(6)
    a = np.zeros((g.num_nodes, g.num_nodes))
    a[tuple(g.edge_index.numpy())] = 1
    a_tilde = a + np.eye(len(a))
    d = a_tilde.sum(axis=1)
    a_hat = a_tilde / np.sqrt(np.outer(d, d))
    x = g.x.numpy().astype(np.float64)
    x = x / x.sum(axis=1, keepdims=True)
    K, alpha = 16, 0.05
    expected = sum((1 - alpha) * np.linalg.matrix_power(a_hat, k) @ x + alpha * x for k in range(1, K + 1)) / K
    assert np.allclose(s2gc_features(g, K, alpha), expected, atol=1e-6)
    assert np.allclose(sgc_features(g), a_hat @ a_hat @ x, atol=1e-6)


def test_composed_default_is_its_components_l2_blocks_and_its_probe_keeps_them():
    from graphvae.estimators.node_embeddings import (
        fit_embeddings,
        l2_blocks,
        probe_c,
        probe_standardizes,
        s2gc_features,
    )

    config = EMBEDDING_MODELS[DEFAULT_MODEL]
    assert config["components"] == ("gnae-wd-denoise", "maskgae-cat") and config["combine"] == "l2-blocks"
    assert probe_c() == 3.0 and not probe_standardizes() and probe_standardizes("gnae-wd-denoise")
    g = tiny_graph_with_features(70)  # gnae-wd's latent dimension, 128, needs as many nodes
    z, composed = fit_embeddings(g, DEFAULT_MODEL, random_state=1, epochs=3)
    parts = [fit_embeddings(g, name, random_state=1, epochs=3) for name in config["components"]]
    assert np.array_equal(z, l2_blocks(*[p[0] for p in parts], s2gc_features(g)))  # trained separately, same seed
    assert z.shape == (g.num_nodes, 128 + (128 + 64) + 5)
    assert composed.train_seconds_ == pytest.approx(sum(m.train_seconds_ for m in composed.models))
    # a graph without node features (identity features) gets no [N, N] feature block
    plain = gv.as_graph(two_communities(70))
    z_plain, _ = fit_embeddings(plain, DEFAULT_MODEL, random_state=1, epochs=2)
    assert z_plain.shape == (plain.num_nodes, 128 + 128 + 64)


def test_classify_does_not_restandardize_the_composed_blocks(tmp_path, monkeypatch):
    from graphvae.evaluation import node_tasks

    calls, original = [], node_tasks.probe_scores
    monkeypatch.setattr(node_tasks, "probe_scores",
                        lambda *a, **k: calls.append(a[6] if len(a) > 6 else k.get("standardize", True)) or original(*a, **k))
    g, edges, labels = graph_and_labels(tmp_path, 70)
    for model, standardized in ((DEFAULT_MODEL, False), ("gae", True)):
        calls.clear()
        assert main(["classify", "--edges", str(edges), "--labels", str(labels), "--model", model, "--epochs", "5",
                     "--no-progress"]) == 0
        assert calls and set(calls) == {standardized}
    z = np.random.default_rng(0).normal(size=(200, 3)) * [1.0, 1.0, 1e-4]
    y = (z[:, 2] > 0).astype(int)  # only the tiny column tells the classes apart
    train, test = np.arange(100), np.arange(100, 200)
    assert original(z, y, train, test, 1.0, standardize=True)["accuracy"] >= 0.95
    assert original(z, y, train, test, 1.0, standardize=False)["accuracy"] < 0.8


# --------------------------------------------------------------------------- MaskGAE's node-classification pieces

def test_directed_masking_hides_directed_pairs_and_shows_an_edge_if_either_direction_survives():
    """mask_edges(directed=True) against a brute-force reading of MaskGAE's masking: the hidden pairs and the
    surviving pairs partition the directed list; an undirected edge is visible iff a direction survived; over
    many draws an edge is hidden from the encoder with probability rate**2 (both directions drawn)."""
    from graphvae.objectives.masking import mask_edges

    pairs = lambda e: set(zip(*np.asarray(e).tolist()))
    g = gv.as_graph(two_communities(10))
    edges, rate, gen = g.edge_index, 0.6, torch.Generator().manual_seed(1)
    all_pairs = pairs(edges)
    hidden_fully, draws = 0, 300
    for _ in range(draws):
        visible, hidden = mask_edges(edges, rate, gen, directed=True)
        hid, vis = pairs(hidden), pairs(visible)
        kept = all_pairs - hid
        assert hid <= all_pairs and len(hid) == hidden.shape[1]  # each hidden pair once, one direction
        assert vis == kept | {(v, u) for u, v in kept} and visible.shape[1] == len(vis)  # symmetric, no repeats
        hidden_fully += len(all_pairs - vis) // 2
    share = hidden_fully / (draws * len(all_pairs) // 2)
    assert abs(share - rate ** 2) < 0.03


def test_mask_mode_needs_masking():
    g = gv.as_graph(two_communities(6))
    with pytest.raises(gv.InputError, match="mask_rate"):
        gv.GAE(mask_mode="directed").fit(g)


def test_layers_representation_is_every_elu_layer_hand_stacked_and_l2_normalized():
    """representation(model, "layers") = [H1, H2, mu] of a hand-written two-hidden-layer ELU GCN (dense Â, the
    fitted weights), Â-propagated with hops, and scaled to unit rows with l2_normalize."""
    from graphvae.estimators.node_embeddings import representation

    g = gv.as_graph(two_communities(8))
    model = gv.GAE(hidden=(6, 5), latent=3, bias=True, activation="elu", epochs=2).fit(g)
    enc = model.objective_.encoder
    adj = dense(model.input_.adj)
    x = g.x.to_dense().float() if g.x.layout != torch.strided else g.x.float()
    f = torch.nn.functional.elu
    with torch.no_grad():
        h1 = f(adj @ x @ enc.layers[0].weight + enc.layers[0].bias)
        h2 = f(adj @ h1 @ enc.layers[1].weight + enc.layers[1].bias)
        mu = adj @ h2 @ enc.head.weight + enc.head.bias
    stacked = torch.cat([h1, h2, mu], dim=1).numpy()
    assert np.allclose(representation(model, "layers"), stacked, atol=1e-5)
    assert np.allclose(representation(model, "hidden+latent"), stacked[:, 6:], atol=1e-5)
    smooth = (adj @ torch.from_numpy(stacked)).numpy()
    unit = representation(model, "layers", hops=1, l2_normalize=True)
    assert np.allclose(unit, smooth / np.linalg.norm(smooth, axis=1, keepdims=True), atol=1e-5)
    with pytest.raises(gv.InputError, match="representation"):
        representation(model, "every")


def test_path_masking_hides_the_steps_of_random_walks():
    """mask_paths: one step from each of round(rate*n) distinct start nodes hides one of its edges, chosen
    uniformly (chi-square-free check: every neighbour's share near 1/degree); longer walks continue from
    the previous step's end; the visible graph is the symmetrized rest."""
    from graphvae.objectives.masking import mask_paths

    pairs = lambda e: set(zip(*np.asarray(e).tolist()))
    g = gv.as_graph(two_communities(10))
    n, edges = int(g.num_nodes), g.edge_index
    all_pairs, gen = pairs(edges), torch.Generator().manual_seed(2)
    visible, hidden = mask_paths(edges, n, 0.5, walk_length=1, generator=gen)
    starts = hidden[0].tolist()
    assert len(starts) == len(set(starts)) == round(0.5 * n)  # every node has a neighbour here
    kept = all_pairs - pairs(hidden)
    assert pairs(visible) == kept | {(v, u) for u, v in kept}
    hub = int(torch.bincount(edges[0]).argmax())
    counts, draws = {}, 0
    for _ in range(400):
        _, hid = mask_paths(edges, n, 0.99, walk_length=1, generator=gen)
        for u, v in zip(*hid.tolist()):
            if u == hub:
                counts[v] = counts.get(v, 0) + 1
                draws += 1
    degree = sum(1 for u, _ in all_pairs if u == hub)
    assert len(counts) == degree and max(abs(c / draws - 1 / degree) for c in counts.values()) < 0.08
    _, hid = mask_paths(edges, n, 0.3, walk_length=3, generator=gen)
    sources, targets = set(hid[0].tolist()), set(hid[1].tolist())
    assert len(sources - targets) <= round(0.3 * n)  # a step starts at a start node or where a step ended


def test_maskgae_cat_composes_maskgaes_node_classification_recipe():
    """maskgae-cat: the zoo's maskgae with a 128-64 ELU GCN, path masking and a 32-unit edge decoder; its
    embedding is both layers' outputs concatenated (what representation() gives)."""
    from graphvae.estimators.node_embeddings import fit_embeddings, probe_c, representation

    g = gv.as_graph(two_communities(40))
    z, model = fit_embeddings(g, "maskgae-cat", random_state=0, epochs=2)
    assert (model.hidden, model.latent, model.activation, model.mask_mode) == ((128,), 64, "elu", "path")
    assert (model.decoder, model.decoder_hidden, model.batch_norm, model.early_stopping) == ("mlp", 32, True, False)
    assert z.shape == (80, 192) and probe_c("maskgae-cat") == 0.03
    assert np.allclose(z, representation(model, "layers", 0), atol=1e-6)


def test_cluster_axes_of_one_dimensional_points_do_not_repeat_the_axis():
    # with --latent 1 the second axis was a copy of the first: every point plotted on the diagonal
    from graphvae.evaluation.plots import cluster_axes

    _, axes = cluster_axes(np.array([[0.0], [1.0], [5.0], [6.0]]), np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(np.abs(axes), [[1.0], [0.0]])


def test_embed_map_names_its_colours_after_the_labels_column(tmp_path, monkeypatch):
    """``embed --plot --labels`` with a ``cluster --out`` file colours by cluster, and the legend says "cluster" (it
    said "label"); a file without a header, or pandas' unnamed column, keeps "label"."""
    from graphvae.data.graph_files import label_column_name
    from graphvae.evaluation import plots

    g, edges, labels = graph_and_labels(tmp_path, 20)
    assert main(["cluster", "--edges", str(edges), "--clusters", "3", "--model", "gae", "--epochs", "3",
                 "--no-progress", "--out", str(tmp_path / "c.csv")]) == 0
    titles = []
    real = plots.plot_latent_map
    monkeypatch.setattr(plots, "plot_latent_map", lambda *a, **kw: titles.append(kw["legend_title"]) or real(*a, **kw))
    for file in (tmp_path / "c.csv", labels):
        assert main(["embed", "--edges", str(edges), "--out", str(tmp_path / "z.npy"), "--epochs", "3",
                     "--no-progress", "--plot", str(tmp_path / "p"), "--labels", str(file)]) == 0
    ids = [f"n{i}" for i in range(40)]
    (tmp_path / "series.csv").write_text(",0\n" + "".join(f"n{i},{i % 2}\n" for i in range(40)))
    (tmp_path / "named.csv").write_text(",community\n" + "".join(f"n{i},{i % 2}\n" for i in range(40)))
    assert titles == ["cluster", "label"]  # y.csv's header: id,label
    graph_ids = [str(v) for v in g.nodes]  # c.csv holds the graph's nodes; the other two files the ids above
    assert [label_column_name(tmp_path / f, graph_ids if f == "c.csv" else ids)
            for f in ("c.csv", "series.csv", "named.csv")] == \
        ["cluster", None, "community"]
