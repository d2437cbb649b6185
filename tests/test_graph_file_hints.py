"""Graph files in another format than their name says, and networkx's default edge-list output: a message that says
what the file is and what to do, and the advised file reads as the graph networkx wrote."""
from __future__ import annotations

import re
from pathlib import Path

import networkx as nx
import pytest

import graphvae as gv

WRITERS = {  # format: (networkx writer, the suffix graphvae reads it by)
    "GraphML": (nx.write_graphml, ".graphml"),
    "GEXF": (nx.write_gexf, ".gexf"),
    "GML": (nx.write_gml, ".gml"),
    "Pajek": (nx.write_pajek, ".net"),
}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("wrong", [".txt", ".xml", ".csv"])
def test_a_graph_file_under_another_suffix_is_named(tmp_path: Path, fmt: str, wrong: str) -> None:
    """networkx's GraphML/GEXF/GML/Pajek output saved as ``k.txt`` (read as an edge list by its suffix) is refused
    naming its format and the suffix to give it; under that suffix it reads as networkx's karate club (34 nodes,
    78 edges). Before: a column-count error about ``<graphml ...`` or ``name "Zachary's ...``, or for GML's
    ``graph [`` line an edge between nodes 'graph' and '['."""
    karate = nx.karate_club_graph()
    write, suffix = WRITERS[fmt]
    path = tmp_path / f"k{wrong}"
    write(karate, path)
    with pytest.raises(gv.InputError, match=f"this is a {fmt} file.*name it k{suffix}"):
        gv.load_graph(path)
    g = gv.load_graph(path.rename(tmp_path / f"k{suffix}"))
    assert g.num_nodes == 34 and g.edge_index.shape[1] == 2 * karate.number_of_edges()


def test_edge_lists_are_not_taken_for_other_formats(tmp_path: Path) -> None:
    """Ids that merely start like those formats stay an edge list: ``graph,x`` and ``<a>,b`` are edges."""
    path = tmp_path / "e.csv"
    path.write_text("graph,x\n<a>,b\nx,b\n")
    assert gv.load_graph(path).node_ids == ["graph", "x", "<a>", "b"]


@pytest.mark.parametrize("weighted", [False, True])
def test_networkx_write_edgelist_dicts_get_the_way_out(tmp_path: Path, weighted: bool) -> None:
    """``nx.write_edgelist(G, path)`` writes ``0 1 {}`` (or ``0 1 {'weight': 4}``): the error says to write with
    ``data=False`` (or ``data=['weight']``); those files read as networkx's graph, with its weights."""
    g = nx.path_graph(4)
    if weighted:
        nx.set_edge_attributes(g, {e: float(i + 1) for i, e in enumerate(g.edges())}, "weight")
    nx.write_edgelist(g, tmp_path / "d.txt")
    with pytest.raises(gv.InputError, match=r"write_edgelist .*data=False, or data=\['weight'\]"):
        gv.load_graph(tmp_path / "d.txt")
    nx.write_edgelist(g, tmp_path / "w.txt", data=["weight"] if weighted else False)
    read = gv.load_graph(tmp_path / "w.txt")
    assert read.node_ids == [0, 1, 2, 3] and read.edge_index.shape[1] == 6
    if weighted:
        assert sorted(read.edge_weight.tolist()) == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


def test_a_feature_csv_without_ids_says_what_the_first_column_is(tmp_path: Path) -> None:
    """A feature CSV written without its id column (``to_csv(index=False)`` of the values alone) is refused saying
    that the first column is the node id."""
    edges = tmp_path / "e.csv"
    edges.write_text("a,b\nb,c\n")
    features = tmp_path / "x.csv"
    features.write_text("0.5,1.0\n0.25,2.0\n0.125,3.0\n")
    with pytest.raises(gv.InputError, match=r"node id '0\.\d+' is not in the graph \(a feature CSV's first column is the node id"):
        gv.load_graph(edges, features)


@pytest.mark.parametrize("weight, message", [("-2", "must be finite and non-negative, got -2.0"),
                                             ("nan", "must be finite and non-negative, got nan"),
                                             ("1e39", "must be at most 3.4e+38 (float32), got 1e+39"),
                                             ("1e-50", "must be 0 (no edge) or at least 1.4e-45 (float32), got 1e-50")])
