"""Bad input found by the QA audit: each is one line on stderr and exit status 2 (``InputError`` from the API),
never a traceback or a silent wrong answer."""
import sys
import warnings

import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.cli import main
from conftest import one_error, ring


FAST = ["--epochs", "1", "--latent", "4", "--no-progress"]


def test_negative_first_seed_is_an_input_error(edges, capsys):
    for command in (["linkpred", "--first-seed", "-1"], ["embed", "--seed", "-1", "--out", "z.npy"]):
        with pytest.raises(SystemExit) as exit_:  # argparse's error: one line, status 2
            main([*command, "--edges", edges, *FAST])
        assert exit_.value.code == 2
        one_error(capsys, "non-negative integer")


def test_split_edges_checks_its_seed_and_takes_any_graph():
    import networkx as nx

    g = gv.as_graph(nx.karate_club_graph())
    with pytest.raises(gv.InputError, match="seed"):
        gv.split_edges(g, seed=-1)
    split = gv.split_edges(nx.karate_club_graph(), seed=0)  # a networkx graph, as fit takes it
    assert split.num_nodes == 34


@pytest.mark.parametrize("command", [["linkpred"], ["embed", "--out", "z.npy"],
                                     ["cluster", "--clusters", "2", "--model", "gae"]])
def test_dataset_and_edges_together_are_refused(edges, capsys, command):
    for dataset in ("cora", "nosuch"):
        assert main([*command, "--edges", edges, "--dataset", dataset, *FAST]) == 2
        one_error(capsys, "not both")


