"""Audit of the link-prediction workflow (``graphvae linkpred``, the zoo, ``fit_seeds``): test edges play no part
in training or selection, the reported numbers are scikit-learn's on the model's scores, seeds K..K+N-1, the
figure and the JSON agree with the table, bad inputs are one line."""
from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch
from conftest import one_error
from sklearn.metrics import average_precision_score, roc_auc_score

import graphvae as gv
import graphvae.data.split as split_module
import graphvae.objectives.elbo as elbo_module
from graphvae.cli.main import main
from graphvae.estimators.batched import fit_seeds
from graphvae.estimators.zoo import NAMES, make_model, model_config
from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget


@pytest.fixture(scope="module")
def graph():
    return gv.degree_corrected_sbm(150, edges_per_node=4, num_blocks=3, num_features=8, seed=3)


def _other_test_pairs(split, seed: int = 5):
    """``split`` with other test positives and negatives (other pairs, other counts); training and validation kept."""
    rng, n = np.random.default_rng(seed), split.num_nodes

    def pairs(k):
        u, v = rng.integers(0, n - 1, k), rng.integers(0, n - 1, k)
        return torch.from_numpy(np.stack([np.minimum(u, v), np.maximum(u, v) + 1]))

    return dataclasses.replace(split, test_pos=pairs(split.test_pos.shape[1] + 3),
                               test_neg=pairs(split.test_neg.shape[1] + 5))


def _trajectory(model, split) -> bytes:
    """Everything training and selection produced, NaN-safe for comparison: per-epoch losses and ELBO terms,
    validation AUCs, the selected epoch(s), the embeddings and the validation scores."""
    keys = ("loss", "elbo", "log_likelihood", "kl", "penalty", "val_auc")
    return pickle.dumps(([[entry.get(k) for k in keys] for entry in model.history_],
                         getattr(model, "best_epoch_", None), getattr(model, "best_val_auc_", None),
                         getattr(model, "snapshot_epochs_", None), model.embed().tobytes(),
                         model.score(split.val_pos, split.val_neg)))


# --------------------------------------------------------------------------- test edges never reach training

@pytest.mark.parametrize("name", NAMES)
def test_test_edges_never_influence_training_or_selection(graph, name):
    split = gv.split_edges(graph, seed=0)
    other = _other_test_pairs(split)
    kw = dict(epochs=12, random_state=1)
    if model_config(name).get("early_stopping"):
        kw["patience"] = 3
    if model_config(name).get("snapshots", 1) > 1:
        kw["snapshots"] = 4
    a, b = make_model(name, **kw).fit(split), make_model(name, **kw).fit(other)
    assert _trajectory(a, split) == _trajectory(b, split)
    # and the test pairs did change what is reported (the replacement reached the scoring)
    assert a.score(split.test_pos, split.test_neg) != b.score(other.test_pos, other.test_neg)


