"""Mutation audit of the file readers (edge lists and their fast path, gzip, features, labels, weights, the EM
restarts): each test kills a mutant that survived the existing tests, against an independent reference (pandas'
readers and writers, Python's ``csv`` and ``gzip``, numpy, scikit-learn, a hand count, the documented contract).
Each docstring names its mutant."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from graphvae._validation import InputError
from graphvae.data.graph import read_edge_list, read_features
from graphvae.data.graph_files import read_graph_file, to_graph


def _ids_edges(out) -> tuple[list, set]:
    """A reader's node ids and its edges as (source id, target id) pairs."""
    src, dst, ids = (out.src, out.dst, out.node_ids) if hasattr(out, "src") else out
    return list(ids), {(ids[a], ids[b]) for a, b in zip(np.asarray(src).tolist(), np.asarray(dst).tolist())}


# --------------------------------------------------------------------------- the edge-list reader


def test_a_pajek_file_of_edges_only_is_named_not_read_as_an_edge_list(tmp_path: Path) -> None:
    """A Pajek file holding only ``*Edges`` (``g.txt``) is refused with the format's name, as the general reader does
    (Pajek's section keyword, documented in ``_other_graph_format``). Mutant: the fast path's
    ``_other_graph_format`` check dropped (the ``*Edges`` line was skipped as a header, the file read as integers)."""
    p = tmp_path / "g.txt"
    p.write_text("*Edges\n1 2\n2 3\n")
    with pytest.raises(InputError, match="Pajek"):
        read_edge_list(p)


def test_an_inline_hash_is_no_comment_in_a_whitespace_file(tmp_path: Path) -> None:
    """Only a line that starts with ``#`` is a comment: ``1 2 # note`` holds four whitespace-separated fields (a hand
    count), which a two-column edge list refuses. Mutant: the fast path's ``np.loadtxt(comments=None)`` made
    ``comments="#"`` (the note silently dropped, the row read as an edge)."""
    p = tmp_path / "e.txt"
    p.write_text("0 1\n1 2 # note\n")
    with pytest.raises(InputError, match="line 2"):
        read_edge_list(p)


def test_an_id_of_two_to_the_63_stays_text(tmp_path: Path) -> None:
    """An id beyond int64 (2**63, one past its largest) is kept as the text it is, like every id that is no int64,
    never an OverflowError. Mutant: ``max(values) < 2**63`` made ``<=``."""
    p = tmp_path / "e.csv"
    p.write_text("9223372036854775808,1\n1,2\n")
    ids, edges = _ids_edges(read_edge_list(p))
    assert sorted(ids) == sorted(["9223372036854775808", "1", "2"])
    assert edges == {("9223372036854775808", "1"), ("1", "2")}


def test_a_semicolon_inside_tab_separated_ids_is_no_european_csv(tmp_path: Path) -> None:
    """Tab-separated ids may hold ``;`` on every line: the refusal of ``;``-separated files is for files without tabs.
    Reference: Python's ``csv`` reader with a tab delimiter. Mutant: ``sep != "\\t"`` dropped from that refusal."""
    text = "a;1\tb;2\nb;2\tc;3\n"
    p = tmp_path / "e.tsv"
    p.write_text(text)
    expected = {tuple(row) for row in csv.reader(io.StringIO(text), delimiter="\t")}
    assert _ids_edges(read_edge_list(p))[1] == expected


