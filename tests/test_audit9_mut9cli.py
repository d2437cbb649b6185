"""Mutation audit of the command line (graphvae/cli): each test pins what a hand-made mutant of the CLI changed without
any existing test noticing (named in its docstring), against an independent reference: the option's documented
bounds, numpy of the per-seed values, a count made by hand from the input file, or the Python API."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import one_error, ring
from graphvae.cli import main
from graphvae.cli.main import build_parser

#: a tiny, fast graph model for the training commands
FAST = ["--model", "gae", "--epochs", "1", "--latent", "2", "--hidden", "4", "--no-progress"]


@pytest.fixture
def chords(tmp_path: Path, monkeypatch) -> str:
    """A 30-node ring with chords i-(i+7) (60 edges: enough to split) as ``e.csv`` in a fresh working folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text(ring(30, chord=7))
    return "e.csv"


@pytest.fixture
def torch_threads():
    """Restores torch's thread count, which the commands set for their process."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def refused(capsys, argv: list[str], fragment: str) -> None:
    """``argv`` is refused by argparse: exit status 2 and one ``error:`` line holding ``fragment``."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    one_error(capsys, fragment, only=True)


# --------------------------------------------------------------------------- option bounds

@pytest.mark.parametrize("argv, fragment", [
    (["linkpred", "--epochs", "0"], "--epochs: must be a positive integer, got 0"),  # C1: value < 0
    (["linkpred", "--seeds", "0"], "--seeds: must be a positive integer, got 0"),
    (["linkpred", "--lr", "0"], "--lr: must be a positive finite number, got 0"),  # C4: 0 <= value
    (["vae", "--hidden", "8,0"], "--hidden: must be comma-separated positive integers"),  # C7: min < 0
])
def test_zero_is_refused_where_an_option_must_be_positive(capsys, argv, fragment):
    """Pins the lower bounds: 0 epochs/seeds, a learning rate of 0 and a layer of width 0 are refused with exit 2.
    Kills C1 (positive_int accepted 0), C4 (positive_float accepted 0), C7 (widths accepted 0)."""
    refused(capsys, argv, fragment)


# --------------------------------------------------------------------------- graph arguments and outputs

def test_features_with_a_registered_dataset_is_one_error(chords, capsys):
    """Pins ``--features`` with ``--dataset``: refused (exit 2, one line) before anything is read, even when the file
    exists. Kills C9 (the refusal dropped: cora trained with the file ignored, or failed on it)."""
    np.save("f.npy", np.ones((30, 2)))
    assert main(["linkpred", "--dataset", "cora", "--features", "f.npy", *FAST]) == 2
    one_error(capsys, "--features goes with --edges, not with a registered --dataset", only=True)


def test_json_written_as_a_figure_inside_the_plot_folder_is_refused(chords, capsys):
    """Pins ``--json DIR/link_curves.png`` beside ``--plot DIR``: the figure would replace the results (or they it);
    refused before training. Kills C14 (the ``.png`` test of a path inside the figures folder changed)."""
    assert main(["linkpred", "--edges", chords, "--plot", "figs", "--json", "figs/link_curves.png", *FAST]) == 2
    one_error(capsys, "is the figures folder --plot figs or a figure in it", only=True)
    assert not Path("figs/link_curves.png").exists()


def test_the_graph_summary_counts_what_was_dropped(chords, capsys):
    """Pins the graph summary line against counts made by hand from the file: the ring with chords (60 edges) plus
    two self-loops, one edge listed again (n0,n1) and one listed the other way round (n4,n3).
    Kills C15 (the self-loop count read from the duplicates)."""
    Path(chords).write_text(ring(30, chord=7) + "n0,n0\nn3,n3\nn4,n3\nn0,n1\n")
    assert main(["embed", "--edges", chords, "--out", "z.npy", *FAST]) == 0
    err = capsys.readouterr().err
    assert "graph: 30 nodes, 60 undirected edges (dropped 2 self-loops and 1 duplicate edge;" in err, err


def test_negatives_reach_the_model(chords):
    """Pins ``--negatives``: the trained model's ``negatives_per_positive`` (the JSON config) is the value given,
    not the model's default 1. Kills C16 (the option dropped from the model's settings)."""
    assert main(["linkpred", "--edges", chords, "--negatives", "3", "--workers", "1", "--json", "o.json", *FAST]) == 0
    assert json.loads(Path("o.json").read_text())["config"]["negatives_per_positive"] == 3.0


