"""Defects of the Python API found by the third audit (graphs in, embeddings out, probe and clustering), each with
the input that exposed it."""
import os
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.data.embedding_files import load_embeddings, save_embeddings
from graphvae.evaluation import node_tasks as nt

UNICODE_IDS = ["\u65e5\u672c", "caf\u00e9", "\U0001f600", "x"]


def test_embedding_text_files_are_utf8_whatever_the_locale(tmp_path):
    # .emb and .csv were written and read in the locale's encoding: UnicodeEncodeError under an ASCII locale (and
    # cp1252 files that gensim, which reads UTF-8, misreads on Windows)
    script = ("import numpy as np, sys\n"
              "from graphvae.data.embedding_files import save_embeddings, load_embeddings\n"
              f"ids = {ascii(UNICODE_IDS)}\n"  # an ASCII command line
              "for ext in ('.emb', '.csv'):\n"
              "    save_embeddings(sys.argv[1] + ext, np.eye(4), ids)\n"
              "    assert load_embeddings(sys.argv[1] + ext)[0] == ids\n")
    env = {**os.environ, "LC_ALL": "POSIX", "LANG": "POSIX", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0",
           "PYTHONIOENCODING": "ascii:backslashreplace"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "z")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    for ext in (".emb", ".csv"):
        assert "\u65e5\u672c" in (tmp_path / f"z{ext}").read_bytes().decode("utf-8")
        assert load_embeddings(tmp_path / f"z{ext}")[0] == UNICODE_IDS


def test_emb_reader_takes_the_word2vec_tools_trailing_spaces(tmp_path):
    # the word2vec C tool writes "id v1 ... vd \n"; gensim reads it, load_embeddings refused it as not word2vec
    path = tmp_path / "c.emb"
    path.write_text("2 2\na 0.5 -1 \nb 2 3 \n")
    ids, z = load_embeddings(path)
    assert ids == ["a", "b"] and np.array_equal(z, [[0.5, -1], [2, 3]])
    path.write_text("2 2\na 0.5 -1 7\nb 2 3\n")
    with pytest.raises(gv.InputError, match="word2vec"):
        load_embeddings(path)


@pytest.mark.parametrize("suffix", [".csv", ".emb", ".npz"])
def test_ids_written_as_the_same_text_are_refused(tmp_path, suffix):
    # networkx nodes 1 and "1" are two nodes, but both were written as "1": a reader keeps one of two vectors
    g = nx.Graph([(1, "1"), ("1", 2)])
    model = gv.GAE(epochs=2, latent=2, random_state=0).fit(g)
    assert len(model.embedding_dict()) == 3
    with pytest.raises(gv.InputError, match="both written as '1'"):
        save_embeddings(tmp_path / f"z{suffix}", model.embed(), model.node_ids_)
    assert not (tmp_path / f"z{suffix}").exists()


def test_pyg_edge_weights_and_features_of_any_float_dtype_or_requiring_grad():
    from torch_geometric.data import Data

    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    learned = torch.tensor([1.0, 1.0, 2.5, 2.5], requires_grad=True)  # RuntimeError: numpy() of a grad tensor
    for w in (learned, learned.detach().bfloat16()):                  # TypeError: unsupported ScalarType BFloat16
        g = gv.as_graph(Data(edge_index=ei, edge_weight=w, num_nodes=3))
        assert g.edge_weight.tolist() == [1.0, 2.5, 1.0, 2.5]
    g = gv.as_graph(Data(edge_index=ei, x=torch.ones(3, 2, dtype=torch.bfloat16), num_nodes=3))
    assert g.x.dtype == torch.float32 and g.x.tolist() == [[1.0, 1.0]] * 3
    g = gv.as_graph(nx.path_graph(3), features=torch.eye(3, dtype=torch.bfloat16).to_sparse())
    assert g.x.to_dense().tolist() == torch.eye(3).tolist()


def test_pyg_node_ids_given_as_a_tensor_are_plain_ids(tmp_path):
    # they stayed 0-d tensors: embedding_dict()[10] was a KeyError (tensors hash by identity) and the saved files
    # named the nodes "tensor(10)"
    from torch_geometric.data import Data

    data = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3, node_ids=torch.tensor([10, 20, 30]))
    model = gv.GAE(epochs=2, latent=2, random_state=0).fit(data)
    assert model.node_ids_ == [10, 20, 30] and set(model.embedding_dict()) == {10, 20, 30}
    save_embeddings(tmp_path / "z.csv", model.embed(), model.node_ids_)
    assert load_embeddings(tmp_path / "z.csv")[0] == ["10", "20", "30"]
    assert gv.as_graph(Data(edge_index=data.edge_index, num_nodes=3, node_ids=np.array(["a", "b", "c"]))).node_ids \
        == ["a", "b", "c"]