def test_a_tab_inside_a_quoted_csv_id_keeps_the_comma_separator(tmp_path: Path) -> None:
    """A tab inside a quoted CSV field (``"a<TAB>b"``, as graphvae's CSV writer quotes such an id) does not make the
    file tab-separated. Reference: Python's ``csv`` reader. Mutant: ``_separator`` returns the tab for any line that
    holds one, quoted or not."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows([["a\tb", "c"], ["c", "d"]])
    p = tmp_path / "e.csv"
    p.write_text(buffer.getvalue())
    expected = {tuple(row) for row in csv.reader(io.StringIO(buffer.getvalue()))}
    assert _ids_edges(read_edge_list(p))[1] == expected == {("a\tb", "c"), ("c", "d")}


# --------------------------------------------------------------------------- pandas' index column


def test_a_header_with_an_unnamed_middle_field_is_no_pandas_index(tmp_path: Path) -> None:
    """``,0,`` has an empty field besides the first: no pandas ``to_csv`` header (pandas names every column but the
    index), so the row is data with an empty field: :class:`InputError`. Mutant: ``all(first[1:])`` dropped from
    ``_pandas_index_header`` (the row skipped as a header, the first column as an index)."""
    p = tmp_path / "e.csv"
    p.write_text(",0,\n0,1,2\n1,2,3\n")
    with pytest.raises(InputError, match="line 1"):
        read_graph_file(p)


def test_no_possible_header_hint_below_a_pandas_index_header(tmp_path: Path) -> None:
    """Below a detected ``,source,target`` header the first row is an edge, not a header in disguise: no
    ``possible_header`` (the documented hint for an *undetected* header). Mutant: the index-header branch leaves
    ``guessed`` true."""
    import pandas as pd

    p = tmp_path / "e.csv"
    pd.DataFrame({"source": ["a", "c", "c"], "target": ["b", "d", "e"]}).to_csv(p)
    g = to_graph(read_graph_file(p))
    assert g.cleaning.get("index_column") is True
    assert "possible_header" not in g.cleaning


def test_a_leading_space_header_over_rows_of_its_width_is_a_plain_header(tmp_path: Path) -> None:
    """`` source target`` above two-field rows is a plain header (no index column: the rows have as many fields as
    it has names), even where the sources increase. Reference: ``pd.read_csv(sep=r"\\s+")``. Mutant: the spaced-index
    test ``len(rows[1][1]) == len(first) + 1`` made ``>= len(first)`` (the file was refused as an index)."""
    import pandas as pd

    p = tmp_path / "e.txt"
    p.write_text(" source target\n0 1\n1 2\n2 3\n")
    back = pd.read_csv(p, sep=r"\s+")
    assert _ids_edges(read_graph_file(p))[1] == set(zip(back["source"], back["target"]))


def test_a_first_column_with_a_repeated_value_is_a_source_not_an_index(tmp_path: Path) -> None:
    """Below a header one name short after a leading space, a first column that repeats a value (node 1 with two
    edges) is no row index (an index increases strictly): it is read as the sources, the header lacking the weight's
    name, not refused. Mutant: ``_increasing_integers`` with ``a <= b``."""
    p = tmp_path / "e.txt"
    p.write_text(" source target\n1 5 6\n1 7 8\n")
    raw = read_graph_file(p)
    assert _ids_edges(raw)[1] == {(1, 5), (1, 7)}
    assert raw.weight.tolist() == [6.0, 8.0]


def test_a_non_canonical_first_column_is_a_source_not_an_index(tmp_path: Path) -> None:
    """``01, 02`` is no pandas index (pandas writes ``1, 2``): below a header one name short after a leading space it
    is read as the sources (string ids, as every non-canonical integer), not refused. Mutant: the canonical check
    ``str(v) == f`` dropped from ``_increasing_integers``."""
    p = tmp_path / "e.txt"
    p.write_text(" source target\n01 5 1.0\n02 6 2.0\n")
    raw = read_graph_file(p)
    assert _ids_edges(raw)[1] == {("01", "5"), ("02", "6")}


# --------------------------------------------------------------------------- the possible-header hint


def test_no_possible_header_hint_when_the_caller_said_there_is_none(tmp_path: Path) -> None:
    """``header=False`` is the caller's word: the first row is an edge, and no ``possible_header`` hint is given
    (the hint is for a *guessed* header). Mutant: ``guessed and`` dropped before ``_lonely_first_row``."""
    p = tmp_path / "e.csv"
    p.write_text("gene1,gene2\nx,y\ny,z\n")
    assert to_graph(read_graph_file(p, header=None)).cleaning.get("possible_header") == "gene1,gene2"
    assert "possible_header" not in to_graph(read_graph_file(p, header=False)).cleaning


def test_a_first_row_sharing_one_id_is_no_possible_header(tmp_path: Path) -> None:
    """The hint needs *both* ids of the first row to appear on no other row (an isolated pair): ``a,b`` above
    ``a,c`` shares ``a`` (a hand count), so no hint. Mutant: ``and`` made ``or`` in ``_lonely_first_row``."""
    p = tmp_path / "e.csv"
    p.write_text("a,b\na,c\nc,d\n")
    assert "possible_header" not in to_graph(read_graph_file(p)).cleaning


# --------------------------------------------------------------------------- gzip


def test_gzip_crlf_line_numbers_are_the_files(tmp_path: Path) -> None:
    """A gzipped CRLF file names its bad row by its own line number (line 3: a hand count), not a count that doubled
    each line ending. Mutant: ``_gunzipped_text`` replaces ``\\r`` without first replacing ``\\r\\n``."""
    p = tmp_path / "e.txt.gz"
    p.write_bytes(gzip.compress(b"0,1\r\n1,2\r\n2,3,4,5\r\n"))
    with pytest.raises(InputError, match="line 3:"):
        read_edge_list(p)


def test_gzip_byte_order_mark_is_not_part_of_the_first_id(tmp_path: Path) -> None:
    """A gzipped file with a UTF-8 byte-order mark reads as the same file uncompressed (Python's ``utf-8-sig``):
    integer ids ``0, 1, 2``, not a string id ``'\\ufeff0'``. Mutant: ``data.decode("utf-8")``."""
    text = "0,1\n1,2\n"
    p = tmp_path / "e.csv.gz"
    p.write_bytes(gzip.compress(text.encode("utf-8-sig")))
    ids, edges = _ids_edges(read_edge_list(p))
    assert ids == [0, 1, 2]
    assert edges == {(0, 1), (1, 2)}


# --------------------------------------------------------------------------- features


def test_feature_header_whose_id_name_is_also_a_node(tmp_path: Path) -> None:
    """A header ``id,x,y`` in a graph that has a node called ``id``: its other fields are no numbers, so it is a
    header, and node ``id``'s row is the next one, as ``pd.read_csv(index_col=0)`` reads the file. Mutant: the
    header test kept only ``rows[0][1][0] not in position`` (the header read as node ``id``'s features: refused)."""
    import pandas as pd

    p = tmp_path / "x.csv"
    p.write_text("id,x,y\nid,1,2\nb,3,4\n")
    back = pd.read_csv(p, index_col=0)
    np.testing.assert_array_equal(read_features(p, ["b", "id"]), back.loc[["b", "id"]].to_numpy(np.float32))


def test_feature_file_space_separated_with_integer_node_index(tmp_path: Path) -> None:
    """A frame indexed by integer node ids 0..2, written with ``sep=" "`` (header `` f1 f2``, one name short after
    the leading space): the first column is the node id, as ``pd.read_csv(sep=" ", index_col=0)`` reads it, because
    the header names no id column. Mutant: ``header[0] in ID_COLUMNS`` dropped from ``_pandas_row_index``."""
    import pandas as pd

    frame = pd.DataFrame({"f1": [1.0, 2.5, -3.0], "f2": [0.5, 4.0, 6.0]}, index=[0, 1, 2])
    p = tmp_path / "x.txt"
    frame.to_csv(p, sep=" ")
    back = pd.read_csv(p, sep=" ", index_col=0)
    x = read_features(p, [2, 0, 1])
    np.testing.assert_array_equal(x, back.loc[[2, 0, 1]].to_numpy(np.float32))


def test_feature_header_one_name_short_above_string_ids_keys_by_the_first_column(tmp_path: Path) -> None:
    """``id features`` above rows ``a 1 2``: the header is one name short, but the first column (string ids) is no
    pandas row index (which is an increasing integer column), so the rows are keyed by it (a hand reading). Mutant:
    ``_increasing_integers`` dropped from ``_pandas_row_index``'s space-separated case."""
    p = tmp_path / "x.txt"
    p.write_text("id features\nb 1 2\na 3 4\n")
    np.testing.assert_array_equal(read_features(p, ["a", "b"]), np.array([[3, 4], [1, 2]], np.float32))


def test_feature_value_beyond_float32_is_refused(tmp_path: Path) -> None:
    """A finite feature value above float32's largest (``np.finfo(np.float32).max``, 3.4e38) would become inf in the
    float32 features: :class:`InputError` naming its line. Mutant: the magnitude test dropped from ``read_features``."""
    assert 1e39 > float(np.finfo(np.float32).max)
    p = tmp_path / "x.csv"
    p.write_text("a,1.0\nb,1e39\n")
    with pytest.raises(InputError, match="line 2"):
        read_features(p, ["a", "b"])


def test_feature_file_of_ids_only_is_refused(tmp_path: Path) -> None:
    """A feature file whose rows hold a node id and no value gives no features: :class:`InputError`, not an
    ``[N, 0]`` matrix. Mutant: ``or width < 1`` dropped from ``read_features``' row check."""
    p = tmp_path / "x.csv"
    p.write_text("a\nb\n")
    with pytest.raises(InputError):
        read_features(p, ["a", "b"])


# --------------------------------------------------------------------------- weights


def test_weight_just_above_float32_max_is_refused() -> None:
    """A weight above float32's largest (``np.finfo(np.float32).max``) becomes inf in the float32 operator:
    refused, though it is a finite float64 below twice that. Mutant: the bound loosened to ``>= 2 * max``."""
    from graphvae.data.graph_files import check_weights

    w = float(np.finfo(np.float32).max) * 1.5
    with np.errstate(over="ignore"):
        assert np.isinf(np.float32(w)) and np.isfinite(w)
    with pytest.raises(InputError, match="edge 2"):
        check_weights([1.0, w], "weights")


# --------------------------------------------------------------------------- EM restarts


def _two_blobs() -> np.ndarray:
    """Two far-apart blobs: every EM run reaches the same optimum, its two components in either order, with the very
    same lower bound (exact ties)."""
    rng = np.random.RandomState(0)
    return np.r_[rng.normal(0, 1, (20, 2)), rng.normal(100, 1, (20, 2))]


def test_em_restarts_keep_the_first_of_equal_runs_as_scikit_learn() -> None:
    """Among runs of one lower bound, the first is kept, as scikit-learn's ``n_init`` loop keeps it (``>``): the
    components come out in the order of ``GaussianMixture(n_init=6).fit``'s. Seed 0's first and last runs order them
    differently (checked here), so the choice shows. Mutant: ``run.lower_bound_ >= best.lower_bound_``."""
    from sklearn.mixture import GaussianMixture

    from graphvae.evaluation.node_tasks import _restarted_mixture

    x = _two_blobs()
    draws = np.random.RandomState(0)
    runs = [GaussianMixture(2, reg_covar=1e-4, random_state=draws).fit(x) for _ in range(6)]
    assert len({r.lower_bound_ for r in runs}) == 1
    assert (runs[0].means_[0, 0] > 50) != (runs[-1].means_[0, 0] > 50)
    reference = GaussianMixture(2, reg_covar=1e-4, n_init=6, random_state=0).fit(x)
    mine = _restarted_mixture(x, GaussianMixture(2, reg_covar=1e-4), 6, 0, False)
    np.testing.assert_array_equal(mine.means_, reference.means_)
    np.testing.assert_array_equal(mine.predict(x), reference.predict(x))


# --------------------------------------------------------------------------- unique_inverse's table path


@pytest.mark.parametrize("values", [
    np.r_[np.arange(100, -101, -3), 100, -100, 7].astype(np.int8),
    np.r_[np.arange(0, 256, 2), 255, 0, 3, 255].astype(np.uint8),
    np.array([2**64 - 1, 2**64 - 3, 2**64 - 1, 2**64 - 2], dtype=np.uint64),
    np.array([2**63 - 1, 2**63 - 2, 2**63 - 1], dtype=np.int64),
    np.array([-2**63, -2**63 + 2, -2**63], dtype=np.int64),
])
def test_unique_inverse_table_path_matches_numpy(values: np.ndarray) -> None:
    """Integers of a dense range (the table path) give ``np.unique(..., return_inverse=True)``'s uniques (dtype
    included) and inverse, also where the range overflows a small dtype (int8 from -100 to 100) or sits at uint64's
    and int64's ends (each input's range under 4x its length, so the table path runs). Mutant: the int64 offset
    made ``values - low`` (int8 arithmetic wrapped: a negative index)."""
    from graphvae._keys import unique_inverse

    uniques, inverse = unique_inverse(values)
    expected_uniques, expected_inverse = np.unique(values, return_inverse=True)
    assert uniques.dtype == values.dtype
    np.testing.assert_array_equal(uniques, expected_uniques)
    np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))


