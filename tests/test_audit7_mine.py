"""Audit fixes of 2026-12-06 (night) outside the helpers' areas; each test fails on the code before its fix."""
from __future__ import annotations

import networkx as nx
import pytest

from graphvae import InputError
from graphvae.estimators.autoencoders import Autoencoder


def _digits():
    from graphvae.data.images import load_digits

    return load_digits()[0][:64]


@pytest.mark.parametrize("kind, options", [("contractive", {}), ("sparse", {"sparse_penalty": "l1"}),
                                           ("sparse", {"sparse_penalty": "kl", "activation": "sigmoid"})])
def test_autoencoder_divergence_advice_names_its_own_parameter(kind, options):
    """``ae --kind contractive --weight 1e300`` advised checking ``contractive=1e+300``: a parameter of the inner
    model that neither the estimator nor the command has."""
    with pytest.raises(InputError, match=r"check weight=1e\+300, far outside the usual range") as error:
        Autoencoder(kind=kind, weight=1e300, epochs=2, progress=False, **options).fit(_digits())
    for inner in ("contractive=", "sparsity_weight=", "activation_l1="):
        assert inner not in str(error.value)


def test_graph_denoising_autoencoder_refuses_a_noise_level_above_one_in_its_own_terms():
    """On a graph ``noise_level`` is the share of masked feature entries; 5 was refused as "The 'feature_noise'
    parameter of GAE", a parameter of the inner model the user never set (also from ``graphvae ae``)."""
    with pytest.raises(InputError, match=r"^noise level must be in \[0, 1\] \(the share of feature entries masked on "
                                         r"a graph\), got 5$") as error:
        Autoencoder(kind="denoising", noise_level=5, epochs=3, progress=False).fit(nx.karate_club_graph())
    assert "feature_noise" not in str(error.value)


def test_sparse_kl_autoencoder_divergence_is_an_input_error_not_a_distribution_error():
    """A diverged sparse (KL) autoencoder raised torch.distributions' ValueError (a traceback from the CLI) listing
    64 NaN probabilities; the divergence is now reported as such."""
    with pytest.raises(InputError, match=r"^training diverged: .*check weight=1e\+300"):
        Autoencoder(kind="sparse", sparse_penalty="kl", activation="sigmoid", weight=1e300, epochs=2,
                    progress=False).fit(_digits())


def test_ae_json_rows_of_every_seed_have_the_same_keys(tmp_path):
    """``graphvae ae --seeds 2 --json``: the second seed's row held ``"figures": []``, the first's no such key."""
    import json

    from graphvae.cli import main

    out = tmp_path / "a.json"
    assert main(["ae", "--epochs", "1", "--seeds", "2", "--no-progress", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["seeds"]
    assert [r["seed"] for r in rows] == [0, 1]
    assert set(rows[0]) == set(rows[1]) and "figures" not in rows[1]


IDS_WITH_BREAKS = ["a\tb", "p\x1cq", "r\u2028s", "f\x0cg", "plain"]


def test_graph_readers_read_back_ids_the_csv_writer_quotes(tmp_path):
    """graphvae's CSV writer quotes ids holding a tab or a line break of str.splitlines (form feed, \\x1c, \\u2028):
    its readers took a quoted tab for a TSV separator, and split lines at those characters."""
    import numpy as np

    import graphvae as gv
    from graphvae.data.graph_files import read_labels
    from graphvae.files import write_csv_rows

    edges = tmp_path / "edges.csv"
    with open(edges, "w", newline="", encoding="utf-8") as f:
        write_csv_rows(f, ["source", "target"], [[a, b] for a, b in zip(IDS_WITH_BREAKS, IDS_WITH_BREAKS[1:])])
    graph = gv.as_graph(str(edges))
    assert sorted(graph.node_ids) == sorted(IDS_WITH_BREAKS)
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="", encoding="utf-8") as f:
        write_csv_rows(f, ["node_id", "label"], [[i, k % 2] for k, i in enumerate(IDS_WITH_BREAKS)])
    got = read_labels(labels, graph.node_ids)
    assert [str(v) for v in got] == [str(IDS_WITH_BREAKS.index(i) % 2) for i in graph.node_ids]
    gv.save_embeddings(tmp_path / "z.csv", np.eye(5, 2, dtype=np.float32), IDS_WITH_BREAKS)
    assert gv.load_embeddings(tmp_path / "z.csv")[0] == IDS_WITH_BREAKS