def test_a_default_latent_equal_to_the_node_count_is_not_narrowed(tmp_path, monkeypatch, capsys):
    """Pins :func:`narrow_default_latent` at its boundary: vgae's 16 dimensions on a 16-node graph fit (latent <= N)
    and are kept, with no note. Kills C19 (``latent >= n`` narrowed, and said so, when nothing exceeded)."""
    monkeypatch.chdir(tmp_path)
    Path("e.csv").write_text(ring(16, chord=5))
    assert main(["linkpred", "--edges", "e.csv", "--model", "vgae", "--epochs", "1", "--hidden", "4", "--no-progress",
                 "--workers", "1", "--json", "o.json"]) == 0
    assert "exceeds" not in capsys.readouterr().err
    assert json.loads(Path("o.json").read_text())["config"]["latent"] == 16


# --------------------------------------------------------------------------- threads and workers

def test_machine_busy_reads_the_cores_in_use(monkeypatch):
    """Pins :func:`machine_busy` against its documented threshold: busy from half a core of other work.
    Kills C29 (the comparison inverted)."""
    from graphvae.cli import _common

    for used, busy in ((0.0, False), (0.49, False), (0.5, True), (1.7, True)):
        monkeypatch.setattr(_common, "cores_in_use", lambda used=used: used)
        assert _common.machine_busy() is busy


@pytest.mark.parametrize("busy, device, want", [(False, "cpu", 2), (True, "cpu", 1), (False, "cuda:0", 1)])
def test_default_workers_one_per_core_on_an_idle_machine_and_one_for_a_device(monkeypatch, torch_threads, busy,
                                                                              device, want):
    """Pins :func:`prepare_workers`' default for 4 seeds of a small graph on 2 cores: 2 workers when idle, 1 when the
    machine is busy or the device is CUDA (one process drives it). Kills C27 (a CUDA device shared out over forked
    CPU workers) and C36 (``not machine_busy()`` inverted)."""
    from graphvae.cli import _common, _workers

    monkeypatch.setattr(_common, "machine_busy", lambda: busy)
    monkeypatch.setattr(_workers, "available_cores", lambda: 2)
    monkeypatch.setattr(_workers, "can_fork", lambda: True)
    assert _common.prepare_workers(None, None, 4, 100, device)[0] == want


# --------------------------------------------------------------------------- linkpred: seeds, JSON, curves

def test_linkpred_seeds_json_and_curves_against_the_python_api(chords, monkeypatch, capsys):
    """``linkpred --first-seed 5 --seeds 3 --sequential --plot``, checked against independent references:
    seeds 5, 6, 7; seed 6's AUC/AP are those of the Python API's own fit of that seed (the same split and model);
    ``auc``/``ap`` are numpy's mean and population std of the per-seed values; ``train_seconds`` their sum; the
    printed seed lines carry the JSON's numbers; the ROC curve drawn is of the first seed (5), with the test edges
    labelled 1 (scikit-learn's AUC of the plotted labels and scores is seed 5's AUC); ``dataset`` names the file and
    ``config`` keeps ``--epochs``. Kills L7 (curves only for seed 0), L9 and L22 (training time not summed),
    L10 (auc/ap swapped), L11 (mean of the first seed only), L15 (the curves' labels swapped), L16 (dataset: null
    for --edges), L18 (epochs missing from config), L21 (the printed line swapping AUC and AP)."""
    from sklearn.metrics import roc_auc_score

    import graphvae as gv
    import graphvae.evaluation.plots as plots

    drawn = []

    def capture(labels, scores, path, title):
        drawn.append((np.asarray(labels), np.asarray(scores), title))
        return Path(path)

    monkeypatch.setattr(plots, "plot_link_curves", capture)
    assert main(["linkpred", "--edges", chords, "--first-seed", "5", "--seeds", "3", "--sequential", "--workers", "1",
                 "--plot", "figs", "--json", "o.json", *FAST]) == 0
    out = capsys.readouterr().out
    result = json.loads(Path("o.json").read_text())
    rows = result["seeds"]
    assert [r["seed"] for r in rows] == [5, 6, 7]
    assert result["dataset"] == chords and result["config"]["epochs"] == 1
    for key in ("auc", "ap"):
        values = np.array([r[key] for r in rows])
        assert result[key] == pytest.approx({"mean": values.mean(), "std": values.std()}, abs=1e-12)
    assert result["train_seconds"] == pytest.approx(sum(r["train_seconds"] for r in rows))
    for r in rows:
        assert f"seed {r['seed']}: test AUC {r['auc']:.4f}  AP {r['ap']:.4f}" in out.splitlines()
    graph = gv.load_graph(chords)
    split = gv.split_edges(graph, seed=6)
    model = gv.make_model("gae", epochs=1, latent=2, hidden=4, random_state=6, progress=False).fit(split)
    assert model.score(split.test_pos, split.test_neg) == pytest.approx({"auc": rows[1]["auc"], "ap": rows[1]["ap"]})
    assert len(drawn) == 1 and "(seed 5)" in drawn[0][2]
    labels, scores, _ = drawn[0]
    assert labels.sum() == split.test_pos.shape[1] and roc_auc_score(labels, scores) == pytest.approx(rows[0]["auc"])


