"""Review of audit 11's reader changes (review2): regressions against the pre-session code, pinned against
independent references (numpy's own text reader, pandas reading its own files back, the documented contract)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import graphvae as gv
from graphvae.data.graph import read_features


def test_feature_header_one_name_short_without_leading_space_keys_by_the_first_column(tmp_path: Path) -> None:
    """``id,features`` (or ``id features``) above rows ``0,0.1,0.2`` in node order: a hand-written header naming the
    id and, once, the features. It is no pandas row index (pandas writes ``,id,f1`` with commas and a leading space
    with ``sep=" "``), so the rows are keyed by the first column, as ``read_features`` documents and as before this
    session; they were keyed by the second column ('node id 0.1 is not in the graph'). Reference: ``np.loadtxt``."""
    rows = np.array([[0, 0.1, 0.2], [1, 0.3, 0.4], [2, 0.5, 0.6]])
    for name, sep in (("x.csv", ","), ("x.txt", " ")):
        p = tmp_path / name
        p.write_text("id" + sep + "features\n" + "".join(sep.join(f"{v:g}" for v in r) + "\n" for r in rows))
        table = np.loadtxt(p, delimiter=sep if sep == "," else None, skiprows=1)
        expected = table[np.argsort(table[:, 0]), 1:].astype(np.float32)
        np.testing.assert_array_equal(read_features(p, [0, 1, 2]), expected)


def test_pandas_space_separated_row_index_above_an_id_column_still_skipped(tmp_path: Path) -> None:
    """The case that heuristic is for: ``DataFrame.to_csv(sep=" ")`` of a frame with an ``id`` column writes
    `` id f1 f2`` (a leading space) above ``0 2 0.1 0.2``: keyed by the ``id`` column, as pandas reads it back."""
    import pandas as pd

    frame = pd.DataFrame({"id": [2, 0, 1], "f1": [0.1, 0.3, 0.5], "f2": [0.2, 0.4, 0.6]})
    p = tmp_path / "x.txt"
    frame.to_csv(p, sep=" ")
    back = pd.read_csv(p, sep=" ", index_col=0).set_index("id")
    np.testing.assert_array_equal(read_features(p, [0, 1, 2]), back.loc[[0, 1, 2]].to_numpy(np.float32))


def test_bits_per_dim_refuses_a_zero_dimensional_numpy_bool() -> None:
    """``bits_per_dim`` refuses booleans (Python's, ``np.bool_``, a torch bool tensor: its documented contract, a
    bound in nats is a number); numpy's 0-d bool array ``np.array(True)`` was read by ``float()`` as 1 nat."""
    import pytest

    from graphvae import InputError
    from graphvae.objectives.pixel_likelihood import bits_per_dim

    for flag in (np.array(True), np.array(False)):
        with pytest.raises(InputError, match="finite number"):
            bits_per_dim(flag, 4)
    assert bits_per_dim(np.array(2.0), 4) == bits_per_dim(2.0, 4)  # a 0-d float array is still a number


def test_an_indented_header_above_one_weighted_row_reads_the_row(tmp_path) -> None:
    """`` source target`` above a single row ``5 6 0.5``: one integer is no row index to refuse (pandas' index
    needs rows to tell), so the row is an edge of weight 0.5 (a hand count)."""
    path = tmp_path / "e.txt"
    path.write_text(" source target\n5 6 0.5\n")
    graph = gv.load_graph(path)
    assert sorted(graph.node_ids) == [5, 6] and graph.edge_weight.tolist() == [0.5, 0.5]