# --------------------------------------------------------------------------- the .npz suffix


def test_an_upper_case_npz_suffix_is_read_as_scipy_sparse(tmp_path: Path) -> None:
    """``G.NPZ`` is a ``scipy.sparse.save_npz`` file as ``g.npz`` is (suffixes are matched case-blind, as the
    networkx formats' are): its edges and weights are the matrix's. Reference: the scipy matrix. Mutant:
    ``suffix == ".npz"`` tested on the suffix as written."""
    import scipy.sparse as sp

    a = sp.csr_matrix(np.array([[0, 2.0, 0], [2.0, 0, 0.5], [0, 0.5, 0]]))
    saved = tmp_path / "g.npz"
    sp.save_npz(saved, a)
    p = saved.rename(tmp_path / "G.NPZ")
    raw = read_graph_file(p)
    coo = a.tocoo()
    assert set(zip(raw.src.tolist(), raw.dst.tolist(), raw.weight.tolist())) == \
        set(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))


# --------------------------------------------------------------------------- labels


def _labels(tmp_path: Path, text: str, ids: list) -> list:
    """``read_labels`` of ``text`` for a graph of node ids ``ids``, as a list."""
    from graphvae.data.graph_files import read_labels

    p = tmp_path / "labels.csv"
    p.write_text(text)
    return list(read_labels(p, ids))