def test_the_largest_seed_is_accepted_and_one_beyond_it_refused(chords, capsys):
    """Pins the last-seed check ``first + seeds - 1 <= 2**63 - 1``: seed 2**63 - 1 alone trains (and is recorded as
    given); two seeds from it are refused with one line. Kills L2 (``first + seeds > MAX_SEED`` refused the
    largest seed)."""
    top = 2**63 - 1
    assert main(["linkpred", "--edges", chords, "--first-seed", str(top), "--workers", "1", "--json", "o.json",
                 *FAST]) == 0
    assert [r["seed"] for r in json.loads(Path("o.json").read_text())["seeds"]] == [top]
    capsys.readouterr()
    assert main(["linkpred", "--edges", chords, "--first-seed", str(top), "--seeds", "2", *FAST]) == 2
    one_error(capsys, "exceeds 2**63 - 1", only=True)


# --------------------------------------------------------------------------- classify and cluster against the API

EMBED = ["--model", "gae", "--epochs", "2", "--latent", "2", "--hidden", "4", "--no-progress", "--workers", "1"]


@pytest.fixture
def karate(tmp_path: Path, monkeypatch) -> np.ndarray:
    """The karate club as ``k.csv`` (ids ``n0``..``n33``) in a fresh working folder, with ``y.csv`` labelling the
    first 30 nodes by club (the last 4 unlabelled); returns the clubs of all 34 nodes (0/1) in node order."""
    import networkx as nx

    monkeypatch.chdir(tmp_path)
    g = nx.karate_club_graph()
    Path("k.csv").write_text("".join(f"n{u},n{v}\n" for u, v in g.edges()))
    clubs = np.array([int(g.nodes[i]["club"] != "Mr. Hi") for i in range(34)])
    Path("y.csv").write_text("".join(f"n{i},{'ab'[clubs[i]]}\n" for i in range(30)))
    return clubs


def _embeddings(seed: int) -> tuple[np.ndarray, list]:
    """The CLI's embedding model (gae, 2 epochs, 2-D, hidden 4) of k.csv through the Python API: ``(z, node ids)``,
    rows in the graph's node order (first appearance in the file)."""
    import graphvae as gv
    from graphvae.estimators.node_embeddings import fit_embeddings

    graph = gv.load_graph("k.csv")
    z, _ = fit_embeddings(graph, "gae", seed, False, None, "cpu", epochs=2, latent=2, hidden=4)
    return z, list(graph.node_ids)