@pytest.mark.parametrize("name", ["gae", "vgae", "gnae-wd"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_batched_seeds_never_see_test_edges(graph, name, early_stopping):
    splits = [gv.split_edges(graph, seed=s) for s in (0, 1)]
    template = make_model(name, epochs=12, early_stopping=early_stopping, patience=3)
    a = fit_seeds(template, splits, [0, 1])
    b = fit_seeds(template, [_other_test_pairs(s, seed=7 + i) for i, s in enumerate(splits)], [0, 1])
    assert len(a) == len(b) == 2
    for x, y, split in zip(a, b, splits):
        assert _trajectory(x, split) == _trajectory(y, split)


def test_cli_selection_ignores_test_edges(graph, tmp_path, monkeypatch):
    """The command's own splits with the test pairs replaced: every selected epoch and validation AUC is the same
    (batched early stopping of the paper's GAE, and a zoo model one seed at a time)."""
    edges = tmp_path / "e.csv"
    e = graph.edge_index.numpy()
    edges.write_text("".join(f"{u},{v}\n" for u, v in e.T if u < v))
    original = split_module.split_edges

    def run(tag, change):
        if change:
            monkeypatch.setattr(split_module, "split_edges", lambda g, **kw: _other_test_pairs(original(g, **kw)))
        results = {}
        for model, extra in (("gae", ["--early-stopping", "--patience", "3", "--seeds", "2"]),
                             ("maskgae", ["--patience", "3"])):
            out = tmp_path / f"{tag}-{model}.json"
            assert main(["linkpred", "--edges", str(edges), "--model", model, "--epochs", "10", "--workers", "1",
                         "--no-progress", "--json", str(out), *extra]) == 0
            results[model] = json.loads(out.read_text())["seeds"]
        monkeypatch.setattr(split_module, "split_edges", original)
        return results

    plain, changed = run("plain", False), run("changed", True)
    for model in plain:
        for p, c in zip(plain[model], changed[model]):
            assert (p["seed"], p["best_epoch"], p["val_auc"]) == (c["seed"], c["best_epoch"], c["val_auc"])
        assert [p["auc"] for p in plain[model]] != [c["auc"] for c in changed[model]]


def test_training_targets_hold_the_training_edges_only(graph, monkeypatch):
    """Every model's likelihood target (plain, masked, MLP decoder, adversarial, batched) has as positives exactly
    the training pairs and the diagonal: no validation or test edge is a positive, nor excluded from the non-edges
    (the paper's protocol: held-out pairs are non-edges in training; leaving them out of the non-edge sum would tell
    the model where they are)."""
    split = gv.split_edges(graph, seed=0)
    n = split.num_nodes
    train = split.train_edge_index.numpy()
    expected = np.sort(np.r_[train[0] * n + train[1], np.arange(n) * (n + 1)])
    held_out = torch.cat([split.val_pos, split.test_pos], dim=1).numpy()
    held_keys = np.r_[held_out[0] * n + held_out[1], held_out[1] * n + held_out[0]]
    seen = []
    forward = elbo_module.ELBO.forward

    def spy(self, inp, target, generator=None):
        seen.append(target)
        return forward(self, inp, target, generator)

    monkeypatch.setattr(elbo_module.ELBO, "forward", spy)
    for name in ("vgae", "masked-gnae", "maskgae", "argva"):
        make_model(name, epochs=2, early_stopping=False).fit(split)
    fit_seeds(make_model("gae", epochs=2), [split, split], [0, 1])
    assert len(seen) == 10
    for target in seen:
        base = getattr(target, "base", target)  # a masked view's base: the pairs left out of the non-edge sum
        keys = base.keys.numpy()
        rows, cols = keys // base.num_nodes, keys % base.num_nodes
        assert np.array_equal(rows // n, cols // n)  # a union's pairs stay inside their component (seed)
        for c in range(base.components):  # each component on its own node range c n .. (c + 1) n - 1
            inside = rows // n == c
            local = np.sort((rows[inside] - c * n) * n + cols[inside] - c * n)
            assert np.array_equal(local, expected)
            assert not np.isin(held_keys, local).any()
    # the sampled non-edges: every sampled pair but the training pairs (and the diagonal) counts, held-out ones too
    target = LinkTarget.from_edges(split.train_edge_index, n)
    pairs, keep = LinkLikelihood(4.0).sample_pairs(target, torch.Generator().manual_seed(0))
    rows, cols = pairs.rows().long().numpy(), pairs.col.long().numpy()
    assert np.array_equal(keep.numpy(), ~np.isin(rows * n + cols, expected))
    sampled_held_out = np.isin(rows * n + cols, held_keys)
    assert sampled_held_out.any() and keep.numpy()[sampled_held_out].all()


# --------------------------------------------------------------------------- the reported numbers

def _edge_file(graph, path):
    e = graph.edge_index.numpy()
    path.write_text("".join(f"{u},{v}\n" for u, v in e.T if u < v))
    return str(path)


def test_cli_auc_ap_are_sklearns_on_the_models_scores_and_std_is_population(graph, tmp_path, capsys):
    edges = _edge_file(graph, tmp_path / "e.csv")
    loaded = gv.load_graph(edges)  # what the command reads
    for model, seeds in (("vgae", 3), ("best", 1)):
        out = tmp_path / f"{model}.json"
        assert main(["linkpred", "--edges", edges, "--model", model, "--epochs", "6", "--first-seed", "4", "--seeds",
                     str(seeds), "--sequential", "--workers", "1", "--no-progress", "--json", str(out)]) == 0
        result = json.loads(out.read_text())
        assert [r["seed"] for r in result["seeds"]] == list(range(4, 4 + seeds))
        for row in result["seeds"]:
            split = gv.split_edges(loaded, seed=row["seed"])
            fitted = make_model(model, epochs=6, random_state=row["seed"]).fit(split)
            pairs = torch.cat([split.test_pos, split.test_neg], dim=1)
            truth = np.r_[np.ones(split.test_pos.shape[1]), np.zeros(split.test_neg.shape[1])]
            proba = fitted.predict_proba(pairs)
            assert row["auc"] == pytest.approx(roc_auc_score(truth, proba), abs=1e-12)
            assert row["ap"] == pytest.approx(average_precision_score(truth, proba), abs=1e-12)
        for key in ("auc", "ap"):
            values = [r[key] for r in result["seeds"]]
            assert result[key] == {"mean": pytest.approx(np.mean(values), abs=1e-15),
                                   "std": pytest.approx(np.std(values, ddof=0), abs=1e-15)}
        summary = capsys.readouterr().out.strip().splitlines()[-1]
        assert (f"AUC {result['auc']['mean']:.4f} ± {result['auc']['std']:.4f}  "
                f"AP {result['ap']['mean']:.4f} ± {result['ap']['std']:.4f}") in summary
    assert result["auc"]["std"] == 0.0  # one seed


def test_plot_curves_are_of_the_reported_scores(cora, tmp_path, monkeypatch):
    """``--plot``'s ROC/PR curves are drawn from the very probabilities that gave the reported AUC and AP: the
    figure's scores reproduce the row exactly. (They were the test pairs scored again as one array, whose
    probabilities differ in the last bit from the ones scored: Cora's seed 0 after 2 epochs.)"""
    import graphvae.evaluation.plots as plots

    captured = []
    monkeypatch.setattr(plots, "plot_link_curves", lambda truth, scores, path, title="": captured.append(
        (np.asarray(truth), np.asarray(scores))) or tmp_path / "link_curves.png")
    out = tmp_path / "r.json"
    assert main(["linkpred", "--dataset", "cora", "--model", "gae", "--epochs", "2", "--workers", "1",
                 "--no-progress", "--plot", str(tmp_path / "figs"), "--json", str(out)]) == 0
    (truth, scores), = captured
    row = json.loads(out.read_text())["seeds"][0]
    split = gv.split_edges(cora, seed=0)
    assert truth.tolist() == [1.0] * split.test_pos.shape[1] + [0.0] * split.test_neg.shape[1]
    fitted = make_model("gae", epochs=2, random_state=0).fit(split)
    pos, neg = fitted._pair_probabilities(split.test_pos, split.test_neg)
    assert fitted.score(split.test_pos, split.test_neg) == {"auc": row["auc"], "ap": row["ap"]}
    assert np.array_equal(scores, np.r_[pos, neg])  # bit for bit the scored probabilities
    assert roc_auc_score(truth, scores) == pytest.approx(row["auc"], abs=1e-12)
    assert average_precision_score(truth, scores) == pytest.approx(row["ap"], abs=1e-12)


def test_the_plot_is_written_and_the_json_has_the_documented_keys(graph, tmp_path):
    edges = _edge_file(graph, tmp_path / "e.csv")
    out, figs = tmp_path / "r.json", tmp_path / "figs"
    assert main(["linkpred", "--edges", edges, "--model", "gnae", "--epochs", "4", "--seeds", "2", "--workers", "1",
                 "--no-progress", "--plot", str(figs), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"dataset", "model", "seeds", "auc", "ap", "train_seconds", "total_seconds", "config",
            "seeds_trained_together", "workers", "threads"} <= set(result)
    assert set(result["seeds"][0]) == {"seed", "auc", "ap", "train_seconds", "best_epoch", "val_auc"}
    assert (figs / "link_curves.png").stat().st_size > 0


# --------------------------------------------------------------------------- seeds K..K+N-1

def test_each_seed_of_a_run_is_its_own_single_seed_run(graph, tmp_path):
    """``--first-seed K --seeds N`` runs K..K+N-1; one at a time (``--sequential``, in worker processes or not),
    seed k's numbers are bit for bit those of ``--seeds 1 --first-seed k``; batched (the default for the paper's
    models) they are the same models up to float rounding."""
    edges = _edge_file(graph, tmp_path / "e.csv")

    def run(tag, *extra):
        out = tmp_path / f"{tag}.json"
        assert main(["linkpred", "--edges", edges, "--model", "vgae", "--epochs", "30", "--no-progress",
                     "--json", str(out), *extra]) == 0
        result = json.loads(out.read_text())
        return {r["seed"]: (r["auc"], r["ap"]) for r in result["seeds"]}, result["seeds_trained_together"]

    single = {k: run(f"one-{k}", "--first-seed", str(k))[0][k] for k in (7, 8, 9)}
    for workers in ("1", "2"):
        rows, together = run(f"seq-{workers}", "--first-seed", "7", "--seeds", "3", "--sequential", "--workers", workers)
        assert rows == single and together == 1
    rows, together = run("batched", "--first-seed", "7", "--seeds", "3", "--workers", "1")
    assert together == 3 and list(rows) == [7, 8, 9]
    for k in rows:
        assert rows[k] == pytest.approx(single[k], abs=1e-3)


# --------------------------------------------------------------------------- the paper's models, bad inputs

@pytest.mark.parametrize("name, variational", [("gae", False), ("vgae", True)])
def test_paper_models_run_with_the_papers_settings(tmp_path, name, variational, monkeypatch):
    """--model gae|vgae: 200 epochs of Adam at lr 0.01, a 32-16 GCN without bias or dropout, the inner-product
    decoder, the last epoch kept (no validation-based selection), one sampled pair per positive."""
    import graphvae.estimators.models as models_module

    edges = _edge_file(gv.degree_corrected_sbm(60, edges_per_node=3, num_blocks=2, num_features=4, seed=1),
                       tmp_path / "e.csv")
    calls = []
    train = models_module.train_elbo

    def spy(objective, batches, epochs, lr, *args, **kwargs):
        history = train(objective, batches, epochs, lr, *args, **kwargs)
        calls.append((epochs, lr, args[2] if len(args) > 2 else kwargs.get("on_epoch"), len(history)))
        return history

    monkeypatch.setattr(models_module, "train_elbo", spy)
    out = tmp_path / "r.json"
    assert main(["linkpred", "--edges", edges, "--model", name, "--no-progress", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    config = result["config"]
    assert (config["epochs"], config["lr"], config["hidden"], config["latent"]) == (200, 0.01, 32, 16)
    assert (config["variational"], config["early_stopping"], config["bias"], config["encoder_dropout"],
            config["decoder"], config["negatives_per_positive"], config["weight_decay"]) == (
        variational, False, False, 0.0, "inner", 1.0, 0.0)
    assert calls == [(200, 0.01, None, 200)]  # every epoch trained, no validation callback
    assert set(result["seeds"][0]) == {"seed", "auc", "ap", "train_seconds"}  # no selected epoch


@pytest.mark.parametrize("argv, fragment", [
    (["--model", "nope"], "invalid choice: 'nope'"),
    (["--first-seed", "-1"], "--first-seed: must be a non-negative integer"),
    (["--first-seed", str(10**30)], "--first-seed: must be a non-negative integer"),
    (["--first-seed", str(2**63 - 1), "--seeds", "2"], "exceeds 2**63 - 1"),
    (["--plot", "{file}"], "is not a writable folder"),
    (["--plot", "{file}/figs"], "is not a writable folder"),
    (["--json", "{dir}"], "it is a folder"),
    (["--json", "{file}/r.json"], "is not a writable folder"),
])
def test_bad_inputs_are_one_line_and_exit_2(tmp_path, capsys, argv, fragment):
    (tmp_path / "a-file").write_text("keep me")
    argv = [a.format(file=tmp_path / "a-file", dir=tmp_path) for a in argv]
    edges = tmp_path / "e.csv"
    edges.write_text("".join(f"{i},{(i + 1) % 20}\n{i},{(i + 3) % 20}\n" for i in range(20)))
    try:
        code = main(["linkpred", "--edges", str(edges), "--epochs", "2", "--no-progress", *argv])
    except SystemExit as e:  # argparse's errors
        code = e.code
    assert code == 2
    one_error(capsys, fragment, only=True)
    assert (tmp_path / "a-file").read_text() == "keep me"


def test_a_failed_run_leaves_an_earlier_json_as_it_was(tmp_path, capsys):
    edges = tmp_path / "e.csv"
    edges.write_text("".join(f"{i},{(i + 1) % 20}\n" for i in range(20)))
    out = tmp_path / "r.json"
    out.write_text('{"earlier": true}\n')
    assert main(["linkpred", "--edges", str(edges), "--latent", "64", "--no-progress", "--json", str(out)]) == 2
    one_error(capsys, "latent dimension (64) exceeds the number of nodes (20)", only=True)
    assert out.read_text() == '{"earlier": true}\n'