def test_labels_row_with_more_fields_than_the_first_is_refused(tmp_path: Path) -> None:
    """``b,y,z`` below ``a,x`` holds an unquoted separator: refused (line 2), not read as label ``y``. Mutant: the
    width check ``!=`` made ``<``."""
    with pytest.raises(InputError, match="line 2"):
        _labels(tmp_path, "a,x\nb,y,z\n", ["a", "b"])


def test_labels_empty_label_is_refused(tmp_path: Path) -> None:
    """``a,`` names no label: refused (line 1), not the class ``''``. Mutant: ``not all(fields[:2])`` dropped."""
    with pytest.raises(InputError, match="line 1"):
        _labels(tmp_path, "a,\nb,y\n", ["a", "b"])


@pytest.mark.parametrize("name, text, message", [
    ("named first column", "a,id,label\n0,n1,x\n1,n2,y\n", "3 columns"),
    ("index above no id column", ",foo,label\n0,n1,x\n1,n2,y\n", "3 columns"),
])
def test_labels_extra_columns_refused_where_documented(tmp_path: Path, name: str, text: str, message: str) -> None:
    """``read_labels``' contract: only pandas' *unnamed* row index above an id column (``,id,label``) is skipped;
    any other third column is refused unless a header names the second column as the label. Mutants:
    ``header[0] == ""`` dropped (``a,id,label`` lost its first column), ``header[1] in ID_COLUMNS`` dropped
    (``,foo,label`` read as keyed by ``foo``)."""
    with pytest.raises(InputError, match=message):
        _labels(tmp_path, text, ["n1", "n2"])