def test_a_bad_weight_is_named_by_its_line(tmp_path: Path, weight: str, message: str) -> None:
    """A bad weight in an edge list is located by the file's line, as every other edge-list error is (a header, a
    comment and a blank line before it: line 5, the third edge), not by its position among the edges."""
    path = tmp_path / "w.csv"
    path.write_text(f"source,target,weight\n# comment\na,b,1\n\nb,c,{weight}\nc,a,2\n")
    with pytest.raises(gv.InputError, match=re.escape(f"w.csv, line 5: edge weights {message}")):
        gv.load_graph(path)


def test_weights_from_other_sources_keep_the_edge_position() -> None:
    """Weights that have no line (a networkx graph) are still located by the edge's position."""
    g = nx.Graph()
    g.add_edge("a", "b", weight=1.0)
    g.add_edge("b", "c", weight=-1.0)
    with pytest.raises(gv.InputError, match=r"got -1\.0 \(edge 2\)"):
        gv.as_graph(g)


def _edges_of(graph) -> set:
    """The graph's undirected edges by node id (as text: integer ids are read as integers)."""
    return {frozenset((str(graph.node_ids[i]), str(graph.node_ids[j]))) for i, j in graph.edge_index.T.tolist()}


@pytest.mark.parametrize("ids", [["a", "b", "c"], [5, 6, 7]])
@pytest.mark.parametrize("weights", [False, True])
def test_pandas_space_separated_output_with_its_index_reads_as_the_frame(tmp_path: Path, ids: list, weights: bool) -> None:
    """``DataFrame.to_csv(sep=" ")`` with the default row index writes the header `` source target`` (its empty first
    field lost to the leading space) above ``0 a b`` rows: the index column 0..R-1 is skipped, as under the CSV
    header ``,source,target``, and the graph is the frame's edges (and weights). Before: string ids were refused
    with the hint "if it is a header, give --header" on line 2; integer ids silently became edges 0-5, 1-6, 2-7
    weighted 6, 7, 5."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"source": ids, "target": ids[1:] + ids[:1]})
    if weights:
        frame["weight"] = [1.0, 2.0, 0.5]
    path = tmp_path / "e.txt"
    frame.to_csv(path, sep=" ")
    assert path.read_text().startswith(" source target")  # the layout this test is about
    g = gv.load_graph(path)
    assert _edges_of(g) == {frozenset(map(str, e)) for e in zip(frame.source, frame.target)}
    assert g.cleaning.get("index_column") is True
    if weights:
        reference = {frozenset(map(str, (u, v))): w for u, v, w in zip(frame.source, frame.target, frame.weight)}
        got = {frozenset((str(g.node_ids[i]), str(g.node_ids[j]))): w for (i, j), w in zip(g.edge_index.T.tolist(), g.edge_weight.tolist())}
        assert got == reference


def test_pandas_space_separated_output_with_another_index_is_named(tmp_path: Path) -> None:
    """An index that is not 0..R-1 (here names) is not skipped: refused naming pandas' index and ``index=False``,
    and that advice reads as the frame's edges."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "d"]}, index=["x", "y", "z"])
    path = tmp_path / "e.txt"
    frame.to_csv(path, sep=" ")
    with pytest.raises(gv.InputError, match=r"line 2: .*pandas' to_csv\(sep=' '\).*index=False") as err:
        gv.load_graph(path)
    assert "give --header" not in str(err.value)
    frame.to_csv(path, sep=" ", index=False)
    assert _edges_of(gv.load_graph(path)) == {frozenset(e) for e in zip(frame.source, frame.target)}


def test_the_header_hint_is_for_a_first_row_read_as_an_edge(tmp_path: Path) -> None:
    """A detected header is not suggested again as a header: ``source target`` above ``a b c`` names line 2's weight
    only; an undetected first row ``a b score`` gets the ``--header`` hint (the documented case)."""
    path = tmp_path / "e.txt"
    path.write_text("source target\na b c\n")
    with pytest.raises(gv.InputError, match=r"line 2: edge weight 'c' is not a number$"):
        gv.load_graph(path)
    path.write_text("a b score\nc d 1\n")
    with pytest.raises(gv.InputError, match=r"line 1: edge weight 'score' is not a number \(if it is a header, give --header\)"):
        gv.load_graph(path)
