"""Mutation audit (round 8) of the evaluation code: ``evaluation.metrics``, ``summary``, ``frechet``, ``node_tasks``
(labels, probe, clustering, scores), the data behind ``evaluation.plots``' figures and the numbers ``classify`` and
``cluster`` write. Each test names the hand-made mutant it kills and checks against an independent reference.

Defects fixed (each test below names what it caught):

1. ``cluster_scores`` (and ``matched_accuracy``, ``probe_scores``, ``label_splits``) took the labels ``[1, 1.0]`` as
   one class -- numpy made one number of them -- where ``encode_labels`` (whose class names ``classify`` reports)
   makes two: a plain list of mixed types is now compared as text, as the code meant.
2. ``node_labels`` of a graph whose ``y`` holds NaN (PyG's mark of an unlabelled node, e.g. ogbn-papers100M) raised
   a bare ``ValueError: cannot convert float NaN to integer``; a non-integer ``y`` (0.5, 0.7) was silently cut to
   one class ``0`` by ``int``. NaN now means unlabelled (``None``, as ``encode_labels`` reads it) and a non-integer
   number is an :class:`InputError`.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.evaluation import node_tasks


# --------------------------------------------------------------------------- labels: one notion of a class

def test_cluster_scores_take_1_and_1_0_as_two_classes_as_encode_labels_does():
    """A plain list ``[1, 1.0, ...]``: ``encode_labels`` names two classes ``'1'`` and ``'1.0'``; the scores count
    the same classes (reference: the same scores on the labels written as text). Old code: numpy's ``asarray`` made
    both the float 1.0, one class, and a perfect clustering scored ACC 0.75."""
    y, pred = [1, 1.0, 2, 2], [0, 1, 2, 2]
    _, codes, names = node_tasks.encode_labels(y)
    assert names == ["1", "1.0", "2"] and codes.tolist() == [0, 1, 2, 2]
    as_text = node_tasks.cluster_scores([str(v) for v in y], pred)
    assert as_text == {"acc": 1.0, "nmi": pytest.approx(1.0), "ari": pytest.approx(1.0)}
    assert node_tasks.cluster_scores(y, pred) == pytest.approx(as_text)
    assert node_tasks.matched_accuracy([True, 1, 1], [0, 1, 1]) == 1.0  # True and 1: two classes, as str() tells
    # a homogeneous numeric list or array keeps its numbers: 1 and 1.0 in one float array are one class
    assert node_tasks.cluster_scores(np.array([1, 1.0, 2, 2]), pred)["acc"] == 0.75


def test_labels_of_mixed_types_are_compared_as_text_by_every_score():
    """Labels ``1`` and ``"b"`` in one sequence (an object array) are classes compared as text, as
    ``encode_labels`` names them: ACC, NMI and ARI equal those of the labels written as text, and the probe takes
    them. Kills n09 (the object array kept as it is: numpy's sort of ``1`` and ``"b"`` raised a ``TypeError``)."""
    y = np.array([1, "b", 1, "b", 1, "b"], dtype=object)
    pred = [0, 1, 0, 1, 1, 1]
    assert node_tasks.cluster_scores(y, pred) == pytest.approx(node_tasks.cluster_scores(y.astype(str), pred))
    assert node_tasks.matched_accuracy(y, pred) == pytest.approx(5 / 6)  # cluster 0 -> "1", cluster 1 -> "b"
    z = np.array([[0.0], [1.0], [0.1], [0.9], [0.2], [1.1]])
    scores = node_tasks.probe_scores(z, y, [0, 1, 2, 3], [4, 5], C=100.0)
    assert scores == {"accuracy": 1.0, "macro_f1": 1.0}


def _graph_with_y(y) -> gv.Graph:
    """A 4-node path graph carrying ``y``."""
    import networkx as nx

    g = gv.as_graph(nx.path_graph(4))
    g.y = y
    return g


def test_node_labels_read_nan_as_unlabelled_and_refuse_non_integer_classes():
    """``node_labels`` of a graph's float ``y``: NaN is an unlabelled node (``None``, as ``encode_labels`` skips
    it), integral floats are their integer classes, and 0.5 is no class (:class:`InputError`). Old code: ``int(nan)``
    raised a bare ``ValueError``, and ``int`` cut 0.5 and 0.7 to one class 0."""
    labels = node_tasks.node_labels(_graph_with_y(torch.tensor([0.0, float("nan"), 1.0, 1.0])))
    assert labels.tolist() == [0, None, 1, 1]
    labelled, codes, names = node_tasks.encode_labels(labels)
    assert labelled.tolist() == [0, 2, 3] and names == ["0", "1"]
    with pytest.raises(gv.InputError, match="0.5"):
        node_tasks.node_labels(_graph_with_y(torch.tensor([0.5, 0.7, 1.0, 1.0])))
    assert node_tasks.node_labels(_graph_with_y(torch.tensor([3, 1, 3, 1]))).tolist() == [3, 1, 3, 1]


# --------------------------------------------------------------------------- link-prediction AUC and AP

def test_auc_ap_refuses_nan_among_the_negative_scores_too():
    """A NaN score on either side is refused (NaN sorts as a threshold of its own: a meaningless score). Kills m02
    (only the positives checked): a NaN negative gave a number."""
    from graphvae.evaluation.metrics import auc_ap

    for pos, neg in (([0.9, np.nan], [0.1, 0.2]), ([0.9, 0.8], [0.1, np.nan])):
        with pytest.raises(gv.InputError, match="NaN"):
            auc_ap(np.array(pos), np.array(neg))


# --------------------------------------------------------------------------- Fréchet distance

def test_gaussian_moments_are_the_mean_and_the_unbiased_covariance():
    """The fitted Gaussian's covariance divides by ``n - 1`` (reference: the sum of outer products written out).
    Kills f02 (``np.cov(..., bias=True)``, dividing by ``n``)."""
    from graphvae.evaluation.frechet import gaussian_moments

    x = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, cov = gaussian_moments(x)
    centred = x - x.mean(axis=0)
    assert mu.tolist() == [2.0, 2.0]
    np.testing.assert_allclose(cov, sum(np.outer(r, r) for r in centred) / (len(x) - 1), rtol=1e-12)


def test_psd_sqrt_clips_a_negative_round_off_eigenvalue_to_zero():
    """``psd_sqrt`` clips negative eigenvalues to 0 (they are round-off of a PSD matrix), it does not reflect them:
    the root of ``diag(4, -0.25)`` is ``diag(2, 0)``. Kills f03 (``sqrt(|w|)`` gave ``diag(2, 0.5)``)."""
    from graphvae.evaluation.frechet import psd_sqrt

    rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    m = rotation @ np.diag([4.0, -0.25]) @ rotation.T
    np.testing.assert_allclose(psd_sqrt(m), rotation @ np.diag([2.0, 0.0]) @ rotation.T, atol=1e-12)


def test_frechet_distance_refuses_a_second_covariance_of_another_size():
    """Both covariances must be ``[k, k]`` for means of ``k`` entries: a ``3 x 3`` second covariance against
    2-D means is an :class:`InputError` naming the shapes. Kills f09 (the check of ``cov_y`` dropped: numpy's
    ``matmul`` ``ValueError``)."""
    from graphvae.evaluation.frechet import frechet_distance

    with pytest.raises(gv.InputError, match="shapes do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))


def test_feature_classifier_features_are_the_relu_of_the_last_hidden_layer():
    """``FeatureClassifier.features`` is the forward pass to the last hidden layer with ReLU after each hidden layer
    (reference: torch's ``relu`` of the affine maps). Kills f12 (the ReLU dropped: negative features)."""
    from graphvae.evaluation.frechet import FeatureClassifier

    rng = np.random.default_rng(3)
    w = (rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=(3, 2)))
    b = (rng.normal(size=5), rng.normal(size=3) - 2.0, rng.normal(size=2))  # some units off
    x = rng.normal(size=(6, 4))
    t = [torch.from_numpy(a) for a in (x, *w, *b)]
    expected = torch.relu(torch.relu(t[0] @ t[1] + t[4]) @ t[2] + t[5]).numpy()
    got = FeatureClassifier(w, b).features(x)
    assert (expected == 0).any() and np.allclose(got, expected, atol=1e-12)


def _small_images(classes: int = 3, n: int = 45, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 6-pixel "images" in [0, 1] and their labels, ``classes`` classes."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 6)), np.arange(n) % classes


def _sklearn_weights(x, y, seed: int) -> list[np.ndarray]:
    """The reference: scikit-learn's ``MLPClassifier`` trained directly as :func:`feature_classifier` documents."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=seed, n_iter_no_change=10,
                              early_stopping=False).fit(x.astype(np.float32), y)
    return model.coefs_


@pytest.fixture
def fresh_classifier_cache(monkeypatch):
    """An empty in-memory cache of feature classifiers for the test."""
    from collections import OrderedDict

    from graphvae.evaluation import frechet

    monkeypatch.setattr(frechet, "_MEMORY_CACHE", OrderedDict())


def test_feature_classifier_cache_tells_seeds_and_labels_apart(fresh_classifier_cache):
    """The cache is keyed by the seed and the labels as well as the images: each call returns the classifier
    scikit-learn trains for its own arguments. Kills f18 (seed left out of the key: seed 1 got seed 0's classifier)
    and f19 (labels left out: relabelled images got the old classifier)."""
    from graphvae.evaluation.frechet import feature_classifier

    x, y = _small_images()
    relabelled = (y + 1) % 3
    for labels, seed in ((y, 0), (y, 1), (relabelled, 1)):
        clf = feature_classifier(x, labels, hidden=(4,), random_state=seed, max_iter=20)
        for got, want in zip(clf.weights, _sklearn_weights(x, labels, seed)):
            np.testing.assert_allclose(got, want, rtol=1e-6)


def test_feature_classifier_reuses_a_binary_disk_cache_and_retrains_over_nan_weights(tmp_path, monkeypatch,
                                                                                    fresh_classifier_cache):
    """A two-class classifier (one logistic output) cached on disk is read back, not retrained; an entry of the right
    shapes holding NaN is damaged and retrained. Kills f20 (a binary entry expected with 2 outputs: never reused)
    and f21 (NaN weights loaded: NaN features)."""
    from collections import OrderedDict

    from sklearn.neural_network import MLPClassifier

    from graphvae.evaluation import frechet

    x, y = _small_images(classes=2)
    first = frechet.feature_classifier(x, y, hidden=(4,), max_iter=20, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("frechet-classifier-*.npz")
    assert first.weights[-1].shape == (4, 1)
    with monkeypatch.context() as m:  # a disk hit trains nothing
        m.setattr(MLPClassifier, "fit", lambda *a, **k: pytest.fail("retrained a cached classifier"))
        m.setattr(frechet, "_MEMORY_CACHE", OrderedDict())
        again = frechet.feature_classifier(x, y, hidden=(4,), max_iter=20, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.features(x), first.features(x))
    with np.load(entry) as f:
        arrays = {k: np.full_like(f[k], np.nan) for k in f.files}
    np.savez(entry, **arrays)
    monkeypatch.setattr(frechet, "_MEMORY_CACHE", OrderedDict())
    retrained = frechet.feature_classifier(x, y, hidden=(4,), max_iter=20, cache_dir=tmp_path)
    np.testing.assert_allclose(retrained.features(x), first.features(x), rtol=1e-6)


def test_feature_classifier_refuses_test_images_without_test_labels(fresh_classifier_cache):
    """``x_test`` without ``y_test`` (or the reverse) is an :class:`InputError`, not a classifier silently without
    its accuracy. Kills f25 (the check dropped)."""
    from graphvae.evaluation.frechet import feature_classifier

    x, y = _small_images()
    for extra in ({"x_test": x}, {"y_test": y}):
        with pytest.raises(gv.InputError, match="both x_test and y_test"):
            feature_classifier(x, y, hidden=(4,), max_iter=20, **extra)


# --------------------------------------------------------------------------- probe

def test_probe_refuses_a_row_index_one_past_the_end():
    """Row indices run from 0 to ``len(y) - 1``: index ``len(y)`` is an :class:`InputError` naming the range.
    Kills n11 (``max() > n``: numpy's bare ``IndexError``)."""
    z, y = np.arange(8.0)[:, None], np.array([0, 1] * 4)
    for train, test in (([0, 1, 2, 3], [4, 8]), ([0, 1, 8], [4, 5])):
        with pytest.raises(gv.InputError, match=r"integer indices in 0\.\.7"):
            node_tasks.probe_scores(z, y, train, test)


def test_probe_refuses_c_of_zero_or_infinity_and_training_nodes_of_one_class():
    """The probe's ``C`` lies in (0, inf) and its training nodes hold 2+ classes: else an :class:`InputError`.
    Kills n15 (``0 <= C``: scikit-learn's bare ``InvalidParameterError``) and n18 (one training class accepted:
    scikit-learn's ``ValueError``)."""
    z, y = np.arange(8.0)[:, None], np.array([0, 1] * 4)
    for c in (0.0, float("inf")):
        with pytest.raises(gv.InputError, match="positive finite"):
            node_tasks.probe_scores(z, y, [0, 1, 2, 3], [4, 5], C=c)
    with pytest.raises(gv.InputError, match="at least 2 classes"):
        node_tasks.probe_scores(z, y, [0, 2], [4, 5])


def test_probe_refuses_no_test_nodes_and_embeddings_of_another_length():
    """No test nodes, or ``z`` with another number of rows than ``y`` has labels, is an :class:`InputError`.
    Kills n19 (an empty test set reached scikit-learn) and n23 (the row count unchecked: 10 embeddings were probed
    with 8 labels, silently)."""
    z, y = np.arange(8.0)[:, None], np.array([0, 1] * 4)
    with pytest.raises(gv.InputError, match="some test nodes"):
        node_tasks.probe_scores(z, y, [0, 1, 2, 3], [])
    with pytest.raises(gv.InputError, match="10 embeddings for 8 labels"):
        node_tasks.probe_scores(np.arange(10.0)[:, None], y, [0, 1, 2, 3], [4, 5])


def test_probe_standardizes_only_when_asked():
    """``standardize=False`` fits scikit-learn's ``LogisticRegression(C)`` on the embeddings as they are, ``True``
    on ``StandardScaler``'s output: on a class signal in a tiny-scale column beside a large noise column, with a
    strong penalty, the two differ, each equal to its scikit-learn reference. Kills n20 (always standardized)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    z = np.column_stack([1e-3 * (y + 0.3 * rng.normal(size=80)), 10 * rng.normal(size=80)])
    train, test = np.arange(40), np.arange(40, 80)
    for standardize, steps in ((True, [StandardScaler()]), (False, [])):
        ref = make_pipeline(*steps, LogisticRegression(C=0.01, max_iter=3000)).fit(z[train], y[train])
        expected = accuracy_score(y[test], ref.predict(z[test]))
        got = node_tasks.probe_scores(z, y, train, test, C=0.01, standardize=standardize)["accuracy"]
        assert got == pytest.approx(expected, abs=1e-12)
        assert expected > 0.8 if standardize else expected < 0.6


# --------------------------------------------------------------------------- clustering

def test_whiten_gives_uncorrelated_unit_variance_axes_no_more_than_the_points_span():
    """``whiten`` returns PCA-whitened axes: their sample covariance is the identity (numpy's ``cov``), and 3 points
    span only 2 axes whatever ``components`` asks for; the axes are those of the standardized columns (numpy's SVD).
    Kills n29 (``whiten=False``: the axes keep their variances), n30 (not standardized: the large column's axis),
    n31 (a zero-variance axis kept, whitened into noise) and n28 (``components`` not capped by the number of
    points: scikit-learn's ``ValueError``)."""
    rng = np.random.default_rng(0)
    z = (rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))) * np.array([1.0, 100.0, 0.01, 3.0])
    w = node_tasks.whiten(z, 3)
    assert w.shape == (50, 3)
    np.testing.assert_allclose(np.cov(w, rowvar=False), np.eye(3), atol=1e-9)
    # reference: the standardized columns' leading right singular vectors, each axis scaled to unit variance
    zs = (z - z.mean(axis=0)) / z.std(axis=0)
    u, sv, _ = np.linalg.svd(zs, full_matrices=False)
    expected = u[:, :3] * np.sqrt(len(z) - 1)
    np.testing.assert_allclose(np.abs(w), np.abs(expected), atol=1e-8)  # each axis up to its sign
    few = node_tasks.whiten(rng.normal(size=(3, 5)), 4)
    assert few.shape == (3, 2)  # centred, 3 points span 2 directions
    np.testing.assert_allclose(np.cov(few, rowvar=False), np.eye(2), atol=1e-9)


def test_cluster_takes_as_many_clusters_as_nodes():
    """``K`` may equal the number of nodes (each distinct node its own cluster: labels a permutation). Kills n26
    (``K < nodes`` required: an :class:`InputError` for ``K = nodes``)."""
    z = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 7.0], [9.0, 9.0]])
    labels = node_tasks.cluster(z, 4, method="kmeans", n_init=2)["labels"]
    assert sorted(labels.tolist()) == [0, 1, 2, 3]


def test_kmeans_responsibilities_are_one_hot_and_too_few_distinct_points_are_refused():
    """k-means' responsibilities are the one-hot rows of its labels (hard assignments); ``K`` clusters of points that
    take only ``K - 1`` distinct values are an :class:`InputError` (a cluster would stay empty). Kills n34 (uniform
    responsibilities) and n32 (``K - 1`` distinct values accepted)."""
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(size=(10, 2)), rng.normal(size=(10, 2)) + 8.0])
    c = node_tasks.cluster(z, 2, method="kmeans", n_init=2)
    np.testing.assert_array_equal(c["responsibilities"], np.eye(2)[c["labels"]])
    three = np.repeat([[0.0, 0.0], [5.0, 0.0], [0.0, 7.0]], 2, axis=0)
    with pytest.raises(gv.InputError, match="only 3 distinct values"):
        node_tasks.cluster(three, 4, method="kmeans")


# --------------------------------------------------------------------------- classify and cluster: what they write

def _karate_files(tmp_path, unlabelled: tuple[int, ...] = ()) -> dict[str, str]:
    """The karate club as ``e.csv`` (string ids ``n0``..``n33``) and its clubs as ``y.csv`` (without the nodes
    ``unlabelled``); returns each labelled id's club."""
    import networkx as nx

    g = nx.karate_club_graph()
    (tmp_path / "e.csv").write_text("".join(f"n{u},n{v}\n" for u, v in g.edges))
    clubs = {f"n{v}": g.nodes[v]["club"] for v in g if v not in unlabelled}
    (tmp_path / "y.csv").write_text("id,label\n" + "".join(f"{v},{c}\n" for v, c in clubs.items()))
    return clubs


def _stub_embedding(node_id: str, seed: int, club: str | None) -> np.ndarray:
    """A fixed 3-D embedding per (node, seed): a noisy club signal, so that the probe makes seed-dependent errors."""
    rng = np.random.default_rng([seed, int(node_id[1:])])
    return rng.normal(size=3) + (0.8 if club == "Mr. Hi" else -0.8) * np.array([1.0, 0.0, 0.0])


@pytest.fixture
def stub_embeddings(monkeypatch):
    """``classify``/``cluster`` embed with :func:`_stub_embedding` instead of training (labels from nx's clubs)."""
    import types

    import networkx as nx

    import graphvae.cli.classify as classify_cli
    import graphvae.cli.cluster as cluster_cli

    g = nx.karate_club_graph()
    club = {f"n{v}": g.nodes[v]["club"] for v in g}

    def fake(graph, name, seed, *args, **kwargs):
        z = np.stack([_stub_embedding(v, seed, club[v]) for v in graph.node_ids])
        return z, types.SimpleNamespace(train_seconds_=0.0)

    monkeypatch.setattr(classify_cli, "task_embeddings", fake)
    monkeypatch.setattr(cluster_cli, "task_embeddings", fake)
    return club


def test_classify_json_is_the_folds_mean_per_seed_and_mean_std_over_seeds(tmp_path, monkeypatch, stub_embeddings):
    """``classify --folds 3 --seeds 3`` on fixed embeddings, two nodes unlabelled: each seed's accuracy and macro-F1
    are the means over scikit-learn's ``StratifiedKFold(3, shuffle, random_state=seed)`` folds of a standardized
    ``LogisticRegression(C)`` on the labelled nodes' rows, written as computed here; the summaries are numpy's mean
    and population std over seeds. Kills c01 (macro_f1 summary = accuracy's), c02 (first fold only), c07 (seed 0's
    folds for every seed), c08 (the first rows taken as the labelled nodes'), c09 (summary of one seed), c04
    (``labelled_nodes`` counting every node), c10 (``probe_C`` the model's, not the given ``--C``) and c12
    (``folds`` written as null)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from graphvae.cli import main

    monkeypatch.chdir(tmp_path)
    clubs = _karate_files(tmp_path, unlabelled=(0, 5))
    assert main(["classify", "--edges", "e.csv", "--labels", "y.csv", "--model", "gae", "--folds", "3", "--seeds",
                 "3", "--C", "0.5", "--no-progress", "--workers", "1", "--json", "r.json"]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    from graphvae.data.graph import load_graph

    ids = [v for v in load_graph("e.csv").node_ids if v in clubs]  # the folds are drawn in the graph's node order
    names, y = np.unique([clubs[v] for v in ids], return_inverse=True)
    assert r["classes"] == names.tolist() and r["labelled_nodes"] == 32
    expected = []
    for seed in range(3):
        z = np.stack([_stub_embedding(v, seed, clubs[v]) for v in ids])
        folds = []
        for tr, te in StratifiedKFold(3, shuffle=True, random_state=seed).split(z, y):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000)).fit(z[tr], y[tr])
            pred = model.predict(z[te])
            folds.append((accuracy_score(y[te], pred), f1_score(y[te], pred, average="macro")))
        expected.append(np.mean(folds, axis=0))
    expected = np.array(expected)
    assert not np.allclose(expected[:, 0], expected[:, 1])  # the two metrics differ here
    got = np.array([[s["accuracy"], s["macro_f1"]] for s in sorted(r["seeds"], key=lambda s: s["seed"])])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    for j, key in enumerate(("accuracy", "macro_f1")):
        assert r[key] == pytest.approx({"mean": expected[:, j].mean(), "std": expected[:, j].std()}, rel=1e-12)
    assert r["config"]["probe_C"] == 0.5 and r["config"]["folds"] == 3 and r["config"]["test_size"] is None
    assert r["protocol"] == "3-fold"


def test_classify_public_split_scores_val_and_test_nodes_apart(tmp_path, monkeypatch):
    """``classify --dataset cora`` (the public split) on fixed embeddings: the test and validation accuracies are those
    of scikit-learn's standardized ``LogisticRegression(C)`` fitted on the 140 training nodes and scored on Cora's
    1000 test and 500 validation nodes (the masks read from the dataset), and the protocol names the split's sizes.
    Kills c03 (``val_accuracy`` scored on the test nodes) and c11 (the sizes left out of the protocol)."""
    import types

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import graphvae.cli.classify as classify_cli
    from conftest import registered_dataset
    from graphvae.cli import main

    cora = registered_dataset("cora")
    y = cora.y.numpy()

    def embedding(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return np.eye(7)[y] + rng.normal(scale=0.9, size=(len(y), 7))

    monkeypatch.setattr(classify_cli, "task_embeddings",
                        lambda graph, *a, **k: (embedding(0), types.SimpleNamespace(train_seconds_=0.0)))
    out = tmp_path / "r.json"
    assert main(["classify", "--dataset", "cora", "--model", "gae", "--C", "0.5", "--no-progress", "--json",
                 str(out)]) == 0
    r = json.loads(out.read_text())
    train, val, test = (np.flatnonzero(getattr(cora, m).numpy()) for m in ("train_mask", "val_mask", "test_mask"))
    z = embedding(0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000)).fit(z[train], y[train])
    (seed,) = r["seeds"]
    assert seed["accuracy"] == pytest.approx(accuracy_score(y[test], model.predict(z[test])), abs=1e-12)
    assert seed["macro_f1"] == pytest.approx(f1_score(y[test], model.predict(z[test]), average="macro"), abs=1e-12)
    assert seed["val_accuracy"] == pytest.approx(accuracy_score(y[val], model.predict(z[val])), abs=1e-12)
    assert seed["val_accuracy"] != seed["accuracy"]
    assert r["protocol"] == f"public split ({len(train)}/{len(val)}/{len(test)})" == "public split (140/500/1000)"


def test_cluster_json_sizes_count_an_empty_cluster_as_zero(tmp_path, monkeypatch, stub_embeddings):
    """Each seed's ``sizes`` has one count per cluster, 0 for a cluster no node fell into (reference: the counts of
    the labels the clustering returned, written out); each seed clusters with its seed and ``--restarts``. Kills d02
    (``bincount`` without ``minlength``: an empty last cluster dropped from ``sizes``), d06 (every seed clustered
    with random_state 0), d07 (``restarts`` written as 10) and d10 (``--restarts`` not passed on)."""
    from graphvae.cli import main

    calls = []

    def two_of_three(z, k, method, covariance, random_state, n_init, progress=False):
        calls.append((random_state, n_init))
        labels = (z[:, 0] > 0).astype(np.int64)  # components 0 and 1 only: the third stays empty
        return {"labels": labels, "responsibilities": np.eye(k)[labels], "points": z, "model": None}

    monkeypatch.setattr(node_tasks, "cluster", two_of_three)
    monkeypatch.chdir(tmp_path)
    clubs = _karate_files(tmp_path)
    assert main(["cluster", "--edges", "e.csv", "--labels", "y.csv", "--model", "gae", "--clusters", "3",
                 "--method", "kmeans", "--restarts", "3", "--seeds", "2", "--no-progress", "--workers", "1", "--json",
                 "r.json"]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert sorted(calls) == [(0, 3), (1, 3)]  # each seed clusters with its own seed and the given restarts
    for seed in r["seeds"]:
        z = np.stack([_stub_embedding(v, seed["seed"], clubs[v]) for v in stub_embeddings])
        positive = int((z[:, 0] > 0).sum())
        assert seed["sizes"] == [34 - positive, positive, 0]
    assert r["clusters"] == 3 and r["restarts"] == 3


@pytest.mark.parametrize("covariance_type, shape", [("tied", (2, 2)), ("diag", (3, 2)), ("spherical", (3,))])
def test_cluster_fits_the_mixture_with_the_covariance_type_asked_for(covariance_type, shape):
    """``cluster(..., covariance_type)`` fits scikit-learn's mixture with that type: its ``covariances_`` have the
    shape scikit-learn documents for it (K=3 components on 2 whitened axes), with the restarts asked for. Kills n35
    (always ``"full"``), n36 (the mixture run once) and n44 (k-means run once)."""
    rng = np.random.default_rng(2)
    z = np.concatenate([rng.normal(size=(15, 2)) + m for m in ([0, 0], [9, 0], [0, 9])])
    model = node_tasks.cluster(z, 3, covariance_type=covariance_type, n_init=2)["model"]
    assert model.covariance_type == covariance_type and model.covariances_.shape == shape
    assert model.n_init == 2  # the restarts asked for
    assert node_tasks.cluster(z, 3, method="kmeans", n_init=2)["model"].n_init == 2


# --------------------------------------------------------------------------- figures: the data they draw

@pytest.fixture
def captured(monkeypatch):
    """The matplotlib figures the plot functions build, instead of writing them."""
    from graphvae.evaluation import plots

    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    return figures


def test_a_1d_latent_map_puts_every_point_on_the_horizontal_axis():
    """A 1-D latent is drawn as ``(z1, 0)``: there is no second coordinate. Kills p06 (``(z1, z1)``)."""
    from graphvae.evaluation.plots import project_2d

    points, how = project_2d(np.array([[1.5], [-2.0], [0.25]]))
    np.testing.assert_array_equal(points, [[1.5, 0.0], [-2.0, 0.0], [0.25, 0.0]])
    assert how == "1-D latent"


def test_training_curves_plot_epoch_plus_one_against_the_value_divided_by_per(captured, tmp_path):
    """Each panel draws the 1-based epochs against ``history[key] / per`` (written out here). Kills p15 (0-based
    epochs) and p16 (multiplied by ``per``)."""
    from graphvae.evaluation.plots import plot_training_curves

    history = [{"epoch": e, "elbo": -100.0 + 10 * e, "log_likelihood": -90.0 + 9 * e, "kl": 10.0 - e} for e in range(4)]
    plot_training_curves(history, tmp_path / "c.png", per=4.0)
    (fig,) = captured
    lines = [ax.get_lines()[0] for ax in fig.axes]
    for line, key in zip(lines, ("elbo", "log_likelihood", "kl")):
        assert list(line.get_xdata()) == [1, 2, 3, 4]
        assert list(line.get_ydata()) == [h[key] / 4.0 for h in history]


def test_full_covariances_of_a_diagonal_or_spherical_mixture_invert_to_its_precisions():
    """``[k, d, d]`` covariances of a scikit-learn mixture fitted with ``diag`` or ``spherical`` covariances: the
    inverse of each is the diagonal of the model's own ``precisions_`` (reference). Kills p21 and p22 (square roots
    of the variances taken as variances)."""
    from sklearn.mixture import GaussianMixture

    from graphvae.evaluation.plots import _full_covariances

    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(size=(30, 2)) * [0.3, 3.0], rng.normal(size=(30, 2)) * [2.0, 0.5] + 10])
    for kind in ("diag", "spherical"):
        gm = GaussianMixture(2, covariance_type=kind, random_state=0).fit(x)
        full = _full_covariances(gm.covariances_, kind, 2, 2)
        precisions = np.broadcast_to(np.asarray(gm.precisions_).reshape(2, -1), (2, 2))
        for c, p in zip(full, precisions):
            np.testing.assert_allclose(np.linalg.inv(c), np.diag(p), rtol=1e-9)


def test_cluster_axes_without_a_mixture_weigh_the_cluster_means_by_their_sizes():
    """Without a mixture the cluster means are weighted by the clusters' sizes: the map's centre is the mean of all
    points (numpy), not the mean of the cluster means. Kills p23 (equal weights for a 2-point and an 8-point
    cluster)."""
    from graphvae.evaluation.plots import cluster_axes

    rng = np.random.default_rng(5)
    points = np.concatenate([rng.normal(size=(2, 3)) + 10.0, rng.normal(size=(8, 3)), rng.normal(size=(5, 3)) - 4.0])
    clusters = np.repeat([0, 1, 2], [2, 8, 5])
    centre, proj = cluster_axes(points, clusters)
    np.testing.assert_allclose(centre, points.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(proj @ proj.T, np.eye(2), atol=1e-12)