def test_canonical_integer_check_against_python_int() -> None:
    """``_canonical_integers(text)`` is true exactly when every integer field is written as ``str(int(field))``
    writes it (Python's ``int`` the reference), also for a ``0`` that ends the text without a newline. Mutant: the
    sentinel byte after the text made ``b"0"`` (a last field ``0`` then read as ``00``; the file left the fast path)."""
    import itertools

    from graphvae.data.graph import _canonical_integers

    tokens = ["0", "7", "10", "-3", "007", "+1", "-0", "00", "09"]
    for a, b in itertools.product(tokens, repeat=2):
        for sep, end in (((",", ""), (",", "\n"), ("\t", ""), (" ", "\n"))):
            text = f"5{sep}6\n{a}{sep}{b}{end}"
            expected = all(str(int(f)) == f for f in (a, b))
            assert _canonical_integers(text) == expected, text


def test_upper_case_npy_features_are_read_as_numpy_reads_them(tmp_path: Path) -> None:
    """BUG fixed: ``X.NPY`` (a ``numpy.save`` file under an upper-case suffix) was read as text and refused with
    "it is a numpy .npy array: features are read from .npy", while ``.EMB``/``.NPZ`` and the graph files' suffixes
    are matched case-blind. Reference: ``np.load`` of the same file."""
    values = np.array([[1.0, 2.0], [3.0, 4.5]])
    saved = tmp_path / "x.npy"
    np.save(saved, values)
    p = saved.rename(tmp_path / "X.NPY")
    np.testing.assert_array_equal(read_features(p, ["a", "b"]), np.load(p).astype(np.float32))