def _probe(z: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, c: float, seed: int) -> tuple[float, float]:
    """scikit-learn's standardized logistic regression: test accuracy and macro-F1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000, random_state=seed)).fit(
        z[tr], y[tr]).predict(z[te])
    return accuracy_score(y[te], pred), f1_score(y[te], pred, average="macro")


def test_classify_split_and_folds_match_scikit_learn(karate):
    """``classify --labels`` (30 of 34 nodes labelled) with ``--test-size 0.4 --C 0.5`` over seeds 0 and 1, then
    ``--folds 3``: each seed's accuracy and macro-F1 are scikit-learn's (its stratified split or k-fold of that
    seed, a standardized logistic regression with C 0.5) on the API's embeddings of that seed, averaged over folds;
    the summaries are numpy's mean/std; the JSON records 30 labelled nodes, C, the protocol and the test fraction
    (none with folds). Kills K5 (every seed split as seed 0), K6 (the first fold only), K8 (the protocol's
    fractions swapped), K9 (accuracy/macro-F1 swapped), K10 (the mean without seed 0), K11 (test_size recorded
    beside --folds), K12 (labelled_nodes counted all nodes), K13 (--C ignored), K14 (standardization flipped),
    K17 (seeds 1..N)."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    for extra, protocol in ((["--test-size", "0.4"], "stratified 60%/40% split"), (["--folds", "3"], "3-fold")):
        assert main(["classify", "--edges", "k.csv", "--labels", "y.csv", "--seeds", "2", "--C", "0.5",
                     "--json", "o.json", *extra, *EMBED]) == 0
        result = json.loads(Path("o.json").read_text())
        assert result["labelled_nodes"] == 30 and result["protocol"] == protocol
        assert result["config"]["probe_C"] == 0.5 and result["config"]["probe_standardize"] is True
        assert result["config"]["test_size"] == (0.4 if "--test-size" in extra else None)
        assert [r["seed"] for r in result["seeds"]] == [0, 1]
        for r in result["seeds"]:
            seed, (z, ids) = r["seed"], _embeddings(r["seed"])
            rows = [i for i, node in enumerate(ids) if int(node[1:]) < 30]  # the labelled nodes, in node order
            z, y = z[rows], karate[[int(ids[i][1:]) for i in rows]]
            if "--folds" in extra:
                splits = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(30), y))
            else:
                splits = [train_test_split(np.arange(30), test_size=0.4, stratify=y, random_state=seed)]
            want = np.mean([_probe(z, y, tr, te, 0.5, seed) for tr, te in splits], axis=0)
            assert (r["accuracy"], r["macro_f1"]) == pytest.approx(tuple(want), abs=1e-9)
        for key in ("accuracy", "macro_f1"):
            values = np.array([r[key] for r in result["seeds"]])
            assert result[key] == pytest.approx({"mean": values.mean(), "std": values.std()}, abs=1e-12)


def _brute_force_acc(y: np.ndarray, pred: np.ndarray) -> float:
    """Clustering accuracy: the best of every one-to-one map of clusters to classes (brute force)."""
    from itertools import permutations

    k = max(y.max(), pred.max()) + 1
    return max(float(np.mean(np.array(p)[pred] == y)) for p in permutations(range(k)))


def test_cluster_scores_and_out_file_match_the_api_and_brute_force(karate):
    """``cluster --labels`` (every node) with the default K (2 classes), covariance (tied) and ``--restarts 3`` over
    seeds 0 and 1: each seed's clustering is the API's ``cluster`` of the API's embeddings with that seed; ACC is the
    brute-force best matching, NMI/ARI scikit-learn's, the summaries numpy's mean/std; ``--out`` holds seed 0's
    clusters and responsibilities (6 significant digits) by node id in node order. Kills U5 (default covariance
    full), U11 (ids sorted), U12 (responsibilities to 2 digits), U16 (columns r1..rK), U17 (--out from the last
    seed), U18 (seeds 1..N)."""
    import csv

    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from graphvae.evaluation.node_tasks import cluster

    Path("all.csv").write_text("".join(f"n{i},{karate[i]}\n" for i in range(34)))
    assert main(["cluster", "--edges", "k.csv", "--labels", "all.csv", "--seeds", "2", "--restarts", "3",
                 "--out", "c.csv", "--json", "o.json", *EMBED]) == 0
    result = json.loads(Path("o.json").read_text())
    assert (result["clusters"], result["covariance"], result["restarts"]) == (2, "tied", 3)
    assert [r["seed"] for r in result["seeds"]] == [0, 1]
    first = None
    for r in result["seeds"]:
        z, ids = _embeddings(r["seed"])
        y = karate[[int(node[1:]) for node in ids]]
        c = cluster(z, 2, "gmm", "tied", random_state=r["seed"], n_init=3)
        first = first or (c, ids)
        assert r["acc"] == pytest.approx(_brute_force_acc(y, c["labels"]), abs=1e-12)
        assert r["nmi"] == pytest.approx(normalized_mutual_info_score(y, c["labels"]), abs=1e-12)
        assert r["ari"] == pytest.approx(adjusted_rand_score(y, c["labels"]), abs=1e-12)
        assert r["sizes"] == np.bincount(c["labels"], minlength=2).tolist()
    for key in ("acc", "nmi", "ari"):
        values = np.array([r[key] for r in result["seeds"]])
        assert result[key] == pytest.approx({"mean": values.mean(), "std": values.std()}, abs=1e-12)
    with open("c.csv", newline="") as f:
        rows = list(csv.reader(f))
    (c, ids) = first
    assert rows[0] == ["node_id", "cluster", "r0", "r1"]
    assert [row[0] for row in rows[1:]] == ids
    assert [int(row[1]) for row in rows[1:]] == c["labels"].tolist()
    np.testing.assert_allclose(np.array([row[2:] for row in rows[1:]], dtype=float), c["responsibilities"],
                               rtol=1e-5, atol=1e-12)


