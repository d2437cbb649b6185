"""Bad input found by the second QA audit of the command line and the graph readers: options that the chosen kind,
likelihood or data ignore, header rows read as data, uncounted edges of weight 0, figure files that fail after
training, and dataset folders whose files are not the registered dataset."""
import collections
import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import graphvae as gv
from graphvae.cli import main
from conftest import one_error
from graphvae.cli._common import GRAPH_FIGURES, NOT_EDGE_LISTS


FAST = ["--epochs", "1", "--latent", "2", "--no-progress"]
VAE_FAST = ["--epochs", "1", "--iwae-k", "2", "--hidden", "8", "--no-progress"]
AE_FAST = ["--epochs", "1", "--hidden", "8", "--latent", "4", "--no-progress"]


# --------------------------------------------------------------------------- 1. options that do not apply

@pytest.mark.parametrize("argv,fragment", [
    (["vae", "--sigma", "0.5"], "--sigma, the pixel std, applies to the Gaussian pixel likelihood"),
    (["vae", "--likelihood", "bernoulli", "--learn-sigma"], "--learn-sigma applies to the Gaussian"),
    (["vae", "--projection", "tsne"], "--projection draws the --plot latent map"),
    (["vae", "--projection", "pca", "--plot", "figs", "--latent", "2"], "--latent 3 or more"),
    (["vae", "--cache-dir", "c", "--no-cache"], "--cache-dir DIR or --no-cache, not both"),
    (["ae", "--weight", "0.1"], "--weight is the penalty weight of --kind sparse or contractive: --kind vanilla"),
    (["ae", "--kind", "denoising", "--weight", "0.1"], "--kind denoising has no penalty"),
    (["ae", "--kind", "vanilla", "--sparsity", "0.1"], "--sparsity is the target activation of the KL penalty"),
    (["ae", "--kind", "sparse", "--sparse-penalty", "l1", "--sparsity", "0.1"], "the L1 penalty has none"),
    (["ae", "--sparse-penalty", "l1"], "--sparse-penalty applies to --kind sparse"),
    (["ae", "--kind", "sparse", "--jacobian", "hutchinson"], "--jacobian applies to --kind contractive"),
    (["ae", "--finetune-epochs", "3"], "--finetune-epochs applies to --kind stacked"),
    (["ae", "--kind", "stacked", "--hidden", "8,4", "--latent", "4"], "--kind stacked codes with its last --hidden layer"),
    (["ae", "--kind", "stacked", "--noise", "gaussian"], "--noise corrupts images, for every kind but stacked"),
    (["ae", "--kind", "stacked", "--noise-level", "0.1"], "--noise-level applies to images (every kind but stacked)"),
    (["ae", "--dataset", "cora", "--noise-level", "0.1"], "not to --kind vanilla on a graph"),
    (["ae", "--dataset", "cora", "--noise", "gaussian"], "to a graph --dataset"),
    (["ae", "--dataset", "cora", "--hidden-edges", "0.1"], "it applies to --kind denoising on --dataset cora"),
    (["ae", "--dataset", "cora", "--likelihood", "gaussian"], "a graph autoencoder reconstructs edges"),
    (["ae", "--dataset", "cora", "--batch-size", "8"], "a graph trains as one batch"),
    (["ae", "--dataset", "cora", "--no-binarize"], "--no-binarize applies to images"),
    (["ae", "--data-dir", "somewhere"], "--data-dir is where the graph datasets are found"),
    (["embed", "--edges", "e.csv", "--out", "z.npy", "--projection", "pca"], "--projection draws the --plot map"),
    (["embed", "--edges", "e.csv", "--out", "z.npy", "--data-dir", "."], "--data-dir is where registered datasets"),
    (["embed", "--dataset", "cora", "--out", "z.npy", "--no-header"], "--no-header applies to an edge-list file"),
    (["embed", "--edges", "g.graphml", "--out", "z.npy", "--header"], "not to g.graphml"),
])
def test_options_that_do_not_apply_are_refused_before_training(edges, capsys, argv, fragment):
    # each of these was accepted and silently did nothing
    assert main([*argv, "--epochs", "1", "--no-progress"]) == 2
    one_error(capsys, fragment)
    assert not os.path.exists("z.npy")


