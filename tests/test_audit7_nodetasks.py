"""Audit of the node-embedding tasks (``classify``, ``cluster``, :mod:`graphvae.evaluation.node_tasks`, the labels
reader) against independent references: brute force over permutations, scikit-learn's metrics, PyG's Planetoid masks.

Defects fixed (each test below names what it caught):

1. ``matched_accuracy`` (public API) raised a numpy ``TypeError`` traceback for labels of mixed types (``1`` and
   ``"a"``) or holding ``None``, and counted a NaN cluster label as a cluster, where ``cluster_scores`` compares
   mixed types as text and refuses missing values.
2. ``read_labels`` read a header ``node,label`` as a data row when the graph has a node named ``node``: that node
   got the class ``label``, one class too many (``cluster`` took K from it and scored against it, silently).
3. ``read_labels`` skipped a first row with a mistyped string id and a numeric class no other row has (``alcie,2``)
   as a header: the node was silently left unlabelled (classify then dropped it without a word).
"""
import itertools
import json
import random
import shutil

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from conftest import one_error, registered_dataset
from graphvae.cli import main
from graphvae.data.graph_files import read_labels
from graphvae.evaluation.node_tasks import (cluster, cluster_scores, encode_labels, label_splits, matched_accuracy,
                                            probe_scores, public_split)


# --------------------------------------------------------------------------- ACC, NMI, ARI, probe metrics

def brute_force_acc(y, pred) -> float:
    """The best accuracy over every one-to-one map between clusters and classes (unmatched ones score nothing)."""
    classes, clusters = sorted(set(y)), sorted(set(pred))
    best = 0
    if len(clusters) <= len(classes):
        for image in itertools.permutations(classes, len(clusters)):
            match = dict(zip(clusters, image))
            best = max(best, sum(match[p] == t for p, t in zip(pred, y)))
    else:
        for preimage in itertools.permutations(clusters, len(classes)):
            match = dict(zip(preimage, classes))
            best = max(best, sum(match.get(p) == t for p, t in zip(pred, y)))
    return best / len(y)


def test_matched_accuracy_is_the_brute_force_best_matching_and_nmi_ari_are_sklearns():
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    rng = np.random.default_rng(7)
    shapes = set()
    for case in range(300):
        n, n_classes, n_clusters = int(rng.integers(1, 11)), int(rng.integers(1, 5)), int(rng.integers(1, 6))
        y, pred = rng.integers(0, n_classes, n), rng.integers(0, n_clusters, n)
        if case % 3 == 1:  # string classes
            y = np.array([f"class-{v}" for v in y])
        elif case % 3 == 2:  # non-contiguous, negative integers on both sides
            y, pred = 100 - 7 * y, 10 * pred + 3
        shapes.add(np.sign(len(set(pred.tolist())) - len(set(y.tolist()))))
        assert matched_accuracy(y, pred) == pytest.approx(brute_force_acc(y.tolist(), pred.tolist()), abs=1e-12)
        if len(set(y.tolist())) < 2:  # one class: refused (test_cluster_scores_need_two_classes)
            continue
        s = cluster_scores(y, pred)
        assert s["acc"] == pytest.approx(brute_force_acc(y.tolist(), pred.tolist()), abs=1e-12)
        assert s["nmi"] == pytest.approx(normalized_mutual_info_score(y, pred), abs=1e-12)
        assert s["ari"] == pytest.approx(adjusted_rand_score(y, pred), abs=1e-12)
    assert shapes == {-1, 0, 1}  # fewer, as many and more clusters than classes were all checked


def test_matched_accuracy_compares_mixed_types_as_text_and_refuses_missing_values():
    """Defect 1: a numpy TypeError traceback ('<' between str and int), and NaN counted as a cluster."""
    assert matched_accuracy([1, "a", "a", 2], [0, 1, 1, 0]) == pytest.approx(0.75)
    assert matched_accuracy([1, "1", "a"], [0, 0, 1]) == 1.0  # 1 and "1" one class, as cluster_scores has it
    assert matched_accuracy([1, "a", "a", 2], [0, 1, 1, 0]) == cluster_scores([1, "a", "a", 2], [0, 1, 1, 0])["acc"]
    with pytest.raises(gv.InputError, match="missing value"):
        matched_accuracy([1, "a", None, 2], [0, 1, 1, 0])
    with pytest.raises(gv.InputError, match="missing value"):
        matched_accuracy([0, 1, 1], [0.0, np.nan, 1.0])


