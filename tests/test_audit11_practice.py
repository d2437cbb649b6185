"""A practitioner's own graph files, checked against independent references (networkx, pandas, hand counts).

- A feature CSV written by pandas' ``DataFrame.to_csv(path)`` of a frame with an ``id`` column (its row index first,
  under an empty header field, or one name short with ``sep=" "``) is keyed by the ``id`` column: it was keyed by
  the row index, so every node silently got another row's features with that row's id among them (exit 0).
- Integer edge lists, read by the numpy path (``_plain_edge_list``), give networkx's graph: SNAP's ``#`` lines above
  tab-separated ids, ids at the int64 limits (the ranking table and the sort), weights (1e+05, 0, the largest of an
  edge listed twice), CRLF and a byte-order mark; and the embeddings file's ids round-trip into ``--features``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.cli import main
from graphvae.data import graph as graph_module

FAST = ["--epochs", "2", "--latent", "2", "--no-progress"]
INT64_MAX, INT64_MIN = 2**63 - 1, -2**63


def _edge_set(g: gv.Graph) -> dict[frozenset, float]:
    """``{frozenset(ids): weight}`` of a graphvae graph's undirected edges (weight 1 when unweighted)."""
    ids, ei = list(g.node_ids), np.asarray(g.edge_index)
    w = None if g.edge_weight is None else np.asarray(g.edge_weight)
    return {frozenset((ids[a], ids[b])): 1.0 if w is None else float(w[k]) for k, (a, b) in enumerate(ei.T)}


def _dense(x) -> np.ndarray:
    """A graph's feature matrix as a dense numpy array (dense or sparse torch tensor)."""
    return (x.to_dense() if x.layout != torch.strided else x).numpy()


def _nx_edges(G: nx.Graph) -> dict[frozenset, float]:
    return {frozenset((u, v)): float(d.get("weight", 1.0)) for u, v, d in G.edges(data=True) if u != v}


# --------------------------------------------------------------------------- pandas' row index in a feature CSV

@pytest.mark.parametrize("sep", [",", "\t", " "])
@pytest.mark.parametrize("first_index", [0, 1])
def test_pandas_feature_csv_with_its_row_index_is_keyed_by_the_id_column(tmp_path: Path, sep: str,
                                                                         first_index: int) -> None:
    """``df.to_csv(path)`` of a frame [id, f1, f2] in shuffled order (index 0..5, or 1..6): node k gets the row whose
    id is k (pandas' ``set_index('id').loc[...]``), not the row at index k with its id as a third feature (a silent
    wrong answer, exit status 0)."""
    pd = pytest.importorskip("pandas")
    edges = tmp_path / "e.csv"
    edges.write_text("0,1\n1,2\n2,3\n3,4\n4,5\n5,0\n")
    df = pd.DataFrame({"id": [3, 0, 5, 1, 4, 2], "f1": [30.0, 0.5, 50.0, 10.0, 40.0, 20.0],
                       "f2": [3.0, 0.25, 5.0, 1.0, 4.0, 2.0]}, index=range(first_index, first_index + 6))
    features = tmp_path / "x.csv"
    df.to_csv(features, sep=sep)
    g = gv.load_graph(edges, features)
    expected = df.set_index("id").loc[list(g.node_ids)].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(_dense(g.x), expected)


def test_pandas_feature_csv_indexed_by_node_id_still_reads(tmp_path: Path) -> None:
    """The layouts that were right stay right: ``set_index('id').to_csv`` (id first) and ``index=False``."""
    pd = pytest.importorskip("pandas")
    edges = tmp_path / "e.csv"
    edges.write_text("10,11\n11,12\n")
    df = pd.DataFrame({"id": [12, 10, 11], "a": [2.0, 0.0, 1.0], "b": [20.0, 0.5, 10.0]})
    writers = [("i.csv", lambda p: df.set_index("id").to_csv(p)), ("n.csv", lambda p: df.to_csv(p, index=False))]
    for name, write in writers:
        write(tmp_path / name)
        g = gv.load_graph(edges, tmp_path / name)
        np.testing.assert_array_equal(_dense(g.x), df.set_index("id").loc[[10, 11, 12]].to_numpy(np.float32))


