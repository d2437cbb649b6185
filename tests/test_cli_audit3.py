"""Third QA audit of the command line: refusals of options that do not apply (an option given as 0, --patience
without early stopping, embed's --projection of a 2-D embedding, classify's --test-size beside --folds or a public
split, cluster's --covariance with k-means) and the torchrun check of a WORLD_SIZE that another tool set."""
import json
import os

import numpy as np
import pytest

import graphvae as gv

from graphvae.cli import main
from conftest import one_error as shared_one_error, ring
from graphvae.cli.main import build_parser


def one_error(capsys, fragment: str) -> str:
    return shared_one_error(capsys, fragment, only=True)


@pytest.fixture
def edges(edges, tmp_path):
    """The shared ring with chords i-(i+7), and labels ``y.csv``."""
    (tmp_path / edges).write_text(ring(30, chord=7))
    (tmp_path / "y.csv").write_text("".join(f"n{i},{i % 2}\n" for i in range(30)))
    return edges


FAST = ["--epochs", "1", "--no-progress"]
EMBED_FAST = ["--model", "gae", "--epochs", "1", "--latent", "2", "--hidden", "4", "--no-progress"]


# --------------------------------------------------------------------------- an option given as 0

@pytest.mark.parametrize("argv,fragment", [
    (["--kind", "vanilla", "--weight", "0"], "--kind vanilla has no penalty"),
    (["--kind", "sparse", "--sparse-penalty", "l1", "--sparsity", "0.5"], "the L1 penalty has none"),
    (["--kind", "stacked", "--noise-level", "0"], "not to --kind stacked"),
    (["--dataset", "cora", "--hidden-edges", "0"], "it applies to --kind denoising on --dataset cora"),
])
def test_an_option_given_as_zero_is_refused_where_it_does_not_apply(tmp_path, monkeypatch, capsys, argv, fragment):
    # refuse_unused compared with `in (None, False)`, and 0 == False: `--weight 0` passed as if not given
    monkeypatch.chdir(tmp_path)
    assert main(["ae", *argv, *FAST]) == 2
    one_error(capsys, fragment)


def test_an_option_given_as_zero_is_accepted_where_it_applies():
    from graphvae.cli import ae

    args = build_parser("ae").parse_args(["ae", "--kind", "sparse", "--weight", "0", "--noise-level", "0"])
    ae.check_options(args)
    assert (args.weight, args.noise_level) == (0.0, 0.0)  # (--sparsity must lie in (0, 1): 0 is refused by its type)


# --------------------------------------------------------------------------- linkpred --patience

@pytest.mark.parametrize("argv,fragment", [
    (["--model", "gae"], "--model gae trains every epoch unless --early-stopping is given"),
    (["--model", "vgae"], "--model vgae trains every epoch unless --early-stopping is given"),
    (["--model", "gnae", "--no-early-stopping"], "--no-early-stopping trains every epoch"),
])
def test_patience_without_early_stopping_is_refused(edges, capsys, argv, fragment):
    assert main(["linkpred", "--edges", edges, *argv, "--patience", "5", "--json", "r.json", *FAST]) == 2
    one_error(capsys, f"--patience is the early-stopping patience: {fragment}")
    assert not os.path.exists("r.json")


@pytest.mark.parametrize("argv", [["--model", "gae", "--early-stopping"], ["--model", "gnae"]])
def test_patience_with_early_stopping_is_accepted(edges, argv):
    assert main(["linkpred", "--edges", edges, *argv, "--patience", "3", "--latent", "2", "--hidden", "4",
                 "--json", "r.json", *FAST]) == 0
    result = json.loads(open("r.json").read())
    assert result["config"]["early_stopping"] is True and result["config"]["patience"] == 3


# --------------------------------------------------------------------------- WORLD_SIZE set by another tool

@pytest.mark.parametrize("command", ["linkpred", "classify", "vae"])
@pytest.mark.parametrize("world", ["abc", "", "0", "-2"])
def test_a_world_size_that_is_not_a_positive_integer_is_one_line(edges, monkeypatch, capsys, command, world):
    # classify/vae said "does not run under torchrun"; linkpred loaded the graph, then failed with status 1 (0: a
    # numpy division warning first)
    monkeypatch.setenv("WORLD_SIZE", world)
    argv = {"linkpred": ["--edges", edges], "classify": ["--edges", edges, "--labels", "y.csv"], "vae": []}[command]
    assert main([command, *argv, *FAST]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"graphvae {command}: error: WORLD_SIZE must be a positive integer (the number of torchrun processes), got "
        f"{world!r}: unset it to run as one process"]