def test_cluster_kmeans_seeds_use_their_seed_the_given_count_and_restarts(karate):
    """``cluster --clusters 4 --method kmeans --restarts 2`` over seeds 0 and 1 with labels of 2 classes: K is the
    given 4 (not the class count), each seed's cluster sizes and ACC are those of the API's k-means with 2 restarts
    and that seed (on these embeddings 1 restart or seed 0's initialization give other sizes), the JSON records no
    covariance (k-means has none) and 2 restarts. Kills U6 (--clusters ignored beside labels), U7 (every seed
    clustered with random_state 0), U8 (one restart whatever --restarts says), U14 (a covariance recorded for
    k-means), U15 (restarts recorded as 10)."""
    from graphvae.evaluation.node_tasks import cluster

    Path("all.csv").write_text("".join(f"n{i},{karate[i]}\n" for i in range(34)))
    assert main(["cluster", "--edges", "k.csv", "--labels", "all.csv", "--clusters", "4", "--method", "kmeans",
                 "--restarts", "2", "--seeds", "2", "--json", "o.json", *EMBED]) == 0
    result = json.loads(Path("o.json").read_text())
    assert (result["clusters"], result["covariance"], result["restarts"]) == (4, None, 2)
    for r in result["seeds"]:
        z, ids = _embeddings(r["seed"])
        labels = cluster(z, 4, "kmeans", random_state=r["seed"], n_init=2)["labels"]
        assert r["sizes"] == np.bincount(labels, minlength=4).tolist()
        assert r["acc"] == pytest.approx(_brute_force_acc(karate[[int(node[1:]) for node in ids]], labels))


def test_cluster_out_is_replaced_atomically(karate, monkeypatch, capsys):
    """Pins ``--out`` written through a temporary file: a write that fails half-way (disk full) is one error line,
    exit 2, and leaves the previous clusters file as it was. Kills U13 (``--out`` opened and truncated in place)
    and M3 (an OSError no longer caught by main: a traceback)."""
    import graphvae.files as files

    Path("c.csv").write_text("previous\n")

    def full(f, header, rows):
        f.write("node_id")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_csv_rows", full)
    assert main(["cluster", "--edges", "k.csv", "--clusters", "2", "--restarts", "1", "--out", "c.csv",
                 *EMBED]) == 2
    one_error(capsys, "No space left on device")
    assert Path("c.csv").read_text() == "previous\n"


# --------------------------------------------------------------------------- embed

@pytest.mark.parametrize("argv, fragment", [
    (["--out", "z.txt"], "--out must end in .npy, .csv, .emb, .npz; got z.txt"),  # E1
    (["--out", "z.npy", "--labels", "e.csv"], "--labels colours the --plot map: give --plot DIR too"),  # E2
])
def test_embed_refuses_an_unknown_format_and_labels_without_a_map(chords, capsys, argv, fragment):
    """Pins embed's output checks: a suffix outside .npy/.csv/.emb/.npz and ``--labels`` without ``--plot`` are one
    error line, exit 2, nothing written. Kills E1 (.txt accepted) and E2 (--labels silently unused)."""
    assert main(["embed", "--edges", chords, *argv, *FAST]) == 2
    one_error(capsys, fragment, only=True)
    assert not Path("z.txt").exists() and not Path("z.npy").exists()