def test_test_size_of_image_files_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez("mnist.npz", x_train=rng.integers(0, 256, (20, 28, 28)).astype(np.uint8), y_train=np.arange(20) % 10,
             x_test=rng.integers(0, 256, (10, 28, 28)).astype(np.uint8), y_test=np.arange(10) % 10)
    for command in (["vae", *VAE_FAST], ["ae", *AE_FAST]):  # the files keep their own split
        assert main([*command, "--mnist", "mnist.npz", "--test-size", "0.5"]) == 2
        one_error(capsys, "the mnist files keep their own train/test split")


def test_options_that_apply_are_accepted_and_defaults_are_kept():
    from graphvae.cli import ae, vae
    from graphvae.cli.main import build_parser

    def parsed(*argv):
        return build_parser(argv[0]).parse_args(list(argv))

    args = parsed("ae", "--kind", "sparse", "--weight", "0.5", "--sparse-penalty", "kl", "--sparsity", "0.1",
                  "--noise", "gaussian", "--noise-level", "0.2", "--batch-size", "128", "--test-size", "0.3")
    ae.check_options(args)
    assert (args.weight, args.sparsity, args.noise, args.batch_size, args.test_size) == (0.5, 0.1, "gaussian", 128, 0.3)
    args = parsed("ae", "--kind", "denoising", "--dataset", "cora", "--hidden-edges", "0.3", "--noise-level", "0.1",
                  "--data-dir", "d", "--test-size", "0.5")
    ae.check_options(args)
    assert (args.hidden_edges, args.noise_level) == (0.3, 0.1)
    args = parsed("ae", "--kind", "contractive", "--jacobian", "hutchinson", "--weight", "1")
    ae.check_options(args)
    args = parsed("ae")  # nothing given: the documented defaults, as the JSON's config records them
    ae.check_options(args)
    assert {k: getattr(args, k) for k in ("sparsity", "sparse_penalty", "jacobian", "noise", "noise_level",
                                          "likelihood", "batch_size", "test_size", "hidden_edges")} == dict(
        sparsity=0.05, sparse_penalty="kl", jacobian="exact", noise="masking", noise_level=0.3, likelihood="bernoulli",
        batch_size=64, test_size=0.2, hidden_edges=0.2)
    args = parsed("vae", "--likelihood", "gaussian", "--sigma", "0.5", "--learn-sigma", "--latent", "3",
                  "--projection", "tsne", "--plot", "figs")
    setup = vae.check_args(args)
    assert (setup["sigma"], setup["learn_sigma"], args.projection, args.test_size) == (0.5, True, "tsne", 0.2)
    args = parsed("vae")
    assert vae.check_args(args)["likelihood"] == "bernoulli" and (args.projection, args.test_size) == ("pca", 0.2)


def test_not_edge_lists_are_the_readers_suffixes():
    from graphvae.data.graph_files import NETWORKX_SUFFIXES

    assert sorted(NOT_EDGE_LISTS) == sorted([*NETWORKX_SUFFIXES, ".npz"])


# --------------------------------------------------------------------------- 2. a header of unknown column names

