"""Defects of the Python API found by the second audit (2026-12-03), each with the input that exposed it."""
import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.estimators.base import NotFittedError
from graphvae.estimators.zoo import make_model


def weighted_partition():
    g = nx.planted_partition_graph(3, 30, 0.3, 0.02, seed=1)
    weighted = g.copy()
    for u, v in weighted.edges:
        weighted[u][v]["weight"] = 1 + 4 * ((u + v) % 2)
    return g, weighted


@pytest.mark.parametrize("name", ["gnae", "vgnae", "gnae-wd", "maskgae"])
def test_models_with_unfolded_features_train_on_weighted_graphs(name):
    # the weighted Â was built with the features folded in, which the normalized head refuses (a ValueError from
    # every normalized model and from classify's and cluster's defaults on any weighted edge list) and which made
    # MaskGAE's input dropout drop entries of ÂX instead of X
    g, weighted = weighted_partition()
    model = make_model(name, early_stopping=False, latent=8, epochs=3, random_state=0).fit(weighted)
    assert not model.input_.propagated and np.isfinite(model.embed()).all()
    if name != "maskgae":  # weights enter Â of the models that do not hide edges
        plain = make_model(name, early_stopping=False, latent=8, epochs=3, random_state=0).fit(g)
        assert not np.allclose(plain.embed(), model.embed())


@pytest.mark.parametrize("options", [{"mask_rate": 0.3}, {"hidden_edges": 0.2}])
def test_models_that_hide_edges_train_and_embed_on_the_same_operator(options):
    # their corrupted views are built from the unweighted graph; embed() used the weighted Â all the same
    g, weighted = weighted_partition()
    a = gv.GAE(epochs=5, latent=8, random_state=0, **options).fit(g)
    b = gv.GAE(epochs=5, latent=8, random_state=0, **options).fit(weighted)
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    assert np.array_equal(a.embed(), b.embed())


def test_graph_autoencoder_embeds_with_the_operator_it_trained_with():
    _, weighted = weighted_partition()
    auto = gv.Autoencoder(hidden=8, latent=2, epochs=3, random_state=0).fit(weighted)
    reference = gv.Autoencoder(hidden=8, latent=2, epochs=3, random_state=0).graph_model().fit(weighted).embed()
    np.testing.assert_array_equal(auto.transform(), reference)          # was the unweighted Â: 0.15 apart
    np.testing.assert_array_equal(auto.transform(weighted), reference)  # a networkx graph is read as a graph
    assert gv.Autoencoder(hidden=8, latent=2, epochs=2).fit_transform(weighted).shape == (90, 2)
    with pytest.raises(gv.InputError, match="features per node"):
        auto.transform(gv.as_graph(nx.path_graph(5), features=np.ones((5, 3))))   # was silently embedded
    # featureless: a graph of fitted nodes is embedded by id (test_api_audit4); a graph of other nodes is refused
    assert auto.transform(gv.as_graph(nx.path_graph(5))).shape == (5, 2)
    with pytest.raises(gv.InputError, match="fitted without node features"):
        auto.transform(gv.as_graph(nx.path_graph(["a", "b"])))
    with pytest.raises(gv.InputError, match="node pairs must index nodes"):
        auto.score(torch.tensor([[0], [99]]), torch.tensor([[0], [1]]))
    with pytest.raises(NotFittedError):
        gv.Autoencoder().hidden_activations(np.zeros((2, 4)))


def test_a_failed_fit_leaves_no_fitted_model():
    model = gv.GAE(epochs=5, latent=4, lr=1e10)
    with pytest.raises(gv.InputError, match="training diverged"):
        model.fit(nx.karate_club_graph())
    with pytest.raises(NotFittedError):  # embedded NaN and scored NaN without a word
        model.embed()
    with pytest.raises(NotFittedError):  # an AttributeError on node_ids_
        gv.VGAE().embedding_dict()


def test_batched_seeds_are_checked_and_their_models_complete():
    from graphvae.estimators.batched import fit_seeds

    splits = [gv.split_edges(nx.karate_club_graph(), seed=s) for s in (0, 1)]
    models = fit_seeds(gv.VGAE(epochs=3, hidden=16, latent=8), splits, [0, 1])
    assert list(models[0].embedding_dict()) == list(range(34))  # node_ids_ was missing
    np.testing.assert_array_equal(models[0].embed(splits[0]), models[0].embed())  # a LinkSplit embeds its training graph
    for seeds in ([-1, 2], [True, 2]):
        with pytest.raises(gv.InputError, match="random_state"):
            fit_seeds(gv.VGAE(epochs=3), splits, seeds)
    with pytest.raises(gv.InputError, match="LinkSplit"):
        fit_seeds(gv.VGAE(epochs=3), [s.graph for s in splits], [0, 1])


@pytest.mark.parametrize("options", [{"decoder": "mlp"}, {"mask_rate": 0.5}])
def test_a_complete_graph_is_refused_with_its_reason(options):
    with pytest.raises(gv.InputError, match="complete graph"):  # a ZeroDivisionError with the MLP decoder
        gv.GAE(epochs=3, latent=2, hidden=2, **options).fit(nx.complete_graph(5))