def test_a_pyg_batch_is_a_graph():
    # a DataLoader's batch (class DataBatch, made in module abc) was refused: "cannot make a graph from DataBatch:
    # pass ... a torch_geometric Data"
    from torch_geometric.data import Batch, Data

    part = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    g = gv.as_graph(Batch.from_data_list([part, part]))
    assert (g.num_nodes, g.num_edges) == (6, 4)
    with pytest.raises(TypeError, match="cannot make a graph from list"):
        gv.as_graph([[0, 1]])


def _two_blobs():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(0, 1, (10, 3)), rng.normal(6, 1, (10, 3))])


def test_probe_and_scores_refuse_missing_labels_and_bad_indices():
    # raw labels with None or NaN reached scikit-learn ("'<' not supported between 'str' and 'NoneType'", "Input y
    # contains NaN"); indices out of range or of floats were IndexErrors; a string C a TypeError
    z, train, test = _two_blobs(), np.arange(0, 20, 2), np.arange(1, 20, 2)
    y = ["a"] * 10 + ["b"] * 10
    assert nt.probe_scores(z, y, train, test, C=1.0)["accuracy"] == 1.0
    for bad in (["a", None] + y[2:], [1.0, np.nan] + [1.0] * 8 + [2.0] * 10):
        for call in (lambda: nt.probe_scores(z, bad, train, test), lambda: nt.label_splits(bad, folds=2),
                     lambda: nt.cluster_scores(bad, [0] * 10 + [1] * 10)):
            with pytest.raises(gv.InputError, match="missing value"):
                call()
    for rows in (np.arange(0, 40, 2), train.astype(float), [-1, 2]):
        with pytest.raises(gv.InputError, match="training nodes must be integer indices"):
            nt.probe_scores(z, y, rows, test)
    with pytest.raises(gv.InputError, match="at least 2 classes"):
        nt.probe_scores(z, y, [], test)
    # training nodes among the test nodes: the probe scored nodes it was trained on (a leak), silently
    mask = np.zeros(20, dtype=bool)
    mask[:12] = True
    for overlap in (np.arange(0, 12), mask):
        with pytest.raises(gv.InputError, match=r"2 node\(s\) are both training and test nodes .*row 1\b"):
            nt.probe_scores(z, y, overlap, np.r_[1, 3, np.arange(13, 20, 2)])
    with pytest.raises(gv.InputError, match="positive finite number"):
        nt.probe_scores(z, y, train, test, C="1")
    with pytest.raises(gv.InputError, match="test fraction"):
        nt.label_splits(y, test_size="0.5")
    with pytest.raises(gv.InputError, match="no labelled nodes"):
        nt.label_splits([], folds=2)
    assert nt.cluster_scores(np.array(y)[:, None], [0] * 10 + [1] * 10)["acc"] == 1.0  # a column vector


def test_missing_values_of_numpy_and_pandas_are_unlabelled():
    labels = ["a"] * 5 + [np.datetime64("NaT")] + ["b"] * 5
    assert nt.encode_labels(labels)[2] == ["a", "b"]
    pd = pytest.importorskip("pandas")
    # nullable pandas columns hold pd.NA, which became a class '<NA>' (the docstring: missing values are unlabelled)
    for series in (pd.Series(["a"] * 5 + [None] + ["b"] * 5, dtype="string"),
                   pd.Series([1] * 5 + [None] + [2] * 5, dtype="Int64")):
        labelled, codes, names = nt.encode_labels(series)
        assert len(names) == 2 and 5 not in labelled and codes.tolist() == [0] * 5 + [1] * 5
        with pytest.raises(gv.InputError, match="missing value"):
            nt.cluster_scores(series, [0] * 11)


def test_embeddings_that_are_not_real_numbers_are_refused():
    z = _two_blobs()
    with pytest.raises(gv.InputError, match="must be numbers"):
        nt.cluster(np.full((20, 3), "a"), 2)            # was a ValueError from numpy
    with pytest.raises(gv.InputError, match="real numbers"):
        nt.cluster(z + 1j, 2)                           # the imaginary part was dropped with a ComplexWarning
    assert nt.cluster(z.tolist(), 2)["labels"].tolist() in ([0] * 10 + [1] * 10, [1] * 10 + [0] * 10)