def test_a_first_row_that_may_be_a_header_gets_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "genes.csv").write_text("gene1,gene2\nBRCA1,TP53\nTP53,EGFR\nEGFR,MYC\nMYC,BRCA1\n")
    g = gv.load_graph("genes.csv")
    assert g.cleaning["possible_header"] == "gene1,gene2" and "gene1" in g.node_ids  # what is read stays the same
    assert main(["embed", "--edges", "genes.csv", "--out", "z.npy", *FAST]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "note:" in line]
    assert len(notes) == 1 and notes[0].startswith("graphvae embed: note: the first line 'gene1,gene2'"), err
    assert "--header" in notes[0]
    for argv in (["--header"], ["--no-header"]):  # the user said which it is: nothing to suggest
        assert main(["embed", "--edges", "genes.csv", *argv, "--out", "z.npy", *FAST]) == 0
        assert "note:" not in capsys.readouterr().err
    assert "gene1" not in gv.load_graph("genes.csv", header=True).node_ids
    (tmp_path / "ints.csv").write_text("7,8\n1,2\n2,3\n3,1\n")  # integer ids: an isolated edge is just an edge
    (tmp_path / "joined.csv").write_text("a,b\nb,c\nc,a\n")  # the first row's ids appear again
    (tmp_path / "one.csv").write_text("a,b\n")
    for name in ("ints.csv", "joined.csv", "one.csv"):
        assert "possible_header" not in gv.load_graph(name).cleaning, name


def test_a_weight_column_header_says_give_header(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.csv").write_text("gene1,gene2,score\nBRCA1,TP53,1\nTP53,EGFR,2\n")
    assert main(["embed", "--edges", "g.csv", "--out", "z.npy", *FAST]) == 2
    one_error(capsys, "edge weight 'score' is not a number (if it is a header, give --header)")


# --------------------------------------------------------------------------- 3. edges of weight 0

def test_edges_of_weight_zero_are_counted_and_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.csv").write_text("a,b,1\nb,c,0\nc,d,2\nd,a,0\n")
    g = gv.load_graph("w.csv")
    assert g.cleaning["zero_weight"] == 2 and g.num_edges == 2
    assert main(["embed", "--edges", "w.csv", "--out", "z.npy", *FAST]) == 0
    line = next(line for line in capsys.readouterr().err.splitlines() if line.startswith("graph:"))
    assert "dropped 0 self-loops, 0 duplicate edges and 2 edges of weight 0" in line
    (tmp_path / "zero.csv").write_text("a,b,0\nb,c,0\n")
    assert main(["embed", "--edges", "zero.csv", "--out", "z.npy", *FAST]) == 2
    one_error(capsys, "no edges between distinct nodes (2 edges of weight 0 were dropped)")
    (tmp_path / "u.csv").write_text("a,b\nb,c\n")
    assert "zero_weight" not in gv.load_graph("u.csv").cleaning  # unweighted: nothing to count


# --------------------------------------------------------------------------- 4. pandas' feature header

def test_feature_header_of_pandas_to_csv_with_the_index_is_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text("0,1\n1,2\n2,3\n3,0\n")
    rows = np.eye(4)[:, :3]
    # pandas.DataFrame(rows).to_csv("f.csv"): the index column's header field is empty
    (tmp_path / "f.csv").write_text(",0,1,2\n" + "".join(f"{i}," + ",".join(map(str, r)) + "\n"
                                                         for i, r in enumerate(rows)))
    g = gv.load_graph("e.csv", "f.csv")
    assert np.array_equal(g.x.numpy(), rows.astype(np.float32))
    assert main(["embed", "--edges", "e.csv", "--features", "f.csv", "--out", "z.npy", *FAST]) == 0
    assert "error" not in capsys.readouterr().err


# --------------------------------------------------------------------------- 5. every figure file checked first

@pytest.mark.parametrize("command", [["embed", "--out", "z.npy"], ["linkpred"], ["classify"],
                                     ["cluster", "--clusters", "2"]])
def test_graph_figure_that_cannot_be_written_fails_before_training(edges, tmp_path, capsys, command):
    name = GRAPH_FIGURES[command[0]][0] + ".png"  # the default --plot-format
    (tmp_path / "figs" / name).mkdir(parents=True)  # written after the whole run, and it failed there
    assert main([*command, "--edges", edges, "--plot", "figs", "--model", "gae", *FAST]) == 2
    one_error(capsys, f"cannot write the figure {name} in --plot")
    assert not (tmp_path / "z.npy").exists()


def test_plot_folder_check_follows_what_is_written(edges, tmp_path, capsys):
    (tmp_path / "figs" / "figure.png").mkdir(parents=True)  # a name never written: was refused
    assert main(["embed", "--edges", edges, "--out", "z.npy", "--plot", "figs", *FAST]) == 0
    assert sorted(os.listdir(tmp_path / "figs")) == sorted(["figure.png", *(f"{name}.png" for name in GRAPH_FIGURES["embed"])])


@pytest.mark.parametrize("command,figure", [(["vae", *VAE_FAST], "training_curves.png"),
                                            (["ae", *AE_FAST], "reconstructions.png")])
def test_image_figure_that_cannot_be_written_fails_before_training(tmp_path, monkeypatch, capsys, command, figure):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "figs" / figure).mkdir(parents=True)
    assert main([*command, "--plot", "figs"]) == 2
    out, err = capsys.readouterr()
    assert "seed 0" not in out and f"cannot write the figure {figure} in --plot" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("latent", [1, 3])