def test_hand_built_graphs_and_pyg_inputs_are_checked():
    from torch_geometric.data import Data

    from graphvae.data.graph import Graph

    g = gv.as_graph(nx.karate_club_graph())  # weighted, in the cleaned order
    order = torch.argsort(g.edge_index[1] * 34 + g.edge_index[0])  # another valid edge order of the same graph
    shuffled = Graph(g.x, g.edge_index[:, order], 34, g.node_ids)
    shuffled.edge_weight = g.edge_weight[order]
    replaced = gv.as_graph(shuffled, features=np.ones((34, 3)))  # the edges were re-cleaned, the weights not
    assert torch.equal(replaced.edge_index, shuffled.edge_index)
    assert torch.equal(torch.as_tensor(replaced.edge_weight), torch.as_tensor(shuffled.edge_weight))
    assert replaced.x.shape == (34, 3) and replaced.x.dtype == torch.float32
    for x in (torch.ones(34, 2, dtype=torch.float64), np.ones((34, 2))):  # bare dtype/attribute errors before
        assert gv.GAE(epochs=2, latent=2).fit(Graph(x, g.edge_index, 34)).embed().shape == (34, 2)
    for bad, message in ((Graph(g.x, g.edge_index.numpy(), 34), "int64 torch tensor"),
                         (Graph(g.x, g.edge_index + 40, 34), "endpoints must lie in 0..33"),
                         (Graph(torch.ones(30, 2), g.edge_index, 34), "30 rows but the graph has 34 nodes")):
        with pytest.raises(gv.InputError, match=message):
            gv.GAE(epochs=2, latent=2).fit(bad)
    with pytest.raises(gv.InputError, match="one weight per edge"):
        gv.as_graph(Data(edge_index=g.edge_index, edge_weight=torch.rand(5), num_nodes=34))
    assert gv.as_graph(Data(x=torch.eye(34).to_sparse_csr(), edge_index=g.edge_index, num_nodes=34)).x.layout \
        == torch.sparse_csr  # was made dense
    for features, message in ((np.array([["a"] * 3] * 34), "must be numbers"), (np.ones((34, 3)) * 1j, "real numbers")):
        with pytest.raises(gv.InputError, match=message):
            gv.as_graph(g, features=features)


def test_image_models_check_their_arguments():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = digits.data[:200] / 16, digits.target[:200]
    vae = gv.ImageVAE(epochs=1, latent=2, random_state=0).fit(x)
    for call, name in ((lambda: vae.elbo(x, num_samples=0), "num_samples"),  # ZeroDivisionError
                       (lambda: vae.elbo(x, num_samples=-1), "num_samples"),  # silently 0.0
                       (lambda: vae.iwae(x, k=2.5), "k"), (lambda: vae.sample(-1), "n"),
                       (lambda: vae.elbo(x, random_state=None), "random_state")):
        with pytest.raises(gv.InputError, match=name):
            call()
    stacked = gv.StackedAutoencoder(pretrain_epochs=1, finetune_epochs=1)
    with pytest.raises(NotFittedError):  # an AttributeError on classes_
        stacked.predict(x)
    with pytest.raises(gv.InputError, match=r"Bernoulli pixels must lie in \[0, 1\]"):  # the loss ran unbounded
        stacked.fit(digits.data[:200], y)
    for labels, message in ((np.linspace(0, 1, 200), "class labels"), (np.where(y > 4, np.nan, 1.0), "NaN")):
        with pytest.raises(gv.InputError, match=message):  # 200 classes; NaN a class
            stacked.fit(x, labels)
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):  # a column vector of labels is taken, with scikit-learn's warning
        stacked.fit(x, y.reshape(-1, 1))
    assert stacked.n_features_in_ == 64
    with pytest.raises(gv.InputError, match="10 pixels, the model was fitted on 64"):
        stacked.predict(x[:, :10])


def test_pair_and_id_inputs_are_refused_with_input_errors():
    from torch_geometric.data import Data

    model = gv.GAE(epochs=2, latent=4).fit(nx.karate_club_graph())
    for pairs, message in (([[0, 1], [2]], "shape"), (torch.tensor([[True], [False]]), "integer"),
                           (np.array([[0], [2**63 + 5]], dtype=np.uint64), "index nodes 0..33")):
        with pytest.raises(gv.InputError, match=message):  # a numpy ValueError; accepted; a wrapped negative index
            model.predict_proba(pairs)
    with pytest.raises(gv.InputError, match="at least one positive"):  # a plain ValueError
        model.score(torch.zeros(2, 0, dtype=torch.long), torch.tensor([[0], [1]]))
    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    data.node_ids = ["a", "a"]  # embedding_dict collapsed to one entry
    with pytest.raises(gv.InputError, match="name each of the 2 nodes once"):
        gv.as_graph(data)