# --------------------------------------------------------------------------- integer edge lists against networkx

def _fast(path: Path) -> bool:
    """Whether the numpy path reads ``path`` (the tests below are about it, not about the general reader)."""
    return graph_module._plain_edge_list(path, graph_module._read_text(path, "edge list"), None, True) is not None


@pytest.mark.parametrize("ids", [
    [INT64_MAX - k for k in range(9)],                   # a dense range at the top: the ranking table
    [INT64_MIN + k for k in range(9)],                   # ... and at the bottom
    [INT64_MIN, -1, 0, 7, INT64_MAX, 10**18, -10**18],   # spread over the whole range: the sort
])
def test_snap_file_of_extreme_int64_ids_is_networkx_graph(tmp_path: Path, ids: list[int]) -> None:
    """SNAP's layout ('#' lines above tab-separated ids) with a self-loop and an edge listed both ways: the nodes
    (numeric order), edges and cleaning counts of networkx reading the same file."""
    rng = np.random.default_rng(0)
    pairs = [(ids[i], ids[(i + 1) % len(ids)]) for i in range(len(ids))] + [(ids[0], ids[0]), (ids[1], ids[0])]
    pairs += [tuple(int(v) for v in rng.choice(ids, 2)) for _ in range(5)]
    path = tmp_path / "snap.txt"
    path.write_text("# Directed graph: test\n# FromNodeId\tToNodeId\n" + "".join(f"{u}\t{v}\n" for u, v in pairs))
    assert _fast(path)
    G = nx.read_edgelist(path, nodetype=int, comments="#", delimiter="\t", create_using=nx.Graph)
    g = gv.load_graph(path)
    assert list(g.node_ids) == sorted(G.nodes()) and all(type(i) is int for i in g.node_ids)
    assert _edge_set(g) == _nx_edges(G)
    directed = {(u, v) for u, v in pairs if u != v}
    assert g.cleaning["self_loops"] == sum(u == v for u, v in pairs)
    assert g.cleaning["duplicates"] == len([p for p in pairs if p[0] != p[1]]) - len(directed)
    assert g.cleaning["one_way"] == sum((v, u) not in directed for u, v in directed)


def test_weighted_csv_with_crlf_bom_and_header_is_networkx_graph(tmp_path: Path) -> None:
    """A weighted CSV (Excel's BOM and CRLF, a header): weights 1e+05 and 2.5 kept, weight 0 dropped and counted, an
    edge listed twice keeps its largest weight (docs/embeddings.md), as a hand-built networkx graph says."""
    path = tmp_path / "w.csv"
    rows = [(1, 2, "1e+05"), (2, 3, "0"), (3, 1, "2.5"), (2, 1, "7"), (4, 1, "1e-3")]
    path.write_bytes(("\ufeffsource,target,weight\r\n" + "".join(f"{u},{v},{w}\r\n" for u, v, w in rows)).encode())
    assert _fast(path)
    G = nx.Graph()
    G.add_nodes_from(n for u, v, _ in rows for n in (u, v))
    for u, v, w in rows:
        if float(w) > 0:
            G.add_edge(u, v, weight=max(float(w), G.edges[u, v]["weight"] if G.has_edge(u, v) else 0.0))
    g = gv.load_graph(path)
    assert list(g.node_ids) == sorted(G.nodes())
    got, want = _edge_set(g), _nx_edges(G)
    assert got.keys() == want.keys() and all(np.isclose(got[e], np.float32(want[e])) for e in want)
    assert g.cleaning["zero_weight"] == 1 and g.cleaning["header"] == "source,target,weight"


@pytest.mark.parametrize("text, ids", [
    ("007,7\n7,+7\n-0,0\n", ["007", "7", "+7", "-0", "0"]),  # non-canonical integers: strings, first appearance
    ("1,a\n2,1\n", ["1", "a", "2"]),                          # mixed integer and string ids
])
def test_non_canonical_or_mixed_ids_stay_strings(tmp_path: Path, text: str, ids: list[str]) -> None:
    """README: integer ids only when every id is written canonically; else each id is the string it is."""
    path = tmp_path / "g.csv"
    path.write_text(text)
    assert list(gv.load_graph(path).node_ids) == ids