def test_a_world_size_of_one_without_torchrun_fails_before_the_graph_is_loaded(tmp_path, monkeypatch, capsys):
    # a WORLD_SIZE=1 left in the environment: linkpred read (or failed on) the whole input before saying so
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("a,b,c,d\nx\n")
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT", "GRAPHVAE_DIST_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert main(["linkpred", "--edges", "bad.csv", *FAST]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "graphvae linkpred: error: WORLD_SIZE is set but RANK, MASTER_ADDR, MASTER_PORT is not: start the run with "
        "torchrun, or unset WORLD_SIZE to run as one process"]


# --------------------------------------------------------------------------- embed --projection

def test_embed_projection_of_a_two_dimensional_embedding_is_refused(edges, capsys):
    # a 2-D embedding is drawn as it is (graphvae.evaluation.plots.project_2d): --projection did nothing
    assert main(["embed", "--edges", edges, "--out", "z.npy", "--plot", "figs", "--projection", "pca",
                 *EMBED_FAST]) == 2
    one_error(capsys, "--projection maps more than 2 dimensions to 2-D: the 2-dimensional embeddings")
    assert not os.path.exists("z.npy")


def test_embed_projection_of_three_dimensions_is_accepted(edges):
    assert main(["embed", "--edges", edges, "--out", "z.npy", "--plot", "figs", "--projection", "pca",
                 *EMBED_FAST, "--latent", "3"]) == 0
    assert os.listdir("figs") == ["embedding_map.png"]


# --------------------------------------------------------------------------- classify --test-size, cluster --covariance

@pytest.mark.parametrize("argv,fragment", [
    (["--edges", "e.csv", "--labels", "y.csv", "--folds", "3"], "--folds splits into folds instead"),
    (["--dataset", "cora"], "--dataset cora without --labels is scored on its public split"),
    (["--dataset", "cora", "--folds", "3"], "--folds splits into folds instead"),
])
def test_classify_test_size_that_no_split_uses_is_refused(edges, capsys, argv, fragment):
    # refused before the dataset is loaded or anything trained
    assert main(["classify", *argv, "--test-size", "0.3", "--json", "r.json", *FAST]) == 2
    one_error(capsys, f"--test-size is the test fraction of the stratified split of --labels: {fragment}")
    assert not os.path.exists("r.json")


def test_classify_test_size_of_the_stratified_split_is_accepted_and_defaults_to_a_half(edges):
    common = ["classify", "--edges", edges, "--labels", "y.csv", "--model", "gae", "--latent", "2", "--hidden", "4"]
    assert main([*common, "--test-size", "0.3", "--json", "a.json", *FAST]) == 0
    assert main([*common, "--json", "b.json", *FAST]) == 0
    assert main([*common, "--folds", "2", "--json", "c.json", *FAST]) == 0
    configs = [json.loads(open(f"{n}.json").read()) for n in "abc"]
    assert [c["config"]["test_size"] for c in configs] == [0.3, 0.5, None]
    assert [c["protocol"] for c in configs] == ["stratified 70%/30% split", "stratified 50%/50% split", "2-fold"]


def test_cluster_covariance_with_kmeans_is_refused(edges, capsys):
    assert main(["cluster", "--edges", edges, "--clusters", "2", "--method", "kmeans", "--covariance", "full",
                 "--out", "c.csv", *FAST]) == 2
    one_error(capsys, "--covariance is that of the Gaussian mixture (--method gmm): k-means has none")
    assert not os.path.exists("c.csv")


def test_cluster_covariance_is_accepted_with_gmm_and_defaults_to_tied(edges):
    common = ["cluster", "--edges", edges, "--clusters", "2", "--model", "gae", "--latent", "2", "--hidden", "4",
              "--restarts", "1"]
    runs = {"full": ["--covariance", "full"], "default": [], "kmeans": ["--method", "kmeans"]}
    for name, extra in runs.items():
        assert main([*common, *extra, "--json", f"{name}.json", *FAST]) == 0
    assert [json.loads(open(f"{n}.json").read())["covariance"] for n in runs] == ["full", "tied", None]