def test_embed_writes_the_api_embeddings_of_its_seed_by_node_id(chords, monkeypatch, torch_threads):
    """``embed --seed 3 --out z.csv --plot figs --threads 2``: the rows are the Python API's fit of the same model with
    random_state 3 on the whole graph, keyed by the graph's node ids in node order; the map is drawn with the
    default projection (t-SNE) seeded by ``--seed``; torch trains on the 2 threads asked for. Kills E4 (default
    projection pca), E5 (--seed ignored), E6 (ids sorted), E7 (--threads ignored), E8 (the map seeded with 0)."""
    import csv

    import graphvae as gv
    import graphvae.evaluation.plots as plots

    drawn = []

    def capture(z, labels, path, title, method="tsne", random_state=0, **kwargs):
        drawn.append((method, random_state))
        return Path(path)

    monkeypatch.setattr(plots, "plot_latent_map", capture)
    argv = ["--model", "gae", "--epochs", "3", "--latent", "3", "--hidden", "4", "--no-progress"]
    assert main(["embed", "--edges", chords, "--seed", "3", "--out", "z.csv", "--plot", "figs", "--threads", "2",
                 *argv]) == 0
    assert torch.get_num_threads() == 2 and drawn == [("tsne", 3)]
    graph = gv.load_graph(chords)
    z = gv.make_model("gae", epochs=3, latent=3, hidden=4, random_state=3, progress=False,
                      early_stopping=False).fit(graph).embed()
    with open("z.csv", newline="") as f:
        rows = list(csv.reader(f))
    rows = rows[1:] if rows[0][0] == "node_id" else rows
    assert [r[0] for r in rows] == list(graph.node_ids)
    np.testing.assert_allclose(np.array([r[1:] for r in rows], dtype=float), z, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- main: exit statuses and one-line messages

def _failing_linkpred(monkeypatch, error: BaseException | None = None, warn: str | None = None) -> None:
    """``linkpred``'s ``run`` replaced by one that warns ``warn`` and raises ``error``."""
    import warnings

    import graphvae.cli.linkpred as linkpred

    def run(args):
        if warn:
            warnings.warn(warn)
        if error is not None:
            raise error
        return 0

    monkeypatch.setattr(linkpred, "run", run)


def test_a_multi_line_error_and_warning_are_one_line_each_on_stderr(monkeypatch, capsys):
    """Pins main's one-line reports: a two-line InputError is its first line (exit 2), a two-line warning is one
    ``warning:`` line on stderr, nothing on stdout. Kills M8 (the whole message), M9 (the whole warning) and M15
    (the warning on stdout)."""
    import graphvae as gv

    _failing_linkpred(monkeypatch, gv.InputError("first line\nsecond line"), warn="careful\nmore detail")
    assert main(["linkpred"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["graphvae linkpred: warning: careful", "graphvae linkpred: error: first line"]


@pytest.mark.parametrize("error, code, line", [
    (KeyboardInterrupt(), 130, "graphvae: interrupted"),  # M10
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 3221225472 bytes. Error code 12"),
     2, "graphvae linkpred: error: out of memory (3.0 GiB requested): choose a smaller model"),  # M12
    (RuntimeError("HIP Out Of Memory"), 2, "graphvae linkpred: error: out of memory (RuntimeError)"),  # M11
])
def test_interrupt_and_out_of_memory_exit_statuses(monkeypatch, capsys, error, code, line):
    """Pins main's exit statuses and lines: Ctrl-C is 130 with ``graphvae: interrupted``; an allocation failure is
    exit 2 naming the size in GiB (3 * 2**30 bytes = 3.0 GiB) or, in any letter case, the error's type.
    Kills M10 (Ctrl-C exit 1), M11 (only lower-case "out of memory") and M12 (MiB counted as GiB)."""
    _failing_linkpred(monkeypatch, error)
    assert main(["linkpred"]) == code
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(line), err


def test_a_command_of_one_process_refuses_several_torchrun_ranks(monkeypatch, capsys):
    """Pins :func:`check_torchrun` for a command that does not train across ranks: ``WORLD_SIZE=2`` (any count but
    1) is one error line, exit 2, before the graph is read. Kills M14 (only more than 2 ranks refused)."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["cluster", "--edges", "missing.csv", "--clusters", "2"]) == 2
    one_error(capsys, "cluster does not run under torchrun", only=True)


def test_seed_lines_go_to_stdout_above_the_workers_bar(capsys):
    """Pins :class:`SeedLines` with workers and a progress bar: each seed's line on stdout (the bar on stderr).
    Kills W3 (the lines written to stderr)."""
    from graphvae.cli._workers import SeedLines

    with SeedLines(2, 2, True) as report:
        report("seed 0: done")
        report("seed 1: done")
    assert capsys.readouterr().out.splitlines() == ["seed 0: done", "seed 1: done"]


def _ignores_ctrl_c(item: int) -> bool:
    import signal

    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_workers_leave_ctrl_c_to_the_parent():
    """Pins the workers' start: SIGINT ignored in each forked worker (Ctrl-C is the parent's to handle: it stops the
    pool; else every worker printed its own KeyboardInterrupt traceback). Kills W7 (the handler left as it was)."""
    from graphvae.cli._workers import can_fork, map_in_workers

    if not can_fork():
        pytest.skip("needs fork")
    assert list(map_in_workers(_ignores_ctrl_c, [0, 1], 2)) == [True, True]


def test_leaving_the_results_early_stops_the_running_workers():
    """Pins :func:`map_in_workers`' early exit: closing the results while a worker is still busy (here blocked reading
    a pipe that only this test writes to) terminates it instead of waiting for it to finish. Kills W5 (no terminate:
    ``close`` blocked until the running task ended)."""
    import multiprocessing
    import os
    import threading

    from graphvae.cli._workers import can_fork, map_in_workers

    if not can_fork():
        pytest.skip("needs fork")
    read, write = os.pipe()

    def task(k: int) -> int:
        if k:
            os.read(read, 1)  # blocks until the test writes (a worker inherits the pipe through fork)
        return k

    try:
        results = map_in_workers(task, [0, 1], 2)
        assert next(results) == 0
        closer = threading.Thread(target=results.close)
        closer.start()
        closer.join(timeout=20)
        stopped = not closer.is_alive()
        os.write(write, b"x")  # let a worker that was not terminated finish, so that nothing outlives the test
        closer.join()
    finally:
        os.close(read)
        os.close(write)
    assert stopped and not multiprocessing.active_children()


# --------------------------------------------------------------------------- more refusals

def test_two_image_sources_and_a_whole_test_set_are_refused(tmp_path, monkeypatch, capsys):
    """Pins the image checks of ``ae``: ``--mnist`` with ``--fashion-mnist`` (which would it train on?) and
    ``--test-size 1`` (no training images) are each one error line, exit 2. Kills C31 (two sources accepted) and
    C32 (``--test-size 1`` accepted)."""
    monkeypatch.chdir(tmp_path)
    Path("a").mkdir()
    Path("b").mkdir()
    assert main(["ae", "--mnist", "a", "--fashion-mnist", "b", "--epochs", "1", "--no-progress"]) == 2
    one_error(capsys, "give only one of --mnist and --fashion-mnist", only=True)
    assert main(["ae", "--test-size", "1", "--epochs", "1", "--no-progress"]) == 2
    one_error(capsys, "--test-size must be below 1, got 1.0", only=True)


def test_out_and_json_spelled_differently_are_still_the_same_file(chords, capsys):
    """Pins the check that ``--out`` and ``--json`` differ for paths that do not exist yet, compared after resolving
    (``./r.csv`` is ``r.csv``): refused, nothing written. Kills C34 (the paths compared as typed)."""
    assert main(["cluster", "--edges", chords, "--clusters", "2", "--out", "./r.csv", "--json", "r.csv", *FAST]) == 2
    one_error(capsys, "--out and --json are the same file", only=True)
    assert not Path("r.csv").exists()


def test_classify_folds_on_a_registered_dataset_replace_its_public_split(cora, tmp_path, monkeypatch):
    """Pins ``classify --dataset cora --folds 2``: the labelled nodes are split into 2 stratified folds (protocol and
    config say so) instead of the public split that is the default without ``--folds``. Kills K15 (``--folds``
    ignored: the public split used)."""
    monkeypatch.chdir(tmp_path)
    assert main(["classify", "--dataset", "cora", "--folds", "2", "--json", "o.json", *EMBED]) == 0
    result = json.loads(Path("o.json").read_text())
    assert result["protocol"] == "2-fold" and result["config"]["folds"] == 2 and "val_accuracy" not in result["seeds"][0]
    assert result["labelled_nodes"] == cora.num_nodes


# --------------------------------------------------------------------------- vae and ae

def test_vae_draws_the_first_seed_and_trains_on_the_threads_asked(tmp_path, monkeypatch, torch_threads):
    """``vae --seeds 2 --threads 2 --plot figs``: the figures are drawn once, from seed 0, and torch trains on 2
    threads. Kills V2 (the figures of the last seed) and V3 (``--threads`` ignored)."""
    import graphvae.cli.vae as vae
    import graphvae.evaluation.frechet as frechet

    class Features:
        """A stand-in for the Fréchet feature classifier (whose training is not what this test is about)."""
        accuracy = 1.0

        def frechet(self, a, b) -> float:
            return 0.0

    monkeypatch.chdir(tmp_path)
    drawn = []
    monkeypatch.setattr(vae, "write_figures", lambda model, data, out, projection, seed, plot_format="png":
                        drawn.append(seed) or [])
    monkeypatch.setattr(frechet, "feature_classifier", lambda *args, **kwargs: Features())
    assert main(["vae", "--epochs", "1", "--seeds", "2", "--threads", "2", "--hidden", "8", "--elbo-samples", "1",
                 "--iwae-k", "2", "--no-cache", "--no-progress", "--plot", "figs"]) == 0
    assert drawn == [0] and torch.get_num_threads() == 2


def test_ae_json_top_level_numbers_are_the_means_and_only_seed_0_draws(tmp_path, monkeypatch, torch_threads):
    """``ae --seeds 2 --json --plot``: each top-level number is numpy's mean of its per-seed values (``mean_std`` holds
    mean and population std) and only seed 0 gets the figures folder. Kills A1 (the top level holding the std) and
    A2 (the figures of the last seed)."""
    import graphvae.cli.ae as ae

    monkeypatch.chdir(tmp_path)
    calls, image_run = [], ae._image_run
    monkeypatch.setattr(ae, "_image_run", lambda args, seed, out: calls.append((seed, out)) or image_run(args, seed, out))
    assert main(["ae", "--epochs", "1", "--seeds", "2", "--hidden", "8", "--latent", "2", "--no-progress",
                 "--json", "o.json", "--plot", "figs"]) == 0
    assert calls == [(0, Path("figs")), (1, None)]
    result = json.loads(Path("o.json").read_text())
    floats = [k for k, v in result["seeds"][0].items() if isinstance(v, float)]
    assert "reconstruction_error" in floats
    for key in floats:
        values = np.array([r[key] for r in result["seeds"]])
        assert result[key] == pytest.approx(values.mean(), abs=1e-12)
        assert result["mean_std"][key] == pytest.approx({"mean": values.mean(), "std": values.std()}, abs=1e-12)


def test_ae_on_a_graph_splits_the_probe_nodes_by_seed(cora, tmp_path, monkeypatch, torch_threads):
    """``ae --dataset cora --seeds 2``: seed 1's probe accuracy is that of scikit-learn's stratified 80/20 split of the
    nodes with random_state 1, on the codes of the model trained on seed 1's edge split. Kills A3 (every seed's probe
    split drawn with random_state 0)."""
    from sklearn.model_selection import train_test_split

    import graphvae as gv
    import graphvae.cli.ae as ae
    from graphvae.estimators.autoencoders import linear_probe_accuracy

    monkeypatch.chdir(tmp_path)
    argv = ["ae", "--dataset", "cora", "--epochs", "1", "--hidden", "8", "--latent", "4", "--no-progress"]
    assert main([*argv, "--seeds", "2", "--json", "o.json"]) == 0
    row = json.loads(Path("o.json").read_text())["seeds"][1]
    args = build_parser("ae").parse_args(argv)
    ae.check_options(args)  # the command's defaults for the model (what is pinned here is the probe's split)
    model = ae._autoencoder(args, 1).fit(gv.split_edges(cora, seed=1))
    y = cora.y.numpy()
    tr, te = train_test_split(np.arange(len(y)), test_size=0.2, random_state=1, stratify=y)
    codes = model.transform()
    assert row["seed"] == 1
    assert row["probe_accuracy"] == pytest.approx(linear_probe_accuracy(codes[tr], y[tr], codes[te], y[te],
                                                                        random_state=1), abs=1e-12)


@pytest.mark.parametrize("argv, advice", [
    (["linkpred"], "or a smaller graph"),
    (["vae"], "or fewer images or a smaller --batch-size"),
    (["ae"], "or fewer images or a smaller --batch-size"),
    (["ae", "--dataset", "cora"], "or a smaller graph"),
])
def test_out_of_memory_advice_fits_the_data(monkeypatch, capsys, argv, advice):
    """An image command's out-of-memory line advised "a smaller graph"."""
    import importlib

    module = importlib.import_module(f"graphvae.cli.{argv[0]}")
    monkeypatch.setattr(module, "run", lambda args: (_ for _ in ()).throw(
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 3221225472 bytes.")))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.rstrip().endswith(advice), err
