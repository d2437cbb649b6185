"""The edge-list reader's fast path for plain files (``_plain_edge_list``: numpy's C reader for integer ids, ``str``
methods mapped over the lines for other ids) against the general reader.

The general reader (every layout, every message) is the reference: on any file, the fast path must give exactly its
result or decline (return ``None``), never a different graph. Files are drawn at random from a grammar of the cases
where the two could part: non-canonical integers (``007``, ``+1``, ``-0``), comments above, inside and below the data,
headers, pandas' index column, blank and whitespace-only lines, CRLF, a byte-order mark, weights numpy and Python read
differently or :func:`check_weights` refuses, ragged rows, quotes and string ids.
"""
from __future__ import annotations

import numpy as np
import pytest

from graphvae._keys import unique_inverse
from graphvae._validation import InputError
from graphvae.data import graph as graph_module
from graphvae.data.graph import read_edge_list
from graphvae.data.graph_files import RawEdges

IDS = ["0", "1", "2", "3", "17", "250", "-5", "007", "+1", "-0", "1_000", "1e3", "a", "x#y", '"4"', "", " 5", "9 "]
WEIGHTS = ["1", "0.5", "1e+05", "2.0", "-1", "nan", "1e-50", "0", "00.5", ".5", "1_0.5", "abc", "inf"]
HEADERS = ["source,target", "src dst weight", "from\tto", "gene1,gene2", ",source,target", " source target"]


def _read(path, header, weighted, fast: bool):
    """``read_edge_list``'s result, or the InputError's text; ``fast=False`` forces the general reader."""
    saved = graph_module._plain_edge_list
    if not fast:
        graph_module._plain_edge_list = lambda *args: None
    try:
        out = read_edge_list(path, header=header, weighted=weighted)
    except InputError as e:
        return "error: " + str(e)
    finally:
        graph_module._plain_edge_list = saved
    if isinstance(out, RawEdges):
        w = None if out.weight is None else out.weight.tolist()
        return (out.src.tolist(), out.dst.tolist(), list(out.node_ids), w, out.header, out.possible_header,
                out.index_column)
    src, dst, ids = out
    return src.tolist(), dst.tolist(), list(ids)


def _random_file(rng: np.random.Generator) -> str:
    sep = rng.choice([",", "\t", " ", "  ", ", "])
    plain = rng.random() < 0.5  # half the files: plain rows, where the fast path should answer
    named = rng.random() < 0.4  # of those, some with string ids (user3, é7), read by the str path
    width = rng.choice([2, 3], p=[0.6, 0.4])
    lines = []
    if rng.random() < 0.3:
        lines.append("# comment line\t, with separators")
    if rng.random() < 0.3:
        lines.append(str(rng.choice(HEADERS)).replace(",", sep) if rng.random() < 0.5 else str(rng.choice(HEADERS)))
    for _ in range(int(rng.integers(1, 7))):
        ids = [(str(rng.choice(["user", "é", "n-"])) if named else "") + str(rng.integers(0, 30)) if plain
               else str(rng.choice(IDS)) for _ in range(2)]
        fields = ids + ([str(rng.choice(WEIGHTS[:4] if plain else WEIGHTS))] if width == 3 else [])
        if not plain and rng.random() < 0.1:
            fields = fields[:-1] if rng.random() < 0.5 else fields + ["9"]
        lines.append(sep.join(fields))
        if not plain and rng.random() < 0.1:
            lines.append(str(rng.choice(["", "   ", "# between", "#tag,1"])))
    text = "\n".join(lines) + str(rng.choice(["\n", "", "\n\n"]))
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.05:
        text = "\ufeff" + text
    return text


@pytest.mark.parametrize("seed", range(4))
def test_fast_path_matches_the_general_reader_on_random_files(tmp_path, seed):
    rng = np.random.default_rng(seed)
    answered = 0
    for k in range(150):
        path = tmp_path / f"edges{k}.csv"
        path.write_text(_random_file(rng), encoding="utf-8", newline="")
        for header in (None, True, False):
            for weighted in (False, True):
                reference = _read(path, header, weighted, fast=False)
                assert _read(path, header, weighted, fast=True) == reference, (path.read_text(), header, weighted)
                answered += graph_module._plain_edge_list(
                    path, graph_module._read_text(path, "edge list"), header, weighted) is not None
    assert answered > 200  # the fast path did answer, not only decline