def test_vae_figure_names_are_the_files_written(tmp_path, monkeypatch, latent):
    from graphvae.cli.vae import figure_names

    monkeypatch.chdir(tmp_path)
    assert main(["vae", *VAE_FAST, "--latent", str(latent), "--plot", "figs"]) == 0
    assert sorted(os.listdir("figs")) == sorted(figure_names(latent))


def test_ae_figure_names_are_the_files_written(tmp_path, monkeypatch):
    from argparse import Namespace

    from graphvae.cli.ae import figure_names

    monkeypatch.chdir(tmp_path)
    for kind in ("vanilla", "stacked"):
        fast = [a for a in AE_FAST if a not in ("--latent", "4")] if kind == "stacked" else AE_FAST  # no code width
        assert main(["ae", "--kind", kind, *fast, "--hidden", "8,4", "--plot", kind]) == 0
        assert sorted(os.listdir(kind)) == sorted(figure_names(Namespace(kind=kind, dataset=None)))


# --------------------------------------------------------------------------- 6. a user's copy of a dataset

def write_tiny_planetoid(folder, prefix: str, n: int = 40) -> None:
    """A small graph in the Planetoid format (pickled CSR features, one-hot labels, adjacency dict)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    n_test, classes = 5, 3
    feats = sp.csr_matrix((rng.random((n, 4)) < 0.5).astype(np.float32))
    onehot = np.eye(classes, dtype=np.int64)[rng.integers(0, classes, n)]
    links = collections.defaultdict(list)
    for u in range(n):
        links[u].append((u + 1) % n)
    labelled = n - n_test
    parts = {"x": feats[:4], "y": onehot[:4], "allx": feats[:labelled], "ally": onehot[:labelled],
             "tx": feats[labelled:], "ty": onehot[labelled:], "graph": links}
    for part, obj in parts.items():
        with open(folder / f"ind.{prefix}.{part}", "wb") as fh:
            pickle.dump(obj, fh, protocol=2)
    (folder / f"ind.{prefix}.test.index").write_text("".join(f"{i}\n" for i in range(labelled, n)))


def test_a_dataset_folder_with_another_node_count_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GRAPHVAE_DATA", raising=False)
    folder = tmp_path / "data" / "planetoid" / "PubMed" / "raw"
    write_tiny_planetoid(folder, "pubmed")  # no pinned checksum: a wrong copy was read as PubMed
    with pytest.raises(gv.InputError, match=r"ind\.pubmed\.\*: 40 nodes where graphvae's registry has 19717") as e:
        gv.load_dataset("pubmed", root=tmp_path / "data")
    assert str(folder) in str(e.value) and "\n" not in str(e.value)
    monkeypatch.setenv("GRAPHVAE_DATA", str(tmp_path / "data"))
    with pytest.raises(gv.InputError, match="19717"):
        gv.load_dataset("pubmed")
    assert main(["embed", "--dataset", "pubmed", "--data-dir", str(tmp_path / "data"), "--out",
                 str(tmp_path / "z.npy"), *FAST]) == 2
    one_error(capsys, "40 nodes where graphvae's registry has 19717 for pubmed")
