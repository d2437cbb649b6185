"""Bad input found by the API audit of 2026-12-06: each raised a deep scikit-learn, numpy or torch error (or lost
data silently) and is now one :class:`graphvae.InputError` line."""
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.evaluation.node_tasks import cluster, cluster_scores, probe_scores


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    return rng.random((30, 4)), np.arange(30) % 3


def test_probe_refuses_continuous_targets_and_seeds_scikit_learn_cannot_take(points):
    z, y = points
    with pytest.raises(gv.InputError, match="labels must be classes, got non-integer numbers"):
        probe_scores(z, np.random.default_rng(1).normal(size=30), np.arange(15), np.arange(15, 30))
    assert 0 <= probe_scores(z, y.astype(float), np.arange(15), np.arange(15, 30))["accuracy"] <= 1  # 0.0, 1.0: classes
    for call in (lambda: probe_scores(z, y, np.arange(15), np.arange(15, 30), random_state=-1),
                 lambda: cluster(z, 2, random_state=2**32)):
        with pytest.raises(gv.InputError, match="random_state must be an integer from 0 to 4294967295"):
            call()


def test_cluster_scores_check_the_cluster_labels_too(points):
    _, y = points
    for pred, shown in ((np.r_[np.nan, y[1:]], "nan"), ([None] * 30, "None")):
        with pytest.raises(gv.InputError, match=rf"cluster labels: the label of row 0 is a missing value \({shown}\)"):
            cluster_scores(y, pred)
    assert cluster_scores(y, y) == {"acc": 1.0, "nmi": 1.0, "ari": 1.0}


def test_finite_embeddings_too_large_to_standardize_are_refused(points):
    z, y = points
    for call in (lambda: cluster(z * 1e300, 2), lambda: probe_scores(z * 1e300, y, np.arange(15), np.arange(15, 30))):
        with pytest.raises(gv.InputError, match="too large to standardize"):
            call()


def test_save_embeddings_refuses_text_and_complex_values(tmp_path):
    for suffix in (".csv", ".npz", ".emb", ".npy"):
        with pytest.raises(gv.InputError, match="embeddings must be numbers, got dtype <U1"):
            gv.save_embeddings(tmp_path / f"z{suffix}", np.array([["x", "y"]] * 2), ["a", "b"])
        with pytest.raises(gv.InputError, match="embeddings must be real numbers"):  # .npz used to drop the imaginary part
            gv.save_embeddings(tmp_path / f"z{suffix}", np.ones((2, 2)) * 1j, ["a", "b"])
    assert not list(tmp_path.iterdir())
    gv.save_embeddings(tmp_path / "z.csv", np.ones((2, 2), dtype=int), ["a", "b"])  # integers are numbers
    assert gv.load_embeddings(tmp_path / "z.csv")[1].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_image_errors_stay_short_and_stacked_score_checks_its_labels():
    with pytest.raises(gv.InputError) as error:
        gv.ImageVAE(epochs=1).fit(np.random.default_rng(0).random(784))
    assert "got 1D array instead" in str(error.value) and len(str(error.value)) < 400  # it listed all 784 values
    x, y = np.random.default_rng(0).random((40, 16)), np.arange(40) % 2
    model = gv.StackedAutoencoder(pretrain_epochs=1, finetune_epochs=1, random_state=0).fit(x, y)
    with pytest.raises(gv.InputError, match=r"y must hold one label per row of X \(40\), got 39"):
        model.score(x, y[:-1])
    assert 0 <= model.score(x, y) <= 1


def test_pyg_edges_beyond_the_rows_of_x_say_where_the_node_count_comes_from():
    from torch_geometric.data import Data

    edges = torch.tensor([[0, 1, 2], [1, 2, 0]])
    with pytest.raises(gv.InputError, match=r"edge_index names node 2 but the graph has 2 nodes \(PyG counts them from "
                                            r"the 2 rows of x\)"):
        gv.as_graph(Data(x=torch.ones(2, 3), edge_index=edges))
    with pytest.raises(gv.InputError, match=r"has 2 nodes \(num_nodes\)"):
        gv.as_graph(Data(x=torch.ones(2, 3), edge_index=edges, num_nodes=2))