def test_no_binarize_with_cifar_is_refused(tmp_path, monkeypatch, capsys):
    """CIFAR-10's colour pixels are never binarized: --no-binarize did nothing there (it applies to grey images)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.npz").write_bytes(b"")
    assert main(["vae", "--cifar", "c.npz", "--no-binarize", "--epochs", "1"]) == 2
    one_error(capsys, "--cifar colour pixels are never binarized")


def test_fit_embeddings_checks_max_latent():
    import networkx as nx

    import graphvae as gv
    from graphvae.estimators.node_embeddings import fit_embeddings

    for bad in ("4", 0, 2.5, True):
        with pytest.raises(gv.InputError, match="max_latent"):
            fit_embeddings(nx.karate_club_graph(), "gae", 0, max_latent=bad, epochs=1)


@pytest.mark.parametrize("argv,fragment", [
    (["linkpred", "--epochs", "99999999999999999999"], "argument --epochs: must be at most 2147483647"),
    (["vae", "--latent", "99999999999999999999"], "argument --latent: must be at most 2147483647"),
    (["ae", "--hidden", "5,99999999999"], "argument --hidden: widths must be at most 2147483647"),
    (["linkpred", "--lr", "inf"], "argument --lr: must be a positive finite number, got inf"),
    (["linkpred", "--negatives", "inf"], "argument --negatives: must be a positive finite number"),
    (["vae", "--sigma", "inf"], "argument --sigma: must be a positive finite number"),
    (["vae", "--beta", "nan"], "argument --beta: must be a non-negative finite number"),
    (["ae", "--weight", "-1"], "argument --weight: must be a non-negative finite number"),
    (["ae", "--noise-level", "inf"], "argument --noise-level: must be a non-negative finite number"),
    (["ae", "--sparsity", "1"], "argument --sparsity: must lie strictly between 0 and 1"),
    (["ae", "--hidden-edges", "1"], "argument --hidden-edges: must lie in [0, 1)"),
])
def test_out_of_range_numbers_are_refused_by_the_option_in_one_line(capsys, argv, fragment):
    # 2**63 epochs ended in a traceback from the progress bar's len(), a width of 1e20 in torch's shape unpacking; inf
    # reached the estimator, whose message named its parameter ("The 'lr' parameter of VGAE ...") instead of the option
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--no-progress"])
    assert exit_.value.code == 2
    one_error(capsys, fragment)


def test_a_huge_ratio_of_sampled_pairs_is_capped_not_an_overflow(edges):
    # --negatives 1e307: ceil(ratio * positives / nodes) was inf, and int(inf) an OverflowError traceback
    assert main(["linkpred", "--edges", edges, "--negatives", "1e307", "--latent", "2", *FAST]) == 0


def test_ids_starting_with_a_hash_survive_cluster_out_read_back_as_labels(tmp_path, monkeypatch, capsys):
    # "#x2,1,..." was written bare, and the labels reader took the line for a comment: cluster --labels refused the
    # file, classify scored 27 of 34 nodes without a word
    import networkx as nx

    from graphvae.evaluation.node_tasks import node_labels

    monkeypatch.chdir(tmp_path)
    names = {n: (f"#x{n}" if n % 3 == 0 else f"#{n}" if n % 3 == 1 else f"n{n}") for n in range(30)}
    nx.write_graphml(nx.relabel_nodes(nx.cycle_graph(30), names), "g.graphml")
    assert main(["cluster", "--edges", "g.graphml", "--clusters", "2", "--out", "c.csv", *EMBED_FAST]) == 0
    graph = gv.load_graph("g.graphml")
    labels = node_labels(graph, "c.csv")
    assert len(labels) == 30 and all(label is not None for label in labels)
    z = np.arange(60.0).reshape(30, 2)
    gv.save_embeddings("z.csv", z, graph.node_ids)  # the embedding CSV too, read back by the labels/features reader
    assert gv.load_embeddings("z.csv")[0] == [str(i) for i in graph.node_ids]
    from graphvae.data.graph import read_features

    assert (read_features("z.csv", graph.node_ids) == z).all()