def test_probe_scores_are_sklearns_accuracy_and_macro_f1_of_the_same_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    y = np.repeat(["a", "b", "c"], 20)
    z = rng.normal(size=(60, 4)) + 0.8 * np.eye(4)[np.repeat([0, 1, 2], 20)]
    (tr, te), = label_splits(np.unique(y, return_inverse=True)[1], test_size=0.5, random_state=2)
    scaler = StandardScaler().fit(z[tr])  # the training rows' means and deviations
    ref = LogisticRegression(C=0.01, max_iter=3000).fit(scaler.transform(z[tr]), y[tr]).predict(scaler.transform(z[te]))
    got = probe_scores(z, y, tr, te, C=0.01)
    assert got["accuracy"] == pytest.approx(accuracy_score(y[te], ref), abs=1e-12)
    assert got["macro_f1"] == pytest.approx(f1_score(y[te], ref, average="macro"), abs=1e-12)


# --------------------------------------------------------------------------- splits and seeds

def test_public_split_is_pygs_planetoid_masks(tmp_path):
    from torch_geometric.datasets import Planetoid

    from graphvae.data.datasets import dataset_folder

    for name in ("Cora", "CiteSeer"):
        graph = registered_dataset(name.lower())  # skips, or fails under CI, without the files
        source = dataset_folder(name.lower(), download=False)  # where graphvae read them (any layout it accepts)
        shutil.copytree(source, tmp_path / name / "raw")
        ref = Planetoid(str(tmp_path), name)[0]
        for ours, mask in zip(public_split(graph), (ref.train_mask, ref.val_mask, ref.test_mask)):
            assert np.array_equal(ours, np.flatnonzero(mask.numpy()))
        assert np.array_equal(np.asarray(graph.y), ref.y.numpy())


def test_splits_and_clusterings_follow_their_seed_and_leave_global_rngs_alone():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 12)
    z = rng.normal(size=(36, 3)) + 3 * np.eye(3)[y]
    np.random.seed(11), random.seed(11), torch.manual_seed(11)
    states = np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state().clone()
    for folds in (None, 3):
        a, b, c = (label_splits(y, folds, random_state=s) for s in (4, 4, 5))
        assert all(np.array_equal(p, q) for s, t in zip(a, b) for p, q in zip(s, t))
        assert any(not np.array_equal(p, q) for s, t in zip(a, c) for p, q in zip(s, t))
    for method in ("gmm", "kmeans"):
        one, again = cluster(z, 3, method, random_state=1), cluster(z, 3, method, random_state=1)
        assert np.array_equal(one["responsibilities"], again["responsibilities"])
    probe_scores(z, y, np.arange(0, 36, 2), np.arange(1, 36, 2), random_state=3)
    assert np.array_equal(np.random.get_state()[1], states[0]) and random.getstate() == states[1]
    assert torch.equal(torch.get_rng_state(), states[2])


# --------------------------------------------------------------------------- the labels file

def labels_of(tmp_path, text, ids):
    (tmp_path / "y.csv").write_text(text, encoding="utf-8")
    return read_labels(tmp_path / "y.csv", ids).tolist()