def test_fit_embeddings_refuses_options_it_would_ignore():
    from graphvae.estimators.node_embeddings import embedding_config, fit_embeddings

    g = nx.karate_club_graph()
    # a misspelt option trained the named model unchanged (here 200 epochs); hops=1.5 was truncated to 1
    with pytest.raises(TypeError, match="unknown option epoch of embedding model 'gae'"):
        fit_embeddings(g, "gae", epoch=2)
    with pytest.raises(gv.InputError, match="unknown option combine"):
        embedding_config("gnae-maskgae-s2gc", combine="blocks")
    for hops in (1.5, "2"):
        with pytest.raises(gv.InputError, match="hops must be an integer"):
            fit_embeddings(g, "gae", hops=hops, epochs=2)
    # denoising options were ignored by the models not taken from the zoo (gae, vgae, ...), variational by the zoo's
    plain, _ = fit_embeddings(g, "gae", epochs=3, latent=4)
    noisy, model = fit_embeddings(g, "gae", epochs=3, latent=4, hidden_edges=0.3, feature_noise=0.3)
    assert model.hidden_edges == 0.3 and model.feature_noise == 0.3 and not np.allclose(plain, noisy)
    _, model = fit_embeddings(g, "gnae-wd", epochs=2, latent=4, variational=True)
    assert model.variational


def test_identity_features_are_recognised_after_a_round_trip_through_pyg():
    """``to_pyg`` writes a featureless graph's identity densely; the composed embedding model must still see "no
    features" (else it adds an N x N propagated-feature block: 31 MB on Cora's size, N^2 floats in general)."""
    import networkx as nx
    import torch

    from graphvae.data.graph import has_identity_features

    graph = gv.as_graph(nx.karate_club_graph())
    assert has_identity_features(graph)
    back = gv.as_graph(graph.to_pyg())  # a dense identity of 1/34 non-zeros: stored sparse again
    assert back.x.layout == torch.sparse_csr and has_identity_features(back)
    small = gv.as_graph(gv.as_graph(nx.path_graph(5)).to_pyg())  # 1/5 non-zeros: stays dense
    assert small.x.layout == torch.strided and has_identity_features(small)
    permutation = torch.eye(34)[torch.randperm(34, generator=torch.Generator().manual_seed(0))]
    assert not torch.equal(permutation, torch.eye(34))
    assert not has_identity_features(gv.as_graph(nx.karate_club_graph(), features=permutation.numpy()))
    assert not has_identity_features(gv.as_graph(nx.karate_club_graph(), features=2 * torch.eye(34).numpy()))


def test_second_api_audit_findings():
    """The API audit of 2026-12-05: deep copies, ids that print alike through PyG, matched accuracy's errors."""
    import copy

    import networkx as nx

    karate = nx.karate_club_graph()
    model = gv.VGAE(latent=4, hidden=8, epochs=3).fit(karate)
    twin = copy.deepcopy(model)  # NotImplementedError: Cannot access storage of SparseCsrTensorImpl
    pairs = np.array([[0, 1, 2], [3, 4, 5]])
    assert twin.objective_ is not model.objective_
    assert np.array_equal(twin.predict_proba(pairs), model.predict_proba(pairs))
    graph = gv.as_graph(karate)
    assert torch.equal(copy.deepcopy(graph).x.to_dense(), graph.x.to_dense())
    mixed = nx.Graph([(3, "3"), ("3", 2.5), (2.5, (1, 2)), ((1, 2), 3)])  # 3 and "3" are two nodes, as in networkx
    assert gv.as_graph(gv.as_graph(mixed).to_pyg()).node_ids == [3, "3", 2.5, (1, 2)]
    graph.name = "karate"
    assert gv.as_graph(graph.to_pyg()).name == "karate"  # to_pyg did not write it, as_graph reads it
    for y, pred in (([0, 1, 1], [0, 1]), ([], [])):  # an IndexError and a ValueError of numpy's
        with pytest.raises(gv.InputError, match="same length"):
            gv.matched_accuracy(y, pred)
    assert gv.matched_accuracy([0, 1, 1, 2], [2, 0, 0, 1]) == 1.0


def test_dense_bag_of_words_features_are_stored_sparse_and_train_the_same_model():
    """PyG's Planetoid gives dense x: its fit drew other dropout masks than graphvae's sparse Cora (and its X W was a
    dense product, ~40x the work); mostly-zero dense features are now stored as CSR."""
    import networkx as nx

    rng = np.random.default_rng(0)
    karate = nx.karate_club_graph()
    words = (rng.random((34, 50)) < 0.05).astype(np.float32)
    dense = rng.normal(size=(34, 8)).astype(np.float32)
    assert gv.as_graph(karate, features=words).x.layout == torch.sparse_csr
    assert gv.as_graph(karate, features=dense).x.layout == torch.strided
    graph = gv.as_graph(karate, features=words)
    data = graph.to_pyg()
    assert data.x.layout == torch.strided  # PyG's convention: dense x
    for name in ("maskgae", "vgae"):  # maskgae: dropout on the features, drawn per stored entry
        a = gv.make_model(name, latent=4, epochs=3, early_stopping=False, random_state=0).fit(graph).embed()
        b = gv.make_model(name, latent=4, epochs=3, early_stopping=False, random_state=0).fit(data).embed()
        assert np.array_equal(a, b), name
