"""Bring-your-own-graph readers and every bad input: one clear line, non-zero exit, no traceback."""
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

import graphvae as gv
from graphvae.cli import main
from graphvae.data.graph import read_edge_list, read_features


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def ring(n=30):
    return "\n".join(f"n{i},n{(i + 1) % n}" for i in range(n)) + "\n"


def test_edge_list_with_header_string_ids_and_cleaning(tmp_path):
    p = write(tmp_path, "e.csv", "source,target\na,b\nb,a\nb,c\nc,c\na,b\nc,d\n")
    g = gv.load_graph(p)
    assert g.node_ids == ["a", "b", "c", "d"]
    assert g.cleaning == dict(self_loops=1, duplicates=1, one_way=2, undirected_edges=3, header="source,target")
    assert g.edge_index.shape == (2, 6)
    assert g.x.shape == (4, 4)  # identity features for a featureless graph


def test_tsv_integer_ids_sorted_numerically_and_npy_features(tmp_path):
    p = write(tmp_path, "e.tsv", "10\t2\n2\t3\n3\t10\n")
    src, dst, ids = read_edge_list(p)
    assert ids == [2, 3, 10]
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "x.npy", x)
    g = gv.load_graph(p, tmp_path / "x.npy")
    assert torch.equal(g.x, torch.from_numpy(x))


def test_csv_features_keyed_by_node_id(tmp_path):
    p = write(tmp_path, "e.csv", "a,b\nb,c\n")
    f = write(tmp_path, "x.csv", "id,f1,f2\nc,5,6\na,1,2\nb,3,4\n")
    g = gv.load_graph(p, f, header=False)
    assert g.x.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_python_graph_objects_agree():
    nxg = nx.karate_club_graph()
    a = nx.to_scipy_sparse_array(nxg)
    g1, g2 = gv.as_graph(nxg), gv.as_graph(sp.csr_matrix(a))
    g3 = gv.as_graph(Data(edge_index=g1.edge_index, num_nodes=g1.num_nodes))
    for g in (g2, g3):
        assert torch.equal(g.edge_index, g1.edge_index)
    assert g1.cleaning["undirected_edges"] == nxg.number_of_edges()
    d = gv.as_graph(nx.DiGraph([(0, 1), (1, 2)]))
    assert d.cleaning["one_way"] == 2 and d.edge_index.shape[1] == 4
    with pytest.raises(TypeError, match="cannot make a graph"):
        gv.as_graph([1, 2, 3])


BAD_INPUTS = [
    # (files, extra CLI args, expected message fragment)
    ({}, ["--edges", "missing.csv"], "edge-list file not found"),
    ({}, ["--edges", "missing.graphml"], "graph file not found: missing.graphml"),  # was "edge-list file"
    ({"e.csv": "a,b\nb,c,d\n"}, ["--edges", "e.csv"], "line 2: expected 2 columns"),
    ({"e.csv": ring(), "x.csv": "n0,1\nzz,2\n"}, ["--edges", "e.csv", "--features", "x.csv"], "'zz' is not in the graph"),
    ({"e.csv": ring(), "x.csv": "\n".join(f"n{i},{'nan' if i == 3 else 1}" for i in range(30))},
     ["--edges", "e.csv", "--features", "x.csv"], "NaN or inf"),
    ({"e.csv": ring()}, ["--edges", "e.csv", "--features", "x.npy"], "has shape (3, 2) but the graph has 30 nodes"),
    ({"e.csv": "a,b\nb,c\n"}, ["--edges", "e.csv", "--latent", "2"], "too few to split"),
    ({}, ["--dataset", "nosuch"], "unknown dataset 'nosuch'"),
    ({"e.csv": ""}, ["--edges", "e.csv"], "no edges"),
]


