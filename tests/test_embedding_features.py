"""Embeddings written by ``embed --out`` (``.emb``, ``.npz``) read back as another model's ``--features``."""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.cli.main import main
from graphvae.data.graph import read_features


def _edges(tmp_path: Path) -> Path:
    path = tmp_path / "e.csv"
    nx.write_edgelist(nx.karate_club_graph(), path, delimiter=",", data=False)
    return path


def _emb_by_hand(path: Path) -> dict[str, np.ndarray]:
    """word2vec text format read without graphvae: a 'count dim' line, then 'id v1 v2 ...' rows."""
    lines = path.read_text().splitlines()
    count, dim = map(int, lines[0].split())
    rows = {line.split()[0]: np.array(line.split()[1:], dtype=np.float64) for line in lines[1:]}
    assert len(rows) == count and all(len(v) == dim for v in rows.values())
    return rows


@pytest.mark.parametrize("suffix", [".emb", ".npz"])
def test_embed_output_is_read_as_features_in_the_graphs_node_order(tmp_path: Path, suffix: str) -> None:
    edges = _edges(tmp_path)
    out = tmp_path / f"z{suffix}"
    assert main(["embed", "--edges", str(edges), "--out", str(out), "--latent", "4", "--epochs", "3",
                 "--no-progress"]) == 0
    graph = gv.load_graph(edges)
    shuffled = list(reversed(graph.node_ids))  # a node order other than the file's
    x = read_features(out, shuffled)
    if suffix == ".emb":
        reference = _emb_by_hand(out)
    else:
        with np.load(out) as f:
            reference = dict(zip(f["ids"].tolist(), f["embeddings"].astype(np.float64)))
    expected = np.stack([reference[str(node)] for node in shuffled])
    np.testing.assert_array_equal(x, expected.astype(np.float32))
    assert main(["embed", "--edges", str(edges), "--features", str(out), "--out", str(tmp_path / "z2.csv"),
                 "--epochs", "2", "--no-progress"]) == 0


def test_an_embedding_file_of_other_nodes_is_one_clear_error(tmp_path: Path, capsys) -> None:
    edges = _edges(tmp_path)
    ids = [str(v) for v in nx.karate_club_graph().nodes]
    gv.save_embeddings(tmp_path / "fewer.emb", np.ones((len(ids) - 1, 2)), ids[:-1])
    with pytest.raises(gv.InputError, match=r"1 graph nodes have no feature row \(e\.g\. \[33\]\)"):
        read_features(tmp_path / "fewer.emb", list(range(34)))
    gv.save_embeddings(tmp_path / "other.npz", np.ones((35, 2)), ids + ["stranger"])
    assert main(["embed", "--edges", str(edges), "--features", str(tmp_path / "other.npz"), "--out",
                 str(tmp_path / "z.csv"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'stranger' is not in the graph" in err[0]


def test_a_scipy_sparse_npz_is_read_as_features_in_node_order_and_stays_sparse(tmp_path: Path) -> None:
    """``scipy.sparse.save_npz`` of bag-of-words features (one row per node, the graph's order, as ``.npy``): the
    matrix itself, still sparse; a matrix of another row count is one clear error."""
    import scipy.sparse as sp

    edges = _edges(tmp_path)
    n = gv.load_graph(edges).num_nodes
    x = sp.random(n, 40, density=0.1, format="csr", random_state=0, dtype=np.float64)
    sp.save_npz(tmp_path / "x.npz", x)
    graph = gv.load_graph(edges, features=tmp_path / "x.npz")
    assert graph.x.layout != torch.strided
    np.testing.assert_array_equal(graph.x.to_dense().numpy(), x.toarray().astype(np.float32))
    sp.save_npz(tmp_path / "y.npz", sp.random(n + 1, 3, density=0.5, format="coo", random_state=0))
    with pytest.raises(gv.InputError, match=rf"shape \({n + 1}, 3\) but the graph has {n} nodes"):
        gv.load_graph(edges, features=tmp_path / "y.npz")
