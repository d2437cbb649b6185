"""gzip-compressed text inputs (SNAP ships its edge lists as ``.txt.gz``) read as their decompressed text."""
from __future__ import annotations

import gzip
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import graphvae as gv
from graphvae.cli.main import main

SNAP = "# Directed graph: toy\n# FromNodeId\tToNodeId\n0\t1\n1\t2\n2\t0\n3\t1\n"


def _gz(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(gzip.compress(text.replace("\n", newline).encode("utf-8")))
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_gzipped_snap_edge_list_is_the_graph_networkx_reads(tmp_path: Path, newline: str) -> None:
    graph = gv.load_graph(_gz(tmp_path / "toy.txt.gz", SNAP, newline))
    reference = nx.read_edgelist(_text(tmp_path / "plain.txt", SNAP), nodetype=int)
    assert sorted(graph.node_ids) == sorted(reference.nodes)
    edges = {frozenset((graph.node_ids[i], graph.node_ids[j])) for i, j in graph.edge_index.T.tolist()}
    assert edges == {frozenset(e) for e in reference.edges}


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_gzipped_string_ids_labels_and_features_read_as_uncompressed(tmp_path: Path) -> None:
    edges = "source,target\nann,bob\nbob,cy\ncy,ann\n"
    features = "id,f1,f2\nann,1,2\nbob,3,4\ncy,5,6\n"
    plain = gv.load_graph(_text(tmp_path / "e.csv", edges), features=_text(tmp_path / "x.csv", features))
    packed = gv.load_graph(_gz(tmp_path / "e.csv.gz", edges), features=_gz(tmp_path / "x.csv.gz", features))
    assert packed.node_ids == plain.node_ids
    np.testing.assert_array_equal(packed.x.to_dense().numpy(), plain.x.to_dense().numpy())
    assert packed.cleaning == plain.cleaning


def test_a_damaged_gzip_file_is_one_line_and_exit_status_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(gzip.compress(SNAP.encode() * 50)[:40])
    with pytest.raises(gv.InputError, match="damaged gzip file"):
        gv.load_graph(path)
    assert main(["embed", "--edges", str(path), "--out", str(tmp_path / "z.csv"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged gzip file" in err[0]
    assert not (tmp_path / "z.csv").exists()


def test_a_gzipped_binary_or_graphml_file_is_named(tmp_path: Path) -> None:
    binary = tmp_path / "a.gz"
    binary.write_bytes(gzip.compress(bytes(range(256)) * 4))
    with pytest.raises(gv.InputError, match="does not hold a text edge list"):
        gv.load_graph(binary)
    graphml = tmp_path / "g.graphml.gz"
    nx.write_graphml(nx.path_graph(3), tmp_path / "g.graphml")
    graphml.write_bytes(gzip.compress((tmp_path / "g.graphml").read_bytes()))
    with pytest.raises(gv.InputError, match=r"gzip-compressed GraphML file.*gunzip it, and give the \.graphml file"):
        gv.load_graph(graphml)