@pytest.mark.parametrize("files,args,message", BAD_INPUTS)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, monkeypatch, capsys, files, args, message):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        write(tmp_path, name, text)
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    assert main(["linkpred", *args, "--epochs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err


def test_api_raises_value_error_with_the_same_message(tmp_path):
    p = write(tmp_path, "e.csv", "a,b\nb,c,d\n")
    with pytest.raises(ValueError, match="line 2: expected 2 columns"):
        gv.load_graph(p)
    with pytest.raises(ValueError, match="NaN or inf"):
        gv.build_graph(np.array([0]), np.array([1]), 2, x=np.array([[1.0], [np.inf]]))
    with pytest.raises(ValueError, match="line 2: node id 'q' is not in the graph"):
        read_features(write(tmp_path, "x.csv", "a,1\nq,1\n"), ["a"])


@pytest.mark.parametrize("header", ["id,0,1", "node,0,1", ",0,1", "id,a,b"])
def test_feature_headers_of_pandas_and_people_are_skipped(tmp_path, header):
    # pandas' to_csv(index_label="id") writes "id,0,1": its numeric column names made it read as a data row, refused
    # with "node id 'id' is not in the graph"
    x = read_features(write(tmp_path, "x.csv", f"{header}\nb,3,4\na,1,2\n"), ["a", "b"])
    assert x.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"1 graph nodes have no feature row \(e.g. \['a'\]\)"):
        read_features(write(tmp_path, "y.csv", "A,1,2\nb,3,4\n"), ["a", "b"])  # a mistyped first row cannot hide


def test_embed_command_end_to_end(tmp_path):
    edges = write(tmp_path, "e.csv", ring(40))
    out = tmp_path / "z.csv"
    r = subprocess.run([sys.executable, "-m", "graphvae", "embed", "--edges", str(edges), "--out", str(out),
                        "--epochs", "3", "--no-progress"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 41 and lines[1].startswith("n0,") and len(lines[1].split(",")) == 17
    assert "40 undirected edges" in r.stderr


def test_linkpred_json_schema(tmp_path, cora):
    out = tmp_path / "r.json"
    assert main(["linkpred", "--dataset", "cora", "--model", "gae", "--seeds", "2", "--epochs", "3",
                 "--no-progress", "--json", str(out)]) == 0
    import json
    r = json.loads(out.read_text())
    assert r["dataset"] == "cora" and r["model"] == "gae" and [s["seed"] for s in r["seeds"]] == [0, 1]
    aucs = [s["auc"] for s in r["seeds"]]
    assert abs(r["auc"]["mean"] - np.mean(aucs)) < 1e-12 and abs(r["auc"]["std"] - np.std(aucs)) < 1e-12
    assert 0 <= r["ap"]["mean"] <= 1 and r["train_seconds"] > 0


def test_binary_feature_file_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "e.csv", ring())
    (tmp_path / "x.csv").write_bytes(b"\xff\xfe\x00binary")
    assert main(["embed", "--edges", "e.csv", "--features", "x.csv", "--out", "z.npy", "--no-progress"]) == 2
    assert "cannot decode as UTF-8" in capsys.readouterr().err


def test_closed_output_pipe_stops_quietly(tmp_path):
    # `graphvae ... | head -1`: the reader exits early; the command stops with 141 and no error message
    edges = tmp_path / "e.csv"
    edges.write_text("".join(f"{i},{i + 1}\n" for i in range(30)))
    code = ("import sys, graphvae.cli.embed as e; from graphvae.cli import main\n"
            "def flood(args):\n    while True:\n        print('x' * 1000)\n"
            "e.run = flood\n"
            "sys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "embed", "--edges", str(edges), "--out", str(tmp_path / "z.npy")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141
    assert b"Traceback" not in err and b"error" not in err


@pytest.mark.parametrize("gzipped", [False, True])
def test_files_joined_with_their_byte_order_marks_read_as_without(tmp_path, gzipped):
    """Two Excel "CSV UTF-8" files joined with ``cat``: the second's byte-order mark sits at the start of a line and
    made that line's first id a node of its own ('\\ufeffa' beside 'a'). Reference: the same text without the marks."""
    import gzip

    bom = "\ufeff"
    parts = {"e": ("a,b\nb,c\n", "a,c\nc,d\n"), "x": ("a,1\nb,2\n", "c,3\nd,4\n"), "y": ("a,p\nb,q\n", "c,p\nd,q\n")}

    def put(name, text):
        path = tmp_path / (name + (".csv.gz" if gzipped else ".csv"))
        data = text.encode("utf-8")
        path.write_bytes(gzip.compress(data) if gzipped else data)
        return path

    joined = {k: put(f"{k}_joined", bom + a + bom + b) for k, (a, b) in parts.items()}
    plain = {k: put(f"{k}_plain", a + b) for k, (a, b) in parts.items()}
    g, ref = gv.load_graph(joined["e"], joined["x"]), gv.load_graph(plain["e"], plain["x"])
    assert g.node_ids == ref.node_ids == ["a", "b", "c", "d"]
    assert torch.equal(g.edge_index, ref.edge_index) and torch.equal(g.x, ref.x)
    from graphvae.data.graph_files import read_labels

    assert read_labels(joined["y"], g.node_ids).tolist() == read_labels(plain["y"], g.node_ids).tolist()
