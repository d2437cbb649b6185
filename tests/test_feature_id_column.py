"""A feature CSV written by pandas' ``DataFrame.to_csv(path)`` of a frame whose id column has a name the reader does not
know (``,user,f1,...``): refused with how to name it, never keyed by the row index (where the ids are 0..n-1 every node
silently got another row's features, its id among them). pandas itself is the reference for what each row means."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import graphvae as gv
from graphvae.cli import main

pd = pytest.importorskip("pandas")


def _ring(path: Path, ids: list) -> Path:
    path.write_text("".join(f"{a},{b}\n" for a, b in zip(ids, ids[1:] + ids[:1])))
    return path


@pytest.mark.parametrize("ids", [[0, 1, 2, 3, 4], ["a", "b", "c", "d", "e"]])
def test_ids_under_an_unknown_name_beside_pandas_index_are_refused(tmp_path: Path, ids: list) -> None:
    edges = _ring(tmp_path / "e.csv", ids)
    order = [3, 0, 4, 1, 2]
    df = pd.DataFrame({"user": [ids[k] for k in order], "f1": [float(k) for k in order]})
    df.to_csv(tmp_path / "x.csv")
    with pytest.raises(gv.InputError, match=r"second, 'user', holds a different node id on every row: name that "
                                            r"column 'id'"):
        gv.load_graph(edges, tmp_path / "x.csv")
    # the advice works: the column named 'id' (or the file written without the index) reads as pandas keys it
    for name, write in (("id.csv", lambda p: df.rename(columns={"user": "id"}).to_csv(p)),
                        ("noindex.csv", lambda p: df.to_csv(p, index=False))):
        write(tmp_path / name)
        g = gv.load_graph(edges, tmp_path / name)
        expected = df.set_index("user").loc[[type(ids[0])(i) for i in g.node_ids]].to_numpy(np.float32)
        np.testing.assert_array_equal(g.x.numpy(), expected)


def test_the_command_says_it_in_one_line(tmp_path: Path, capsys) -> None:
    edges = _ring(tmp_path / "e.csv", [0, 1, 2, 3])
    pd.DataFrame({"user": [3, 2, 1, 0], "f1": [3.0, 2.0, 1.0, 0.0]}).to_csv(tmp_path / "x.csv")
    code = main(["embed", "--edges", str(edges), "--features", str(tmp_path / "x.csv"), "--out",
                 str(tmp_path / "z.emb"), "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "'user'" in err
    assert not (tmp_path / "z.emb").exists()


@pytest.mark.parametrize("frame", [
    lambda: pd.DataFrame(np.arange(8.0).reshape(4, 2)),                        # header ,0,1: numbered columns
    lambda: pd.DataFrame({"age": [30, 40, 30, 60], "f1": [1.0, 2.0, 3.0, 4.0]}),  # a feature that is not ids
    lambda: pd.DataFrame({"age": [7, 8, 9, 10], "f1": [1.0, 2.0, 3.0, 4.0]}),     # distinct, but not the graph's
])
def test_a_row_index_beside_features_still_keys_the_rows(tmp_path: Path, frame) -> None:
    """Features without an id column, written with pandas' default index 0..n-1: row k is node k (pandas' ``loc``)."""
    edges = _ring(tmp_path / "e.csv", [0, 1, 2, 3])
    df = frame()
    df.to_csv(tmp_path / "x.csv")
    g = gv.load_graph(edges, tmp_path / "x.csv")
    np.testing.assert_array_equal(g.x.numpy(), df.loc[[int(i) for i in g.node_ids]].to_numpy(np.float32))


def test_a_first_row_of_features_under_an_unknown_id_is_refused_as_any_other(tmp_path: Path) -> None:
    """A first data row whose node is not in the graph is refused as the same row is anywhere else in the file (it
    used to be taken for a header and dropped, its values unread). Reference: the same rows in another order."""
    edges = _ring(tmp_path / "e.csv", ["a", "b", "c"])
    rows = ["zz,0.5,1.5", "a,1,2", "b,3,4", "c,5,6"]
    for name, lines in (("first.csv", rows), ("second.csv", [rows[1], rows[0], *rows[2:]])):
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        with pytest.raises(gv.InputError, match=r"node id 'zz' is not in the graph"):
            gv.load_graph(edges, tmp_path / name)


@pytest.mark.parametrize("header", ["id,0,1", ",0,1", "node,f1,f2", "paper,0,1", "paper,1,2", "NAME,x,2.5"])
def test_headers_are_still_read_as_headers(tmp_path: Path, header: str) -> None:
    """Column names, pandas' numbered columns (under an empty, id-like or other name) stay a header."""
    edges = _ring(tmp_path / "e.csv", ["a", "b", "c"])
    (tmp_path / "x.csv").write_text(f"{header}\nc,5,6\na,1,2\nb,3,4\n")
    g = gv.load_graph(edges, tmp_path / "x.csv")
    expected = {"a": [1, 2], "b": [3, 4], "c": [5, 6]}
    np.testing.assert_array_equal(g.x.numpy(), np.array([expected[i] for i in g.node_ids], np.float32))
