"""Review of the round-10 diff (5384628..b19727d): regressions and edge cases of its new code.

Each test checks against an independent reference: pandas' own reader of the file pandas wrote, numpy's
``np.unique``, or the documented contract (bad input is one ``InputError`` line, CLI exit status 2).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import graphvae as gv


def _edges_of(graph) -> set:
    """The graph's undirected edges by node id, as text."""
    return {frozenset((str(graph.node_ids[i]), str(graph.node_ids[j]))) for i, j in graph.edge_index.T.tolist()}


@pytest.mark.parametrize("index", [[0, 1, 3, 4, 5], [1, 2, 3, 4, 5]])  # a filtered frame's; a frame numbered from 1
def test_pandas_space_separated_output_with_another_integer_index_is_refused(tmp_path: Path, capsys,
                                                                             index: list) -> None:
    """``DataFrame.to_csv(sep=" ")`` of a frame whose row index is not 0..R-1 (rows dropped, or numbered from 1), with
    integer node ids: the header `` source target`` is one name short, so the rows' first column is pandas' index
    (``pd.read_csv(path, sep=" ", index_col=0)`` gives the frame back: the reference). The reader skips only an index 0..R-1 and documents the
    refusal of another (``test_pandas_space_separated_output_with_another_index_is_named``, string ids); with integer
    ids that index was read as the sources and the targets as edge weights: a silent wrong graph. Now refused,
    naming pandas' index, in the API and in the CLI (exit 2, one line)."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"source": [10, 11, 12, 13, 14], "target": [11, 12, 13, 14, 10]}, index=index)
    path = tmp_path / "e.txt"
    frame.to_csv(path, sep=" ")
    assert path.read_text().startswith(" source target\n")  # the layout this test is about
    back = pd.read_csv(path, sep=" ", index_col=0)  # pandas reads its own file back: the first column is the index
    assert back.index.tolist() == index and back.equals(frame)
    expected = {frozenset(map(str, e)) for e in zip(frame.source, frame.target)}
    try:
        graph = gv.load_graph(path)
    except gv.InputError as err:
        refused = True
        assert "pandas' to_csv(sep=' ')" in str(err) and "index=False" in str(err)
    else:  # reading it as the frame's edges would do too; reading the index as sources does not
        refused = False
        assert _edges_of(graph) == expected and graph.edge_weight is None
    from graphvae.cli.main import main

    code = main(["embed", "--edges", str(path), "--out", str(tmp_path / "z.emb"), "--latent", "2", "--epochs", "1",
                 "--no-progress"])
    err = capsys.readouterr().err
    if refused:
        assert code == 2 and len(err.strip().splitlines()) == 1 and "index=False" in err, err


def test_an_indented_header_without_the_weight_name_still_reads_the_weights(tmp_path: Path) -> None:
    """`` source target`` above ``1 2 0.5`` rows whose first column is no increasing row index: the header simply
    leaves out the weight's name, so the rows are edges with weights (a hand count), not a refused pandas index."""
    path = tmp_path / "e.txt"
    path.write_text(" source target\n1 2 0.5\n3 1 2\n2 3 1.5\n")
    graph = gv.load_graph(path)
    weight = {frozenset((graph.node_ids[i], graph.node_ids[j])): w
              for (i, j), w in zip(graph.edge_index.T.tolist(), graph.edge_weight.tolist())}
    assert weight == {frozenset((1, 2)): 0.5, frozenset((3, 1)): 2.0, frozenset((2, 3)): 1.5}