# --------------------------------------------------------------------------- embeddings out, read back in

def test_embedding_csv_ids_round_trip_into_features_and_labels(tmp_path: Path, monkeypatch) -> None:
    """``embed --out z.csv`` on a SNAP file of int64-limit ids: the rows are the networkx nodes in numeric order, each
    id written exactly; the file read back as ``--features`` gives each node its own row, and ``classify`` with
    labels for a subset of the nodes runs on it."""
    monkeypatch.chdir(tmp_path)
    G = nx.karate_club_graph()
    big = {n: INT64_MAX - 3 * n if n % 2 else INT64_MIN + 5 * n for n in G}
    Path("g.txt").write_text("# karate\n" + "".join(f"{big[u]}\t{big[v]}\n" for u, v in G.edges()))
    Path("labels.csv").write_text("".join(f"{big[n]},{G.nodes[n]['club']}\n" for n in range(0, 34, 2)))
    assert main(["embed", "--edges", "g.txt", "--out", "z.csv", *FAST]) == 0
    with open("z.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    assert [r[0] for r in rows] == [str(v) for v in sorted(big.values())]  # numeric order, each id exactly
    g = gv.load_graph("g.txt", "z.csv")
    np.testing.assert_array_equal(_dense(g.x), np.array([[float(v) for v in r[1:]] for r in rows], np.float32))
    assert main(["classify", "--edges", "g.txt", "--features", "z.csv", "--labels", "labels.csv", "--model", "gae",
                 "--workers", "1", *FAST]) == 0


@pytest.mark.parametrize("index", [[0, 1, 2, 3], [5, 6, 7, 8]])
def test_labels_written_by_pandas_with_its_row_index_are_read_by_the_id_column(tmp_path, index) -> None:
    """``DataFrame.to_csv(path)`` of an ``id, label`` frame writes ``,id,label`` above the row index: the labels are
    pandas' own ``read_csv(index_col=0).set_index('id')['label']`` (was refused as three columns)."""
    pd = pytest.importorskip("pandas")
    from graphvae.data.graph_files import read_labels

    path = tmp_path / "labels.csv"
    pd.DataFrame({"id": [3, 1, 0, 2], "label": ["c", "b", "a", "a"]}, index=index).to_csv(path)
    reference = pd.read_csv(path, index_col=0).set_index("id")["label"]
    assert read_labels(path, [0, 1, 2, 3]).tolist() == [reference[i] for i in range(4)]


@pytest.mark.parametrize("name", [None, "target", 0])
def test_labels_of_a_pandas_series_keyed_by_its_index(tmp_path, name) -> None:
    """``Series.to_csv(path)`` writes its index as the ids under an empty name (``,target``; ``,0`` for an unnamed
    Series, which was refused as a row without an id): read as pandas reads it back, ``read_csv(index_col=0)``."""
    pd = pytest.importorskip("pandas")
    from graphvae.data.graph_files import read_labels

    path = tmp_path / "labels.csv"
    pd.Series([2, 1, 1], index=[3, 0, 2], name=name).to_csv(path)
    reference = pd.read_csv(path, index_col=0).iloc[:, 0]
    got = read_labels(path, [0, 1, 2, 3]).tolist()
    assert got == [str(reference[i]) if i in reference.index else None for i in range(4)]
    assert got[1] is None and got[0] == "1"


def test_an_unknown_id_below_pandas_row_index_names_the_second_column(tmp_path) -> None:
    """Rows keyed by the id column after pandas' index (``,id,f1``): an id not in the graph is said to be read from
    the second column, where it was read (the message said the first)."""
    from graphvae.data.graph import read_features

    path = tmp_path / "x.csv"
    path.write_text(",id,f1\n0,0,0.5\n1,9,0.25\n")
    with pytest.raises(gv.InputError, match=r"node id '9' is not in the graph \(a feature CSV's second column"):
        read_features(path, [0, 1])