def test_a_header_whose_first_field_is_a_node_id_is_still_a_header(tmp_path):
    """Defect 2: ``node,label`` in a graph with a node ``node`` gave that node the class ``label``."""
    ids = ["node", "alice", "bob"]
    assert labels_of(tmp_path, "node,label\nalice,0\nbob,1\n", ids) == [None, "0", "1"]
    assert labels_of(tmp_path, "name,label\nalice,0\nnode,1\n", ["name", "alice", "node"]) == [None, "0", "1"]
    assert labels_of(tmp_path, "alice,Class\nbob,0\nnode,1\n", ids) == ["1", None, "0"]
    # the node may still be labelled below its header, and a cluster --out file of such a graph reads back
    assert labels_of(tmp_path, "node,label\nnode,1\nalice,0\n", ids) == ["1", "0", None]
    assert labels_of(tmp_path, "node_id,cluster,r0,r1\nnode_id,1,0,1\nalice,0,1,0\n",
                     ["node_id", "alice"]) == ["1", "0"]
    # a data row stays one: a numeric class, a class other rows share, a plain name, a numeric id, the class "y"
    assert labels_of(tmp_path, "node,2\nalice,0\nbob,1\n", ids) == ["2", "0", "1"]
    assert labels_of(tmp_path, "node,label\nalice,label\nbob,1\n", ids) == ["label", "label", "1"]
    assert labels_of(tmp_path, "alice,x\nbob,0\nnode,1\n", ids) == ["1", "x", "0"]
    assert labels_of(tmp_path, "0,label\n1,a\n2,a\n", [0, 1, 2]) == ["label", "a", "a"]
    assert labels_of(tmp_path, "alice,y\nbob,n\nnode,n\n", ids) == ["n", "y", "n"]


def test_a_mistyped_first_id_with_a_numeric_class_is_an_error_not_a_header(tmp_path):
    """Defect 3: ``alcie,2`` (class 2 on no other row) was skipped as a header, alice silently unlabelled."""
    ids = ["alice", "bob", "carol"]
    for text in ("alcie,2\nbob,0\ncarol,1\n", "Alice,2.5\nbob,0\ncarol,1\n"):
        with pytest.raises(gv.InputError, match="line 1: node id '(alcie|Alice)' is not in the graph"):
            labels_of(tmp_path, text, ids)
    # headers are still headers: usual names, unusual names, pandas' unnamed index, a BOM, blank lines, a TSV
    for text in ("node,label\nalice,0\nbob,1\n", "person,group\nalice,0\nbob,1\n", ",label\nalice,0\nbob,1\n",
                 "\ufeffNodeID,Class\n\nalice,0\n  \nbob,1\n", "who\tkind\nalice\t0\nbob\t1\n"):
        assert labels_of(tmp_path, text, ids) == ["0", "1", None], text
    assert labels_of(tmp_path, "alice,0\nbob,1\n", ids) == ["0", "1", None]  # no header
    for text, message in (("alice,0\nalice,0\n", "second label"), ("alice,0\nzed,1\n", "'zed' is not in the graph"),
                          ("node,label\n", "no label rows"), ("alice,0\nbob,NA\n", "missing value")):
        with pytest.raises(gv.InputError, match=message):
            labels_of(tmp_path, text, ids)


def refused(capsys, argv, message):
    """``main(argv)`` exits with status 2 (returned, or argparse's SystemExit) and one error line holding ``message``."""
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    one_error(capsys, message)


def karate(tmp_path):
    """The karate club with string ids ``n0``..``n33`` as an edge list, and its two clubs."""
    g = nx.karate_club_graph()
    (tmp_path / "e.csv").write_text("".join(f"n{u},n{v}\n" for u, v in g.edges))
    return {f"n{v}": g.nodes[v]["club"] for v in g}


