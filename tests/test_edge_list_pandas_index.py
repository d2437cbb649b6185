"""Edge lists written by pandas with its row index (``DataFrame.to_csv(path)``: a header ``,source,target``).

Read as three columns, the row numbers became sources and the real targets weights: a different graph, silently.
The reference is the same edges written without the index column (``to_csv(index=False)``) and networkx's graph."""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import graphvae as gv
from graphvae.cli import main


def _write(path: Path, rows: list[tuple], columns: tuple[str, ...], index: bool) -> Path:
    """``rows`` as pandas' ``to_csv`` writes them: with ``index``, a first column of row numbers under an empty name."""
    head = ([""] if index else []) + list(columns)
    body = [([str(i)] if index else []) + [str(v) for v in row] for i, row in enumerate(rows)]
    path.write_text("\n".join(",".join(r) for r in [head, *body]) + "\n")
    return path


def _edges(g: gv.Graph) -> set[frozenset]:
    """The graph's undirected edges as sets of two node ids."""
    return {frozenset((g.node_ids[a], g.node_ids[b])) for a, b in g.edge_index.t().tolist()}


def test_the_index_column_is_skipped_and_the_graph_is_the_one_written(tmp_path: Path) -> None:
    """The karate club written with pandas' index reads as the karate club: 34 nodes, networkx's 78 edges, the same
    graph as the file without the index column (node ids, edges, no weights). Kills: the index read as sources."""
    karate = nx.karate_club_graph()
    rows = sorted(karate.edges())
    with_index = gv.load_graph(_write(tmp_path / "a.csv", rows, ("source", "target"), index=True))
    without = gv.load_graph(_write(tmp_path / "b.csv", rows, ("source", "target"), index=False))
    assert with_index.num_nodes == karate.number_of_nodes() == 34
    assert with_index.node_ids == without.node_ids
    assert _edges(with_index) == _edges(without) == {frozenset(e) for e in karate.edges()}
    assert with_index.edge_weight is None and with_index.cleaning.get("index_column") is True
    assert "index_column" not in without.cleaning


def test_weights_and_string_ids_after_an_index_column(tmp_path: Path) -> None:
    """String ids and a weight column behind the index: the weights are those written (not the targets), per edge."""
    rows = [("a", "b", 1.0), ("b", "c", 2.5), ("c", "a", 0.5)]
    g = gv.load_graph(_write(tmp_path / "w.csv", rows, ("source", "target", "weight"), index=True))
    assert g.node_ids == ["a", "b", "c"]
    got = {tuple(sorted((g.node_ids[int(a)], g.node_ids[int(b)]))): float(w)
           for (a, b), w in zip(g.edge_index.t().tolist(), g.edge_weight.tolist())}
    assert got == {("a", "b"): 1.0, ("b", "c"): 2.5, ("a", "c"): 0.5}


def test_no_header_keeps_the_empty_field_an_error(tmp_path: Path) -> None:
    """``header=False`` (``--no-header``) reads the first line as an edge, whose empty field is refused as before."""
    path = _write(tmp_path / "n.csv", [(1, 2), (2, 3)], ("source", "target"), index=True)
    with pytest.raises(gv.InputError, match="line 1: .*empty field"):
        gv.load_graph(path, header=False)


def test_a_named_first_column_is_not_taken_for_an_index(tmp_path: Path) -> None:
    """Only an *unnamed* first header field marks pandas' index: ``source,target,weight`` keeps three columns."""
    g = gv.load_graph(_write(tmp_path / "s.csv", [(1, 2, 3.0), (2, 3, 4.0)], ("source", "target", "weight"), index=False))
    assert g.node_ids == [1, 2, 3] and sorted(g.edge_weight.tolist()) == [3.0, 3.0, 4.0, 4.0]


def test_the_command_says_it_skipped_the_index(tmp_path: Path, capsys) -> None:
    """The graph's summary line names the skipped column, and the embeddings are keyed by the real node ids."""
    path = _write(tmp_path / "e.csv", [(10, 11), (11, 12), (12, 13), (13, 10), (10, 12)], ("source", "target"), index=True)
    out = tmp_path / "z.csv"
    assert main(["embed", "--edges", str(path), "--out", str(out), "--latent", "2", "--epochs", "2", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "4 nodes, 5 undirected edges" in err and "first column, pandas' row index" in err
    ids = np.loadtxt(out, delimiter=",", skiprows=1, usecols=0, dtype=np.int64)
    assert ids.tolist() == [10, 11, 12, 13]