def test_output_path_that_is_a_folder_fails_before_training(edges, tmp_path, capsys):
    (tmp_path / "taken.json").mkdir()
    assert main(["linkpred", "--edges", edges, "--json", "taken.json", *FAST]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "seed 0" not in err and "tmp-" not in err


@pytest.mark.parametrize("command", [["vae", "--iwae-k", "2", "--epochs", "1"],
                                     ["ae", "--kind", "vanilla", "--epochs", "1"]])
def test_image_figures_folder_that_is_a_file_fails_before_training(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "figs").write_text("a file")
    assert main([*command, "--out", "figs", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "not a writable folder" in err and "seed 0" not in err
    assert (tmp_path / "figs").read_text() == "a file"


def test_cluster_out_must_be_csv(edges, tmp_path, capsys):
    assert main(["cluster", "--edges", edges, "--clusters", "2", "--model", "gae", "--out", "c.npy", *FAST]) == 2
    one_error(capsys, ".csv")
    assert not (tmp_path / "c.npy").exists()


def test_embed_bad_labels_fail_before_anything_is_written(edges, tmp_path, capsys):
    (tmp_path / "y.csv").write_text("zz,a\n")
    assert main(["embed", "--edges", edges, "--labels", "y.csv", "--plot", "figs", "--out", "z.npy", *FAST]) == 2
    one_error(capsys, "'zz' is not in the graph")
    assert not (tmp_path / "z.npy").exists()


def test_nan_edge_weight_message_shows_the_value(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.csv").write_text("a,b,nan\nb,c,1\n")
    assert main(["embed", "--edges", "w.csv", "--out", "z.npy", *FAST]) == 2
    err = capsys.readouterr().err
    assert "got nan" in err and "np.float64" not in err


def test_diverged_training_is_an_error_not_a_perfect_score(edges, tmp_path, capsys):
    # lr 1e308 makes every parameter NaN after one step: NaN scores used to give AUC 1.0 and NaN embeddings
    assert main(["linkpred", "--edges", edges, "--lr", "1e308", "--epochs", "3", "--latent", "4", "--no-progress"]) == 2
    one_error(capsys, "diverged")
    assert main(["embed", "--edges", edges, "--lr", "1e308", "--out", "z.npy", "--epochs", "3", "--latent", "4",
                 "--no-progress"]) == 2
    one_error(capsys, "diverged")
    assert not (tmp_path / "z.npy").exists()


def test_diverged_fit_raises_input_error_and_nan_scores_are_refused():
    import networkx as nx

    with pytest.raises(gv.InputError, match="diverged"):
        gv.GAE(lr=1e308, epochs=3, latent=4).fit(nx.karate_club_graph())
    from graphvae.evaluation.metrics import auc_ap

    with pytest.raises(ValueError, match="NaN"):
        auc_ap(np.array([np.nan, 0.5]), np.array([0.1, np.nan]))


def test_fit_seeds_with_one_split(cora):
    from graphvae.estimators.batched import fit_seeds

    split = gv.split_edges(cora, seed=0)
    [model] = fit_seeds(gv.VGAE(epochs=2), [split], [0])
    single = gv.VGAE(epochs=2, random_state=0).fit(split)
    assert np.allclose(model.embed(), single.embed(), atol=1e-5)


def test_predict_proba_checks_the_pairs():
    import networkx as nx

    model = gv.GAE(epochs=1, latent=4).fit(nx.karate_club_graph())
    for pairs in (np.array([[0], [34]]), np.array([[0], [-1]]), np.array([0, 1, 2]), np.zeros((3, 2))):
        with pytest.raises(gv.InputError, match="pairs"):
            model.predict_proba(pairs)
    with pytest.raises(gv.InputError, match="pairs"):
        model.score(torch.tensor([[0], [99]]), torch.tensor([[1], [2]]))
    assert model.predict_proba(np.array([[0, 1], [1, 2]])).shape == (2,)


def test_embedding_files_bad_input(tmp_path):
    with pytest.raises(gv.InputError, match="2-d"):
        gv.save_embeddings(tmp_path / "z.csv", np.ones(2), [0, 1])
    (tmp_path / "bad.npz").write_text("garbage")
    with pytest.raises(gv.InputError, match="bad.npz"):
        gv.load_embeddings(tmp_path / "bad.npz")
    (tmp_path / "bad.csv").write_text("node_id,z0\na,1\nb,x\n")
    with pytest.raises(gv.InputError, match="bad.csv"):
        gv.load_embeddings(tmp_path / "bad.csv")
    (tmp_path / "bad.emb").write_text("two 1\na 1\n")
    with pytest.raises(gv.InputError, match="bad.emb"):
        gv.load_embeddings(tmp_path / "bad.emb")


def test_out_of_memory_is_one_line(edges, capsys):
    assert main(["linkpred", "--edges", edges, "--hidden", "2000000000", *FAST]) == 2  # (at most 2**31 - 1)
    one_error(capsys, "memory")


def test_fit_seeds_leaves_the_global_random_state_alone(cora):
    from graphvae.estimators.batched import fit_seeds

    splits = [gv.split_edges(cora, seed=s) for s in (0, 1)]
    torch.manual_seed(123)
    np.random.seed(123)
    before_torch, before_numpy = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    fit_seeds(gv.VGAE(epochs=1), splits, [0, 1])
    assert torch.equal(torch.random.get_rng_state(), before_torch)
    assert np.array_equal(np.random.get_state()[1], before_numpy)


def test_training_stops_at_the_first_nan_loss():
    import networkx as nx

    model = gv.VGAE(lr=1e308, epochs=200, latent=4)
    with pytest.raises(gv.InputError, match="at epoch 1"):
        model.fit(nx.karate_club_graph())
    losses = [entry["loss"] for entry in model.history_]
    assert len(losses) == 2 and np.isfinite(losses[0]) and np.isnan(losses[1])  # not 200 epochs of NaN


def test_diverging_run_leaks_no_numpy_warning(edges, capsys):
    # lr 1e9 overflows the control variate's sums to inf before the loss turns NaN: numpy's "invalid value" warning
    # used to print two lines of library source above the one-line error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["embed", "--edges", edges, "--lr", "1e9", "--out", "z.npy", "--epochs", "5", "--latent", "4",
                     "--no-progress"]) == 2
    one_error(capsys, "diverged")
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


def test_collapsed_embeddings_are_flagged_not_written_silently(edges, tmp_path, capsys):
    # lr 1 for 50 epochs leaves every hidden unit of the ring's encoder inactive: every node gets the same vector
    with warnings.catch_warnings():
        warnings.simplefilter("default", gv.CollapseWarning)  # shown, not raised (as outside the test suite)
        assert main(["embed", "--edges", edges, "--lr", "1", "--epochs", "50", "--out", "z.npy", "--latent", "4",
                     "--no-progress"]) == 0
    z = np.load(tmp_path / "z.npy")
    assert np.ptp(z, axis=0).max() == 0  # the condition the warning is about
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warned) == 1 and "same embedding" in warned[0] and "smaller learning rate than 1" in warned[0]
    assert warned[0].startswith("graphvae embed: warning: every one of the 30 nodes got the same embedding")
    # the API says it too (linkpred's scores of such a model are all equal: AUC 0.5, which used to pass silently)
    import networkx as nx

    with pytest.warns(gv.CollapseWarning, match="every one of the 30 nodes got the same embedding"):
        gv.VGAE(lr=1, epochs=50, latent=4, random_state=0).fit(nx.cycle_graph(30))
    assert main(["embed", "--edges", edges, "--out", "z.npy", *FAST]) == 0  # a healthy run says nothing of the kind
    assert "warning:" not in capsys.readouterr().err


def test_a_nan_loss_with_finite_parameters_is_divergence_not_a_model():
    # lr 1e4: the loss is NaN at epoch 1, which ends training, but the parameters are still finite (about 1e8); the fit
    # used to return that model silently (every pair scored 1.0, test AUC 0.5)
    import networkx as nx

    with pytest.raises(gv.InputError, match=r"training diverged: the loss became NaN or inf at epoch 1; try a smaller "
                                            r"learning rate than 10000"):
        gv.GAE(epochs=20, lr=1e4, latent=8, random_state=0).fit(nx.karate_club_graph())


def test_a_nan_loss_after_the_selected_epoch_warns_and_keeps_that_epoch():
    import networkx as nx

    model = gv.GAE(epochs=5, latent=4, early_stopping=True, random_state=0)
    model.fit(gv.split_edges(gv.as_graph(nx.karate_club_graph()), seed=0))
    model.history_.append(dict(model.history_[-1], epoch=len(model.history_), loss=float("nan")))
    model.best_epoch_ = 1
    with pytest.warns(gv.DivergenceWarning, match=r"NaN or inf at epoch 5, .* the model kept is epoch 1's"):
        model._check_diverged()
    model.best_epoch_ = 5  # the kept epoch is the NaN one: an error
    with pytest.raises(gv.InputError, match="NaN or inf at epoch 5"):
        model._check_diverged()


@pytest.mark.parametrize("options", [{}, dict(decoder="mlp", mask_rate=0.4, batch_norm=True, encoder_dropout=0.5)])
def test_divergence_under_early_stopping_names_the_parameter(options):
    # the step that makes the parameters NaN is followed by a validation pass: that pass used to fail first, with
    # the generic "scores that are not NaN" message instead of the diverged parameter and the learning-rate hint
    import networkx as nx

    split = gv.split_edges(gv.as_graph(nx.les_miserables_graph()), seed=0)
    with pytest.raises(gv.InputError, match=r"training diverged: parameter .* smaller learning rate than 1e\+308"):
        gv.VGAE(lr=1e308, epochs=5, latent=4, early_stopping=True, **options).fit(split)


def test_scores_overflowing_with_finite_parameters_are_reported_as_divergence():
    # lr 1e9 on MaskGAE's model: the parameters stay finite but the embeddings grow so large that the MLP decoder's
    # scores are NaN; that used to end in the generic "AUC and AP need scores that are not NaN"
    import networkx as nx

    from graphvae.estimators.zoo import make_model

    split = gv.split_edges(gv.as_graph(nx.karate_club_graph()), seed=0)
    with pytest.raises(gv.InputError, match=r"training diverged: the validation scores are NaN at epoch \d+ .* "
                                            r"smaller learning rate than 1e\+09"):
        make_model("best", lr=1e9, epochs=5, latent=4, random_state=0).fit(split)


def test_non_finite_state_covers_buffers():
    from graphvae.estimators.base import non_finite_state

    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    assert non_finite_state(module) is None
    module[1].running_var[1] = float("nan")  # batch norm's running statistics are buffers, not parameters
    assert non_finite_state(module) == "buffer 1.running_var"
    module[0].weight.data[0, 0] = float("inf")
    assert non_finite_state(module) == "parameter 0.weight"


def test_fit_takes_a_graph_file_path_and_numpy_integer_seeds(edges):
    # a path is read by the CLI's own reader (as_graph -> load_graph); numpy integers are valid seeds, as in
    # scikit-learn (torch's manual_seed refuses them, so they used to fail with "an integer is required")
    import pathlib

    reference = gv.GAE(epochs=3, latent=4, random_state=3).fit(gv.load_graph(edges)).embed()
    from_path = gv.GAE(epochs=3, latent=4, random_state=np.int64(3)).fit(pathlib.Path(edges))
    assert np.array_equal(from_path.embed(), reference)
    assert from_path.node_ids_ == gv.load_graph(edges).node_ids
    assert gv.as_graph(edges, np.eye(30)).x.shape == (30, 30)
    with pytest.raises(gv.InputError, match="not found"):
        gv.as_graph("missing.csv")
    with pytest.raises(TypeError, match="path of a graph file"):
        gv.as_graph(3)
    from graphvae.estimators.batched import fit_seeds

    models = fit_seeds(gv.GAE(epochs=2, latent=4), [gv.split_edges(edges, seed=0)] * 2, [np.int64(0), np.int64(1)])
    assert len(models) == 2


def test_pyg_round_trip_keeps_ids_and_weights_and_bad_edge_index_is_refused():
    import networkx as nx
    from torch_geometric.data import Data

    graph = gv.as_graph(nx.les_miserables_graph())  # string node ids, weighted edges
    back = gv.as_graph(graph.to_pyg())
    assert back.node_ids == graph.node_ids and back.node_ids[0] == "Napoleon"
    assert torch.equal(back.edge_index, graph.edge_index) and torch.equal(back.edge_weight, graph.edge_weight)
    ring_index = [[0, 1, 2, 3], [1, 2, 3, 0]]
    for edge_index, fragment in [(torch.tensor(ring_index, dtype=torch.float32), "integer node indices"),
                                 (torch.tensor([*ring_index, [0, 0, 0, 0]]), r"shape \[2, E\], got \[3, 4\]"),
                                 (torch.tensor([0, 1]), r"shape \[2, E\], got \[2\]")]:
        with pytest.raises(gv.InputError, match=fragment):  # these were read silently (truncated, or rows dropped)
            gv.as_graph(Data(edge_index=edge_index, num_nodes=4))


def test_early_stopping_on_a_whole_graph_says_how_to_train_it():
    import networkx as nx
    from graphvae.estimators.zoo import make_model

    with pytest.raises(gv.InputError, match="set early_stopping=False"):
        make_model("best", epochs=2, latent=4).fit(nx.karate_club_graph())
    assert make_model("best", epochs=2, latent=4, early_stopping=False).fit(nx.karate_club_graph()).embed().shape == (34, 4)


def test_progress_bar_only_on_a_terminal(edges, capsys, monkeypatch):
    # captured stderr is not a terminal: a log file gets no carriage-return redraws of the bar
    args = ["embed", "--edges", edges, "--out", "z.npy", "--epochs", "30", "--latent", "4"]
    assert main(args) == 0
    assert "it/s" not in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(args) == 0
    assert "it/s" in capsys.readouterr().err  # on a terminal the bar is drawn, as before


def test_collapsed_or_nan_embeddings_are_refused_by_the_node_tasks(edges, capsys):
    from graphvae.evaluation import node_tasks

    # lr 1 for 50 epochs collapses the ring's encoder (see above): clustering used to end in scikit-learn's
    # "Found array with 0 feature(s)" traceback
    assert main(["cluster", "--edges", edges, "--clusters", "3", "--lr", "1", "--epochs", "50", "--latent", "4",
                 "--model", "vgae", "--no-progress"]) == 2
    err = capsys.readouterr().err  # the node task's error, and not the fit's CollapseWarning as well
    assert len([line for line in err.splitlines() if "error: every node has the same embedding" in line]) == 1, err
    assert "warning:" not in err and "Traceback" not in err, err
    y = np.repeat([0, 1, 2], 10)
    with pytest.raises(gv.InputError, match="NaN or inf"):
        node_tasks.cluster(np.full((30, 4), np.nan), 3)
    with pytest.raises(gv.InputError, match="NaN or inf"):
        node_tasks.probe_scores(np.full((30, 4), np.nan), y, np.arange(20), np.arange(20, 30))
    with pytest.raises(gv.InputError, match="10 cluster labels for 30"):
        node_tasks.cluster_scores(y, np.zeros(10, dtype=int))
    z = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    assert node_tasks.check_embeddings(z).dtype == np.float32  # the probe's numbers keep their precision


def test_hidden_edges_on_images_is_refused(capsys):
    # hiding edges of a graph that has none was accepted and silently did nothing
    assert main(["ae", "--dataset", "digits", "--hidden-edges", "0.5", "--epochs", "1", "--no-progress"]) == 2
    one_error(capsys, "--hidden-edges hides graph edges")


def test_default_latent_is_narrowed_to_a_small_graph_and_said(tmp_path, monkeypatch, capsys):
    """The 128-dimensional default models on the 34-node karate club used to stop with "the latent dimension (128)
    exceeds the number of nodes (34)" unless the user found --latent; a default is now fitted to the graph (with a
    note), while an explicit --latent above the node count is still refused."""
    import networkx as nx

    from graphvae.estimators.node_embeddings import DEFAULT_MODEL, embedding_latent

    assert embedding_latent(DEFAULT_MODEL) == 128 and embedding_latent("maskgae-cat") == 64
    assert embedding_latent("gae") == 16 and embedding_latent(DEFAULT_MODEL, latent=8) == 8
    monkeypatch.chdir(tmp_path)
    with open("karate.csv", "w") as f:
        f.writelines(f"{u},{v}\n" for u, v in nx.karate_club_graph().edges())
    fast = ["--edges", "karate.csv", "--epochs", "2", "--no-progress"]
    assert main(["embed", "--model", "gnae-wd", "--out", "z.npy", *fast]) == 0
    assert np.load("z.npy").shape == (34, 34)
    assert main(["cluster", "--clusters", "2", *fast]) == 0
    assert main(["linkpred", "--model", "best", *fast]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 3 and all("(128) exceeds the 34 nodes: training with at most 34" in n for n in notes), notes
    assert main(["embed", "--model", "gnae-wd", "--latent", "64", "--out", "z.npy", *fast]) == 2
    one_error(capsys, "the latent dimension (64) exceeds the number of nodes (34)")
    assert main(["embed", "--model", "gae", "--out", "z.npy", *fast]) == 0  # 16 dimensions: nothing to narrow
    assert "note:" not in capsys.readouterr().err and np.load("z.npy").shape == (34, 16)


def test_edge_list_reader_keeps_every_id_as_written(tmp_path):
    # a byte-order mark split node 0 in two; a TSV id with a comma was cut at the comma; int() merged "01" with
    # "1" (and wrote "007" back as 7); an id beyond int64 ended in an OverflowError traceback
    cases = {
        "bom.csv": ("\ufeff5,3\n3,1\n1,0\n0,2\n2,4\n", [0, 1, 2, 3, 4, 5], 5),
        "comma.tsv": ("Washington, DC\tBoston\nBoston\tAustin\nAustin\tWashington, DC\n",
                      ["Washington, DC", "Boston", "Austin"], 3),
        "zeros.csv": ("01,2\n1,3\n2,3\n007,3\n", ["01", "2", "1", "3", "007"], 4),
        "big.csv": ("18446744073709551615,1\n1,2\n2,18446744073709551615\n", ["18446744073709551615", "1", "2"], 3),
    }
    for name, (text, ids, edges) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        graph = gv.load_graph(path)
        assert graph.node_ids == ids and graph.num_edges == edges, name


def test_weights_the_float32_operator_cannot_hold_are_refused(tmp_path):
    import scipy.sparse as sp

    (tmp_path / "w.csv").write_text("0,1,1e39\n1,2,1\n2,3,1\n3,0,1\n")  # became inf in Â: zero embeddings, exit 0
    with pytest.raises(gv.InputError, match=r"at most 3.4e\+38 \(float32\), got 1e\+39"):
        gv.load_graph(tmp_path / "w.csv")
    sp.save_npz(tmp_path / "c.npz", sp.csr_matrix(np.array([[0, 1 + 2j], [1 + 2j, 0]])))  # imaginary part dropped
    with pytest.raises(gv.InputError, match="real numbers"):
        gv.load_graph(tmp_path / "c.npz")


def test_an_output_path_that_is_an_input_is_refused(edges, capsys):
    import shutil

    shutil.copy(edges, "copy.csv")
    for command in (["embed", "--out", "./copy.csv"], ["linkpred", "--json", "copy.csv"]):
        assert main([*command, "--edges", "copy.csv", *FAST]) == 2  # the edge list was overwritten, exit 0
        one_error(capsys, "is the --edges input file")
    assert open("copy.csv").read() == open(edges).read()


def test_bools_and_huge_seeds_are_refused():
    import networkx as nx

    g = nx.karate_club_graph()
    for options in ({"epochs": True}, {"latent": True}, {"lr": True}, {"hidden": [4.7]}, {"random_state": 2**64}):
        with pytest.raises(gv.InputError):  # trained with 1 epoch / 1 dimension / width 4, or torch's overflow error
            gv.GAE(**options).fit(g)
    for args in (["--first-seed", str(2**64)], ["--seeds", str(10**20)]):
        with pytest.raises(SystemExit) as exit_:
            main(["linkpred", "--edges", "x.csv", *args])
        assert exit_.value.code == 2


def test_node_tasks_refuse_what_would_score_nonsense(tmp_path):
    from graphvae.data.graph_files import read_labels
    from graphvae.evaluation.node_tasks import cluster, cluster_scores, encode_labels, label_splits, probe_scores

    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    with pytest.raises(gv.InputError, match="same embedding"):  # classify reported chance accuracy, exit 0
        probe_scores(np.ones((40, 3)), y, np.arange(0, 40, 2), np.arange(1, 40, 2))
    for C in (0.0, -1.0):
        with pytest.raises(gv.InputError, match="C must be"):
            probe_scores(z, y, np.arange(0, 40, 2), np.arange(1, 40, 2), C=C)
    with pytest.raises(gv.InputError, match="at least 2 classes"):
        probe_scores(z, y, np.arange(20), np.arange(20, 40))
    labelled, codes, classes = encode_labels([1.0, np.nan, 2.0, None])  # NaN was a class of its own
    assert labelled.tolist() == [0, 2] and classes == ["1.0", "2.0"]
    # a class of 2 in 200 nodes at test fraction 0.9: no training node of it (a traceback, or scored but never trained)
    imbalanced = np.array([0] * 188 + [1] * 10 + [2] * 2)
    with pytest.raises(gv.InputError, match="without training nodes"):
        label_splits(imbalanced, test_size=0.9)
    with pytest.raises(gv.InputError, match="too few"):  # 0.95 * 34 = 32.3: scikit-learn takes 33 test nodes
        label_splits(np.repeat([0, 1], 17), test_size=0.95)
    for folds in (0, 1, 2.5):
        with pytest.raises(gv.InputError, match="folds"):
            label_splits(y, folds=folds)
    with pytest.raises(gv.InputError, match="only 2 distinct values"):  # empty clusters and sklearn warning spam
        cluster(np.repeat([[0.0, 1.0], [1.0, 0.0]], 10, axis=0), 3)
    for k in (2.7, "abc"):
        with pytest.raises(gv.InputError, match="clusters"):
            cluster(z, k)
    with pytest.raises(gv.InputError, match="restarts"):
        cluster(z, 2, n_init=2.5)
    with pytest.raises(gv.InputError):
        cluster_scores([], [])
    ids = [f"n{i}" for i in range(4)]
    (tmp_path / "nan.csv").write_text("n0,a\nn1,nan\nn2,b\n")
    with pytest.raises(gv.InputError, match="missing value"):
        read_labels(tmp_path / "nan.csv", ids)
    (tmp_path / "header.csv").write_text("\ufeffvertex,community\nn0,a\nn1,b\n")  # BOM and an unlisted header word
    assert read_labels(tmp_path / "header.csv", ids).tolist() == ["a", "b", None, None]
    (tmp_path / "typo.csv").write_text("nX,a\nn1,a\nn2,b\n")  # a mistyped id is still an error, not a header
    with pytest.raises(gv.InputError, match="'nX' is not in the graph"):
        read_labels(tmp_path / "typo.csv", ids)


def test_gml_labels_and_feature_ranges_are_not_silently_replaced(tmp_path, capsys):
    gml = 'graph [\n node [ id 10 label "alice" ]\n node [ id 11 {} ]\n node [ id 12 label "bob" ]\n' \
          ' edge [ source 10 target 11 ]\n edge [ source 11 target 12 ]\n]\n'
    (tmp_path / "partial.gml").write_text(gml.format(""))  # every node was renamed by its GML id, silently
    with pytest.raises(gv.InputError, match="GML id 11 has no label"):
        gv.load_graph(tmp_path / "partial.gml")
    (tmp_path / "repeated.gml").write_text(gml.format('label "alice"'))  # two nodes "alice": the same fallback
    with pytest.raises(gv.InputError, match="two nodes have the label 'alice'"):
        gv.load_graph(tmp_path / "repeated.gml")
    (tmp_path / "labelled.gml").write_text(gml.format('label "carol"'))
    assert gv.load_graph(tmp_path / "labelled.gml").node_ids == ["alice", "carol", "bob"]
    (tmp_path / "ids.gml").write_text(gml.replace(' label "alice"', "").replace(' label "bob"', "").format(""))
    assert gv.load_graph(tmp_path / "ids.gml").node_ids == ["10", "11", "12"]  # no labels at all: the ids
    (tmp_path / "e.csv").write_text(ring(34))
    np.save(tmp_path / "big.npy", np.full((34, 2), 1e300))  # float32 inf: "contain NaN or inf" and numpy warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(gv.InputError, match="exceed float32's range"):
            gv.load_graph(tmp_path / "e.csv", tmp_path / "big.npy")


def test_a_skipped_header_line_is_said(tmp_path, capsys):
    (tmp_path / "uv.txt").write_text("u v\nv w\nw x\nx u\n")  # 'u v' is read as a header: one edge fewer
    assert main(["embed", "--edges", str(tmp_path / "uv.txt"), "--out", str(tmp_path / "z.npy"), *FAST]) == 0
    assert "skipped the header line 'u v' (--no-header reads it as an edge)" in capsys.readouterr().err


def test_embed_refuses_ignored_labels_and_emb_ids_before_training(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("a b,c\nc,d\nd,a b\n" * 1)
    (tmp_path / "y.csv").write_text("c,1\nd,2\n")
    out = ["--edges", str(tmp_path / "e.csv"), *FAST[:2], "--latent", "2", "--no-progress"]
    assert main(["embed", *out, "--out", str(tmp_path / "z.emb")]) == 2  # was refused only after training
    one_error(capsys, "needs node ids without whitespace, got 'a b'")
    assert main(["embed", *out, "--out", str(tmp_path / "z.npy"), "--labels", str(tmp_path / "y.csv")]) == 2
    one_error(capsys, "--labels colours the --plot map")  # was silently ignored


def test_image_commands_guard_their_inputs_and_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    labels = {"y_train": rng.integers(0, 10, 120), "y_test": rng.integers(0, 10, 30)}
    np.savez("mnist.npz", x_train=rng.integers(0, 256, (120, 28, 28)).astype(np.uint8),
             x_test=rng.integers(0, 256, (30, 28, 28)).astype(np.uint8), **labels)
    data = open("mnist.npz", "rb").read()
    fast = ["--epochs", "1", "--iwae-k", "2", "--no-progress"]
    for command in (["vae", *fast], ["ae", "--epochs", "1", "--no-progress"]):  # the data file became the JSON
        assert main([*command, "--mnist", "mnist.npz", "--json", "./mnist.npz"]) == 2
        one_error(capsys, "is the --mnist input file")
    assert open("mnist.npz", "rb").read() == data
    assert main(["vae", *fast, "--plot", "figs", "--json", "figs"]) == 2  # the JSON lost after the whole run
    one_error(capsys, "figures folder")
    for name, x, message in (("nan.npz", np.full((120, 28, 28), np.nan), "NaN or inf"),  # trained on zeros
                             ("neg.npz", -np.ones((120, 28, 28)), "0..255"),
                             ("u16.npz", np.full((120, 28, 28), 60000, dtype=np.uint16), "0..255"),  # almost all 1
                             ("empty.npz", np.zeros((0, 28, 28)), "empty")):  # a reshape traceback
        np.savez(name, x_train=x, x_test=np.zeros((30, 28, 28)), y_train=labels["y_train"][:len(x)],
                 y_test=labels["y_test"])
        assert main(["vae", *fast, "--mnist", name]) == 2
        one_error(capsys, message)
    assert main(["vae", *fast, "--test-size", "0.995"]) == 2  # scikit-learn's traceback
    one_error(capsys, "cannot split the 1797 digits")
    assert main(["vae", *fast, "--lr", "1e8", "--json", "lr.json"]) == 2  # "-inf ± nan", exit 0, -Infinity in JSON
    one_error(capsys, "training diverged: the loss became NaN or inf at epoch 0")  # (was: "the test elbo is -inf")
    assert not (tmp_path / "lr.json").exists()
    assert main(["vae", *fast, "--latent", "1", "--plot", "p1"]) == 0  # the latent grid failed after training
    assert not (tmp_path / "p1" / "latent_grid.png").exists() and (tmp_path / "p1" / "latent_map.png").exists()


def test_download_settings_and_sums_files_are_checked(tmp_path, monkeypatch):
    from graphvae.data.datasets import download_timeout, load_dataset

    for bad in ("abc", "0", "-1", "inf"):
        monkeypatch.setenv("GRAPHVAE_DOWNLOAD_TIMEOUT", bad)  # tracebacks from float() and urllib3
        with pytest.raises(gv.InputError, match="GRAPHVAE_DOWNLOAD_TIMEOUT"):
            download_timeout()
    monkeypatch.delenv("GRAPHVAE_DOWNLOAD_TIMEOUT")
    import os
    import shutil

    from graphvae.data.datasets import dataset_folder

    folder = tmp_path / "planetoid" / "Cora" / "raw"
    shutil.copytree(dataset_folder("cora", os.environ.get("GRAPHVAE_DATA"), download=False), folder)
    (folder / "SHA256SUMS").write_text("not a sums file\n")  # "too many values to unpack"
    with pytest.raises(gv.InputError, match="SHA256SUMS, line 1"):
        load_dataset("cora", root=tmp_path)


def test_narrowing_caps_each_component_of_a_composed_model_only_where_it_exceeds(tmp_path):
    # on 100 nodes the composed default's 128-d part is narrowed to 100, and its 64-d maskgae-cat part stays 64
    # (a --latent 100 override widened it)
    import networkx as nx

    from graphvae.estimators.node_embeddings import DEFAULT_MODEL, fit_embeddings

    graph = gv.as_graph(nx.planted_partition_graph(4, 25, 0.3, 0.02, seed=0))
    z, composed = fit_embeddings(graph, DEFAULT_MODEL, epochs=1, max_latent=100)
    assert [m.latent for m in composed.models] == [100, 64]
    assert z.shape == (100, 100 + 128 + 64)  # Â μ (100) and [H₁ (128), μ (64)]; no feature block without features


def test_fourth_audit_inputs(tmp_path, monkeypatch, capsys):
    from graphvae.data.graph_files import read_labels

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tri.csv").write_text("a,b\nb,c\nc,a\n")  # every node the same embedding: t-SNE crashed the process
    with warnings.catch_warnings():
        warnings.simplefilter("default", gv.CollapseWarning)  # shown, not raised (as outside the test suite)
        assert main(["embed", "--edges", "tri.csv", "--out", "z.npy", "--plot", "figs", "--epochs", "5",
                     "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "no map drawn" in err and not (tmp_path / "figs" / "embedding_map.png").exists()
    assert "graphvae embed: warning: every one of the 3 nodes got the same embedding" in err
    (tmp_path / "spaces.txt").write_text("0 New York\n1 New Jersey\n2 Boston\n")  # read as 'New', 'New', 'Boston'
    with pytest.raises(gv.InputError, match="fields separated by spaces"):
        read_labels(tmp_path / "spaces.txt", [0, 1, 2])
    (tmp_path / "comma.csv").write_text("0,Smith, John\n1,Doe\n")  # read as 'Smith'
    with pytest.raises(gv.InputError, match="2 fields where line 1 has 3"):
        read_labels(tmp_path / "comma.csv", [0, 1])
    (tmp_path / "semi.csv").write_text("0;1;0,5\n1;2;1,5\n2;0;2,5\n")  # a graph of ids like '0;1;0' and '5'
    with pytest.raises(gv.InputError, match="every line holds ';'"):
        gv.load_graph(tmp_path / "semi.csv")
    (tmp_path / "e.csv").write_text(ring())
    assert main(["cluster", "--edges", "e.csv", "--clusters", "2", "--out", "c.csv", "--json", "c.csv", *FAST]) == 2
    one_error(capsys, "--out and --json are the same file")  # the clusters were replaced by the JSON


def test_fifth_audit_inputs(edges, tmp_path, capsys):
    """Found by the audit of 2026-12-05: each was a traceback, a crash or a silent wrong answer."""
    import networkx as nx

    from graphvae.data.graph_files import read_labels
    from graphvae.evaluation.node_tasks import cluster

    for command in (["linkpred", "--edges", edges], ["vae"], ["ae"]):  # 100000 OpenMP threads: a segfault (rc 139)
        with pytest.raises(SystemExit) as exit_:
            main([*command, "--threads", "100000", *FAST])
        assert exit_.value.code == 2
        one_error(capsys, "at most 1024")
    (tmp_path / "empty.npy").write_bytes(b"")  # numpy's EOFError came through as a traceback
    assert main(["embed", "--edges", edges, "--features", "empty.npy", "--out", "z.npy", *FAST]) == 2
    one_error(capsys, "not a readable .npy array")
    np.save(tmp_path / "dense.npy", np.eye(30))  # "cannot decode as UTF-8" only: now also what the file is
    assert main(["linkpred", "--edges", "dense.npy", *FAST]) == 2
    assert "it is a numpy .npy array" in one_error(capsys, ".npz (scipy.sparse.save_npz")
    assert main(["linkpred", "--edges", "", *FAST]) == 2  # "not a regular file: ." (the current folder)
    one_error(capsys, "the path is empty")
    with pytest.raises(gv.InputTypeError, match="header must be True, False or None"):  # "no" is truthy: an edge lost
        gv.load_graph(tmp_path / edges, header="no")
    for obj in (None, [(0, 1), (1, 2)], np.eye(3)):  # a plain TypeError, not an InputError
        with pytest.raises(gv.InputTypeError, match="cannot make a graph"):
            gv.as_graph(obj)
    model = gv.GAE(epochs=2, latent=4).fit(nx.karate_club_graph())
    with pytest.raises(gv.InputError, match="read both ways"):  # scored (0, 2) and (1, 3)
        model.predict_proba([[0, 1], [2, 3]])
    with pytest.raises(gv.InputError, match="pass its transpose"):
        model.predict_proba(np.array([[0, 1], [2, 3], [4, 5]]))
    assert model.predict_proba([[0, 2, 4], [1, 3, 5]]).shape == (3,)
    with pytest.raises(gv.InputError, match="must be an integer"):  # "between 2 and 20, got 2.0"
        cluster(np.random.default_rng(0).normal(size=(20, 3)), 2.0)
    ids = [0, 1, 2]
    (tmp_path / "scored.csv").write_text("node_id,score,club\n0,0.5,a\n1,0.2,b\n")  # the score was read as the label
    with pytest.raises(gv.InputError, match="3 columns"):
        read_labels(tmp_path / "scored.csv", ids)
    (tmp_path / "clusters.csv").write_text("node_id,cluster,r0,r1\n0,1,0.1,0.9\n1,0,0.8,0.2\n")  # cluster --out
    assert read_labels(tmp_path / "clusters.csv", ids).tolist() == ["1", "0", None]
    for text, fragment in (("source,target\n0,1\n1,2\n0,3\n", "on more than one row"), ("", "no embeddings")):
        (tmp_path / "emb.csv").write_text(text)  # an edge list, an empty file: read as embeddings
        with pytest.raises(gv.InputError, match=fragment):
            gv.load_embeddings(tmp_path / "emb.csv")
    (tmp_path / "afile").write_text("x")
    assert main(["vae", "--cache-dir", "afile", "--iwae-k", "2", *FAST]) == 2  # a two-line warning after training
    one_error(capsys, "--cache-dir folder afile")


def test_atomic_write_names_the_users_file_not_the_temporary(tmp_path):
    from graphvae.files import atomic_write

    def refuse(tmp):
        raise PermissionError(13, "Permission denied", str(tmp))

    with pytest.raises(PermissionError) as error:
        atomic_write(tmp_path / "z.npy", refuse)
    assert error.value.filename == str(tmp_path / "z.npy") and "tmp-" not in str(error.value)

    def disk_full(tmp):  # f.write on a full disk: an OSError without a file name ("[Errno 28] No space left on device")
        with open(tmp, "wb"):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as error:
        atomic_write(tmp_path / "z.csv", disk_full)
    assert error.value.filename == str(tmp_path / "z.csv") and not list(tmp_path.glob(".z.csv.tmp-*"))


def test_input_errors_found_on_loading_are_the_only_line(tmp_path, monkeypatch, capsys):
    """A graph summary or a note printed before the error made two or three lines (the audit of 2026-12-05)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loops.csv").write_text("1,1\n2,2\n3,3\n")
    (tmp_path / "e.csv").write_text(ring())
    (tmp_path / "five.csv").write_text("a,b\nb,c\nc,d\nd,a\na,c\n")  # too few to split; 16 latent > 4 nodes: a note
    for command, fragment in ((["linkpred", "--edges", "loops.csv"], "3 self-loops were dropped"),
                              (["linkpred", "--edges", "five.csv"], "too few to split"),
                              (["embed", "--edges", "loops.csv", "--out", "z.npy"], "no edges"),
                              (["classify", "--edges", "e.csv"], "classify needs labels"),
                              (["cluster", "--edges", "e.csv"], "--clusters K is required")):
        assert main([*command, "--no-progress"]) == 2
        one_error(capsys, fragment, only=True)


def test_input_errors_found_after_the_graph_is_loaded_are_the_only_line(tmp_path, monkeypatch, capsys):
    """The graph's summary and the narrowed-latent note are held until the inputs are checked: a labels file with an
    id not in the graph, or --clusters above the node count, was the third line after them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text(ring())  # 30 nodes: the 128-d default models get the narrowed-latent note
    (tmp_path / "y.csv").write_text("n1,b\nzz,a\n")  # (a first line of unknown id would read as a header)
    for command, fragment in ((["classify", "--edges", "e.csv", "--labels", "y.csv"], "'zz' is not in the graph"),
                              (["cluster", "--edges", "e.csv", "--labels", "y.csv"], "'zz' is not in the graph"),
                              (["cluster", "--edges", "e.csv", "--clusters", "31"], "31"),
                              (["embed", "--edges", "e.csv", "--labels", "y.csv", "--plot", "figs", "--out", "z.npy"],
                               "'zz' is not in the graph")):
        assert main([*command, "--no-progress"]) == 2
        one_error(capsys, fragment, only=True)
    # a command that goes on prints the held lines before it trains, in their order, once
    assert main(["linkpred", "--edges", "e.csv", "--model", "gnae", "--epochs", "1", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("graph: 30 nodes, 30 undirected edges"), err
    assert "latent dimension (128) exceeds the 30 nodes" in err[1], err
    assert sum(line.startswith("graph: ") for line in err) == 1, err
    assert main(["embed", "--edges", "e.csv", "--model", "gae", "--epochs", "1", "--out", "z.npy", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("graph: 30 nodes") and "wrote 30 x 16 embeddings" in err[1], err


def test_held_notes_never_outlive_their_command(monkeypatch, capsys):
    """A command stopped by anything (here a KeyboardInterrupt after the graph's summary was held) leaves nothing
    held for the next command of the same process to print."""
    from graphvae.cli import _common, linkpred

    def interrupted(args):
        _common.hold_note("graph: a summary of the interrupted command")
        raise KeyboardInterrupt

    monkeypatch.setattr(linkpred, "run", interrupted)
    assert main(["linkpred", "--dataset", "cora", "--no-progress"]) == 130
    monkeypatch.undo()
    assert "summary of the interrupted" not in capsys.readouterr().err and _common._held_notes == []


def test_finite_divergence_is_a_warning_in_the_api_and_one_line_in_the_cli(capsys):
    # lr 1e6 on the image VAE: every parameter stays finite but the test ELBO ends near -1e30 nats per image; it used
    # to be reported as a result, with no word that training had diverged
    from sklearn.datasets import load_digits

    x = load_digits().data[:200] / 16.0
    with pytest.warns(gv.DivergenceWarning, match=r"loss rose from \S+ before the first step to \S+e\+\d+ at epoch 1; "
                                                  r"try a smaller learning rate than 1e\+06"):
        model = gv.ImageVAE(epochs=2, lr=1e6, random_state=0).fit(x)
    start, end = model.history_[0]["initial_loss"], model.history_[-1]["loss"]
    assert np.isfinite(end) and end > 1e6 * start  # the condition the warning is about
    with warnings.catch_warnings():
        warnings.simplefilter("error", gv.DivergenceWarning)
        gv.ImageVAE(epochs=2, random_state=0).fit(x)  # a healthy fit does not warn
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("default", gv.DivergenceWarning)  # shown, not raised (as outside the test suite)
        assert main(["vae", "--lr", "1e6", "--epochs", "2", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    warned = [line for line in err if "warning" in line.lower()]
    assert len(warned) == 1 and warned[0].startswith("graphvae vae: warning: training diverged: the loss rose"), err
    assert not [line for line in err if "DivergenceWarning" in line or "warnings.warn" in line], err


def test_the_kept_epoch_decides_the_divergence_warning():
    # a model selected on validation keeps its best epoch: a loss that rises after it does not make the kept model
    # diverged, and the warning compares the kept epoch's loss with the start
    import networkx as nx

    model = gv.GAE(epochs=3, latent=4, random_state=0).fit(nx.karate_club_graph())
    start = model.history_[0]["initial_loss"]
    model.history_[-1]["loss"] = start + 100 * max(abs(start), 1.0)
    with pytest.warns(gv.DivergenceWarning, match="at epoch 2"):
        model._warn_if_the_loss_rose()
    model.best_epoch_ = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", gv.DivergenceWarning)
        model._warn_if_the_loss_rose()