def test_cluster_reads_a_header_naming_a_graph_node(tmp_path, monkeypatch, capsys):
    """Defect 2 through the CLI: a graph with a node ``node`` and a labels file with the header ``node,label`` was
    refused (``node`` had 'a second label') or, without a row for ``node``, scored against a third class."""
    monkeypatch.chdir(tmp_path)
    g = nx.karate_club_graph()
    (tmp_path / "e.csv").write_text("".join(f"{'node' if u == 0 else u},{v}\n" for u, v in g.edges))
    clubs = {("node" if v == 0 else str(v)): g.nodes[v]["club"] for v in g}
    (tmp_path / "y.csv").write_text("node,label\n" + "".join(f"{v},{c}\n" for v, c in clubs.items()))
    assert main(["cluster", "--edges", "e.csv", "--labels", "y.csv", "--epochs", "5", "--no-progress",
                 "--json", "r.json"]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["clusters"] == 2
    (tmp_path / "y.csv").write_text("node,label\n" + "".join(f"{v},{c}\n" for v, c in clubs.items() if v != "node"))
    refused(capsys, ["cluster", "--edges", "e.csv", "--labels", "y.csv", "--epochs", "5", "--no-progress"],
            "1 graph nodes have no label (e.g. 'node')")


# --------------------------------------------------------------------------- the commands

def test_cluster_file_is_keyed_by_string_ids_and_scores_match_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clubs = karate(tmp_path)
    (tmp_path / "y.csv").write_text("".join(f"{v},{c}\n" for v, c in clubs.items()))
    assert main(["cluster", "--edges", "e.csv", "--labels", "y.csv", "--epochs", "5", "--seeds", "3", "--no-progress",
                 "--clusters", "3", "--out", "c.csv", "--json", "r.json"]) == 0
    rows = (tmp_path / "c.csv").read_text().splitlines()
    assert rows[0] == "node_id,cluster,r0,r1,r2" and len(rows) == 35
    body = [r.split(",") for r in rows[1:]]
    assert sorted(r[0] for r in body) == sorted(clubs)
    resp = np.array([[float(x) for x in r[2:]] for r in body])
    assert np.allclose(resp.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(resp.argmax(axis=1), [int(r[1]) for r in body])
    r = json.loads((tmp_path / "r.json").read_text())
    seed0 = cluster_scores([clubs[row[0]] for row in body], [row[1] for row in body])  # by id, from the file
    assert {k: r["seeds"][0][k] for k in seed0} == pytest.approx(seed0)
    for metric in ("acc", "nmi", "ari"):  # population std (ddof 0), as linkpred's mean_std
        values = [s[metric] for s in r["seeds"]]
        assert r[metric] == pytest.approx({"mean": np.mean(values), "std": np.std(values, ddof=0)})
    # the file reads back as labels (its responsibilities ignored)
    again = read_labels(tmp_path / "c.csv", list(clubs))
    assert again.tolist() == [row[1] for row in sorted(body, key=lambda row: int(row[0][1:]))]
    assert len(list(tmp_path.glob(".c.csv.tmp*"))) == 0


def test_classify_is_reproducible_per_seed_and_refuses_what_it_cannot_score(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    clubs = karate(tmp_path)
    (tmp_path / "y.csv").write_text("id,label\n" + "".join(f"{v},{c}\n" for v, c in clubs.items()))
    for out in ("a.json", "b.json"):
        assert main(["classify", "--edges", "e.csv", "--labels", "y.csv", "--epochs", "5", "--seeds", "2", "--folds",
                     "3", "--no-progress", "--json", out]) == 0
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert [s["accuracy"] for s in a["seeds"]] == [s["accuracy"] for s in b["seeds"]]
    acc = [s["accuracy"] for s in a["seeds"]]
    assert a["accuracy"] == pytest.approx({"mean": np.mean(acc), "std": np.std(acc)})
    assert a["classes"] == sorted(set(clubs.values())) and a["protocol"] == "3-fold"
    (tmp_path / "one.csv").write_text("".join(f"{v},{'x' if v == 'n0' else 'y'}\n" for v in clubs))
    for args, message in ((["--labels", "one.csv"], "too few to stratify"),
                          (["--labels", "y.csv", "--folds", "18"], "a 18-fold split needs at least 18"),
                          (["--labels", "y.csv", "--folds", "1"], "--folds must be at least 2")):
        refused(capsys, ["classify", "--edges", "e.csv", "--epochs", "5", "--no-progress", *args], message)


@pytest.mark.parametrize("clusters, message", [("1", "at least 2"), ("35", "between 2 and the number of nodes (34)")])
def test_cluster_count_outside_2_to_nodes_is_one_error(tmp_path, monkeypatch, capsys, clusters, message):
    monkeypatch.chdir(tmp_path)
    karate(tmp_path)
    refused(capsys, ["cluster", "--edges", "e.csv", "--epochs", "5", "--no-progress", "--clusters", clusters], message)


def test_encode_labels_keeps_labelled_rows_in_order():
    labelled, codes, names = encode_labels(["b", None, 10, "b", float("nan"), 2])
    assert labelled.tolist() == [0, 2, 3, 5] and names == ["10", "2", "b"] and codes.tolist() == [2, 0, 2, 1]