@pytest.mark.parametrize("text, header, weighted, expect", [
    ("# Directed graph\n# FromNodeId\tToNodeId\n0\t11\n11\t2\n", None, True, ([0, 2], [2, 1], [0, 2, 11])),
    ("source,target,weight\n5,6,0.5\n6,7,1e+05\n", None, True, ([0, 1], [1, 2], [5, 6, 7])),
    ("10 20\n\n30 10\n", False, False, ([0, 2], [1, 0], [10, 20, 30])),
])
def test_fast_path_reads_plain_files(tmp_path, text, header, weighted, expect):
    """SNAP's layout (``#`` lines above tab-separated ids), a CSV with a header and weights, whitespace: read by
    the numpy path, with the graph a hand count gives."""
    path = tmp_path / "g.txt"
    path.write_text(text)
    out = graph_module._plain_edge_list(path, path.read_text(), header, weighted)
    assert out is not None
    src, dst, ids = (out.src, out.dst, out.node_ids) if weighted else out
    assert (src.tolist(), dst.tolist(), list(ids)) == expect


@pytest.mark.parametrize("text", ["1,2\n# 3,4\n5,6\n", "a,b\nc,d\n# e,f\n", '"1",2\n', "1,2\n3\n", "a b\nc\n",
                                  "a,b\n\nc,d\n", "a;b,c\nd;e,f\n", "a,b,\n", "*Vertices 2\n1 2\n"])
def test_fast_path_declines_what_it_cannot_read_as_the_general_reader(tmp_path, text):
    """A comment among the data, quotes, a ragged row, a blank line, ';' (a European CSV), an empty field and another
    format's header are left to the general reader."""
    path = tmp_path / "g.csv"
    path.write_text(text)
    assert graph_module._plain_edge_list(path, text, None, True) is None
    assert graph_module._plain_edge_list(path, text, False, True) is None


@pytest.mark.parametrize("text, ids", [("007,1\n7,2\n", ["007", "1", "7", "2"]), ("+1,2\n1,3\n", ["+1", "2", "1", "3"]),
                                       ("-0,1\n0,2\n", ["-0", "1", "0", "2"]), ("ann,bob\nbob,5\n", ["ann", "bob", "5"])])
def test_non_canonical_or_string_ids_are_strings_in_order_of_first_appearance(tmp_path, text, ids):
    """``007`` and ``7`` are two nodes (the numpy path declines, the str path keeps the text): as the README says
    of ids that are not all canonical integers."""
    path = tmp_path / "g.csv"
    path.write_text(text)
    assert graph_module._integer_ends(text, ",", 2) is None
    assert graph_module._plain_edge_list(path, text, False, False)[2] == ids


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16])
def test_unique_inverse_matches_numpy_on_dense_and_sparse_ranges(dtype):
    rng = np.random.default_rng(0)
    for high in (5, 50, 10**4):  # ranges within and beyond 4x the count: the table and the sort
        values = rng.integers(0, high, 300).astype(dtype)
        if np.issubdtype(dtype, np.signedinteger):
            values = values - dtype(high // 2)
        uniques, inverse = unique_inverse(values)
        expected, expected_inverse = np.unique(values, return_inverse=True)
        assert uniques.dtype == values.dtype
        np.testing.assert_array_equal(uniques, expected)
        np.testing.assert_array_equal(inverse, expected_inverse)
    for dtype_ in (np.int8, np.int16, np.uint64):  # a range beyond the dtype's own positive half
        values = np.array([-100, 100, 0, 100], dtype=np.int64).astype(dtype_) if dtype_ != np.uint64 else \
            np.array([2**64 - 1, 2**64 - 3, 2**64 - 1], dtype=np.uint64)
        expected, expected_inverse = np.unique(values, return_inverse=True)
        uniques, inverse = unique_inverse(values)
        np.testing.assert_array_equal(uniques, expected)
        np.testing.assert_array_equal(inverse, expected_inverse)
    extremes = np.array([2**63 - 1, 2**63 - 2, 2**63 - 1], dtype=np.int64)
    np.testing.assert_array_equal(unique_inverse(extremes)[1], [1, 0, 1])


def test_a_row_with_an_empty_field_is_shown_as_written(tmp_path) -> None:
    """The error quotes the line with its trailing tab (``'3\\t'``): stripped, it read ``'3'``, which hides why a
    field is empty."""
    path = tmp_path / "e.tsv"
    path.write_text("1\t2\n3\t\n")
    with pytest.raises(InputError, match=r"line 2: expected 2 columns \(source, target\), got an empty field: '3\\t'"):
        read_edge_list(path)
