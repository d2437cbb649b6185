"""Degenerate graphs: one clear InputError from the API, one line and exit status 2 from the CLI."""
from __future__ import annotations

import numpy as np
import networkx as nx
import pytest

import graphvae as gv
from graphvae.cli import main

EMPTY = np.array([], dtype=np.int64)

API_CASES = {
    "no nodes": (lambda: gv.as_graph(nx.Graph()), 1, "has 0 nodes"),
    "a single node": (lambda: gv.build_graph(EMPTY, EMPTY, 1), 1, "has 1 node"),
    "all nodes isolated": (lambda: gv.build_graph(EMPTY, EMPTY, 5), 2, "no edges between distinct nodes"),
    "only self-loops": (lambda: gv.build_graph(np.arange(5), np.arange(5), 5), 2, "5 self-loops were dropped"),
    "fewer nodes than latent dimensions": (lambda: gv.as_graph(nx.path_graph(5)), 16, "exceeds the number of nodes"),
}


@pytest.mark.parametrize("case", list(API_CASES))
@pytest.mark.parametrize("estimator", [gv.VGAE, gv.GAE])
def test_estimators_refuse_degenerate_graphs(case, estimator):
    make, latent, message = API_CASES[case]
    with pytest.raises(gv.InputError, match=message) as e:
        estimator(latent=latent, epochs=1).fit(make())
    assert "\n" not in str(e.value)


def test_graph_autoencoder_refuses_an_edgeless_graph():
    with pytest.raises(gv.InputError, match="no edges"):
        gv.Autoencoder(latent=2, epochs=1).fit(gv.build_graph(EMPTY, EMPTY, 4))


def test_smallest_trainable_graph_trains():
    # two nodes and one edge, latent 1: the boundary of the checks above. Â = [[1/2, 1/2], [1/2, 1/2]] gives both
    # nodes the same row whatever their features, so the fit says that it cannot tell them apart
    with pytest.warns(gv.CollapseWarning, match="every one of the 2 nodes got the same embedding"):
        z = gv.GAE(hidden=2, latent=1, epochs=3).fit(gv.as_graph(nx.path_graph(2))).embed()
    assert z.shape == (2, 1) and np.isfinite(z).all() and z[0] == z[1]


def test_features_without_columns_and_embedding_a_graph_of_another_width():
    with pytest.raises(gv.InputError, match="no columns"):
        gv.as_graph(nx.path_graph(4), features=np.zeros((4, 0)))
    model = gv.GAE(latent=2, epochs=1).fit(gv.as_graph(nx.path_graph(4)))
    with pytest.raises(gv.InputError, match="3 features per node but the model was fitted with 4"):
        model.embed(gv.as_graph(nx.path_graph(3), features=np.eye(3) * 2))
    # identity features: nodes 0-2 are nodes of the fitted graph, embedded by id (test_api_audit4)
    assert model.embed(gv.as_graph(nx.path_graph(3))).shape == (3, 2)


def test_splitting_degenerate_graphs():
    with pytest.raises(gv.InputError, match="too few to split"):
        gv.split_edges(gv.as_graph(nx.path_graph(5)))
    with pytest.raises(gv.InputError, match="too dense"):
        gv.split_edges(gv.as_graph(nx.complete_graph(30)))


CLI_CASES = [
    ("a,a\nb,b\n", [], "no edges between distinct nodes (2 self-loops were dropped)"),
    ("# only a comment\n", [], "no edges"),
    ("a,b\n", ["--latent", "3"], "the latent dimension (3) exceeds the number of nodes (2)"),
    ("a,b\nb,c\nc,a\n", ["--latent", "2"], "too few to split"),
]


@pytest.mark.parametrize("text,args,message", CLI_CASES)
@pytest.mark.parametrize("command", ["linkpred", "embed"])
def test_cli_degenerate_graphs_one_line_exit_2(tmp_path, capsys, command, text, args, message):
    edges = tmp_path / "edges.csv"
    edges.write_text(text)
    extra = ["--out", str(tmp_path / "z.npy")] if command == "embed" else []
    if command == "embed" and "split" in message:  # embed trains on all edges: nothing is split, the triangle embeds
        import warnings

        with warnings.catch_warnings():  # the command reports the warning itself, as one "warning:" line
            warnings.simplefilter("default", gv.CollapseWarning)
            assert main([command, "--edges", str(edges), "--epochs", "1", "--no-progress", *args, *extra]) == 0
        assert np.load(tmp_path / "z.npy").shape == (3, 2)
        err = capsys.readouterr().err  # a featureless cycle: every node alike
        assert "warning: every one of the 3 nodes got the same embedding" in err and "error:" not in err
        return
    assert main([command, "--edges", str(edges), "--epochs", "1", "--no-progress", *args, *extra]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "z.npy").exists()
