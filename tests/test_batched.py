import os

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import graphvae as gv
from graphvae.estimators.batched import fit_seeds, seeds_per_batch, union_input
from graphvae.nn.encoder import GCNEncoder, encoder_input
from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
from graphvae.nn.operator import adjacency_matrix, normalized_adjacency
from conftest import random_graph


@pytest.mark.parametrize("control_variate", [True, False])
def test_union_likelihood_is_the_sum_of_the_components_with_their_own_draws(control_variate):
    n, graphs = 30, [random_graph(30, p, seed=s) for s, p in ((0, 0.1), (1, 0.2), (2, 0.05))]
    adjacencies = [adjacency_matrix(ei, n) for ei in graphs]
    union = LinkTarget.disjoint_union(adjacencies)
    z = torch.randn(3 * n, 4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError):  # different densities: different numbers of sampled pairs per node
        LinkLikelihood(1.5).check_union(union)
    lik = LinkLikelihood(0.2, control_variate=control_variate)  # k = 2 pairs per node in every component
    lik.check_union(union)
    total = lik(z, union, [torch.Generator().manual_seed(s) for s in (5, 6, 7)])
    total.backward()
    parts, grads = [], []
    for c, (a, s) in enumerate(zip(adjacencies, (5, 6, 7))):
        zc = z.detach()[c * n:(c + 1) * n].clone().requires_grad_(True)
        value = lik(zc, LinkTarget.from_edges(a, n), torch.Generator().manual_seed(s))
        value.backward()
        parts.append(value.detach())
        grads.append(zc.grad)
    assert lik.scale(union) == n ** 2
    assert torch.allclose(total.detach(), sum(parts), rtol=1e-10)
    assert torch.allclose(z.grad, torch.cat(grads), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("table", [True, False])
def test_union_sampled_pairs_and_their_membership_match_the_components(table, monkeypatch):
    """Each component of a union draws the pairs it draws alone, and which of them are positives comes out exactly
    (brute force on the dense block-diagonal target) from the table of each component's pairs or the hashed filter."""
    import graphvae.objectives.likelihood as likelihood
    if not table:
        monkeypatch.setattr(likelihood, "_DIRECT_TABLE_MAX_PAIRS", 0)
    n, graphs = 25, [random_graph(25, 0.15, seed=s) for s in (0, 1, 2)]
    adjacencies = [adjacency_matrix(ei, n) for ei in graphs]
    union = LinkTarget.disjoint_union(adjacencies)
    lik = LinkLikelihood(1.0)
    k = lik.negatives_per_node(union)
    lik.check_union(union)
    pairs, keep = lik.sample_pairs(union, [torch.Generator().manual_seed(s) for s in (3, 4, 5)])
    assert table == ("non_positive" in union.cache[("sampler", k)])
    dense = sp.block_diag([a + sp.identity(n) for a in adjacencies]).toarray() > 0
    rows = pairs.rows()
    assert np.array_equal(keep.numpy(), ~dense[rows.numpy(), pairs.col.numpy()])
    for c, (a, s) in enumerate(zip(adjacencies, (3, 4, 5))):
        alone, alone_keep = lik.sample_pairs(LinkTarget.from_edges(a, n), torch.Generator().manual_seed(s))
        part = slice(c * n * k, (c + 1) * n * k)
        assert torch.equal(pairs.col[part].long() - c * n, alone.col.long())
        assert torch.equal(keep[part], alone_keep)


def test_union_target_counts_and_mismatched_sizes():
    a, b = adjacency_matrix(random_graph(12, 0.3, seed=0), 12), adjacency_matrix(random_graph(12, 0.1, seed=1), 12)
    union = LinkTarget.disjoint_union([a, b])
    assert union.components == 2 and union.component_nodes == 12
    assert union.component_edges.tolist() == [a.nnz, b.nnz]
    assert union.component_positives.tolist() == union.positive_counts.tolist() == [a.nnz + 12, b.nnz + 12]
    # no pair across the components is a positive, every pair inside one is as in its own graph
    rows, cols = torch.meshgrid(torch.arange(24), torch.arange(24), indexing="ij")
    dense = union.is_positive(rows.ravel(), cols.ravel()).view(24, 24).numpy()
    expected = sp.block_diag([a + sp.identity(12), b + sp.identity(12)]).toarray() > 0
    assert np.array_equal(dense, expected)
    with pytest.raises(ValueError):
        LinkTarget.disjoint_union([a, adjacency_matrix(random_graph(10, 0.3), 10)])


def test_stacked_encoder_is_each_encoder_on_its_component(cora):
    splits = [gv.split_edges(cora, seed=s) for s in (0, 1)]
    adjacencies = [adjacency_matrix(s.train_edge_index.numpy(), s.num_nodes) for s in splits]
    singles = []
    for seed in (3, 4):
        torch.manual_seed(seed)
        singles.append(GCNEncoder(cora.x.shape[1], (8,), 4, bias=True))
        torch.nn.init.normal_(singles[-1].layers[0].bias)  # non-zero biases, to test their layout too
    batched = GCNEncoder.stack(singles)
    for x in (cora.x, cora.x.to_dense()):  # shared sparse features, and per-component propagated dense ones
        inp = union_input(x, adjacencies)
        # shared features: the first layer propagates X [W_1 ... W_C] with the node-major Â, no transpose
        assert (inp.shared_adj is not None) == (x.layout != torch.strided)
        out = batched(inp).mu
        n = cora.num_nodes
        for c, (enc, a) in enumerate(zip(singles, adjacencies)):
            alone = enc(encoder_input(x, normalized_adjacency(a, n))).mu
            assert torch.allclose(out[c * n:(c + 1) * n], alone, atol=1e-5)
    assert all(torch.equal(p, q) for p, q in zip(batched.copy(1).parameters(), singles[1].parameters()))


@pytest.mark.parametrize("model", [gv.VGAE, gv.GAE])
def test_seed_k_of_a_batched_run_is_the_single_run_with_seed_k(cora, model):
    seeds = [0, 3]
    splits = [gv.split_edges(cora, seed=s) for s in seeds]
    batched = fit_seeds(model(epochs=60), splits, seeds)
    for seed, split, fitted in zip(seeds, splits, batched):
        alone = model(epochs=60, random_state=seed).fit(split)
        auc_b = fitted.score(split.test_pos, split.test_neg)["auc"]
        auc_s = alone.score(split.test_pos, split.test_neg)["auc"]
        assert fitted.random_state == seed and auc_b > 0.8
        assert abs(auc_b - auc_s) <= 1e-3
        assert np.allclose(fitted.embed(), alone.embed(), atol=1e-2)
    # the two seeds did train different models (the test would pass trivially otherwise)
    assert not np.allclose(batched[0].embed(), batched[1].embed(), atol=1e-2)


def test_first_step_matches_to_float_precision(cora):
    seeds = [1, 2, 5]
    splits = [gv.split_edges(cora, seed=s) for s in seeds]
    batched = fit_seeds(gv.VGAE(epochs=2), splits, seeds)
    for seed, split, fitted in zip(seeds, splits, batched):
        alone = gv.VGAE(epochs=2, random_state=seed).fit(split)
        assert np.allclose(fitted.embed(), alone.embed(), atol=1e-5)
    assert batched[0].history_[0]["loss"] == pytest.approx(
        sum(gv.VGAE(epochs=1, random_state=s).fit(sp).history_[0]["loss"] for s, sp in zip(seeds, splits)), rel=1e-5)


def test_batching_rules(cora):
    assert seeds_per_batch(2708, 10) == 10 and seeds_per_batch(1_000_000, 10) == 1 and seeds_per_batch(40_000, 10) == 2
    split = gv.split_edges(cora, seed=0)
    with pytest.raises(gv.InputError, match="not batched"):  # edge masking: one seed at a time
        fit_seeds(gv.VGAE(epochs=2, mask_rate=0.5), [split, split], [0, 1])
    with pytest.raises(gv.InputError):
        fit_seeds(gv.VGAE(epochs=2), [split, split], [0])
    from graphvae.estimators.batched import batchable, batched_by_default
    from graphvae.estimators.zoo import make_model

    assert batchable(make_model("gnae-wd")) and not batched_by_default(make_model("gnae-wd"))
    assert batched_by_default(gv.VGAE(early_stopping=True)) and not batchable(make_model("maskgae"))
    assert not batchable(make_model("gnae-wd", snapshots=3))  # the union keeps no snapshots: seed by seed


def test_linkpred_cli_batched_and_sequential_print_the_same_seeds(cora, capsys, tmp_path):  # cora: skips without data
    from graphvae.cli import main
    import json
    outputs = []
    for extra in ([], ["--sequential"]):
        path = tmp_path / f"run{len(outputs)}.json"
        assert main(["linkpred", "--dataset", "cora", "--seeds", "2", "--epochs", "3", "--no-progress",
                     "--threads", "1", "--json", str(path), *extra]) == 0
        report = json.loads(path.read_text())
        outputs.append([line for line in capsys.readouterr().out.splitlines() if line.startswith("seed ")])
        assert report["seeds_trained_together"] == (1 if extra else 2) and report["threads"] == 1
    assert len(outputs[0]) == 2 and outputs[0] == outputs[1]


def test_cli_thread_choice_does_not_follow_the_cpu_in_use(tmp_path, monkeypatch):
    """The CPU in use is read from /proc/stat-style counters (here a file we write); the thread choice does not
    follow it: one thread for a small graph whether the machine is busy or idle, torch's default for a large one,
    ``--threads`` over both."""
    import torch

    from graphvae.cli import _common

    stat = tmp_path / "stat"
    samples = iter(["cpu 100 0 100 800 0 0 0 0 0 0\n", "cpu 150 0 150 800 0 0 0 0 0 0\n"])  # 100 of 100 ticks busy

    def fake_sleep(_):
        stat.write_text(next(samples))

    stat.write_text(next(samples))
    monkeypatch.setattr("time.sleep", fake_sleep)
    assert _common.cores_in_use(stat=str(stat)) == pytest.approx(os.cpu_count() or 1)
    stat.write_text("cpu 100 0 100 800 0 0 0 0 0 0\n")
    monkeypatch.setattr("time.sleep", lambda _: stat.write_text("cpu 101 0 100 899 0 0 0 0 0 0\n"))
    assert _common.cores_in_use(stat=str(stat)) == pytest.approx((os.cpu_count() or 1) * 0.01)
    assert _common.cores_in_use(stat=str(tmp_path / "missing")) is None

    before = torch.get_num_threads()
    try:
        for used in (1.0, 0.0):  # busy or idle: a small graph trains on one thread, so its numbers never depend on the load
            monkeypatch.setattr(_common, "cores_in_use", lambda used=used: used)
            torch.set_num_threads(2)
            assert _common.set_threads(None, 2708) == 1
        torch.set_num_threads(2)
        assert _common.set_threads(None, 10 * _common.SMALL_GRAPH_NODES) == 2  # a large graph keeps its threads
        assert _common.set_threads(3, 2708) == 3
    finally:
        torch.set_num_threads(before)


def test_stacking_one_encoder_gives_that_encoder_and_copies_are_checked():
    torch.manual_seed(0)
    single = GCNEncoder(5, (4,), 2)
    stacked = GCNEncoder.stack([single])
    assert stacked.copies == 1
    assert all(torch.equal(p, q) for p, q in zip(stacked.parameters(), single.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(stacked.copy(0).parameters(), single.parameters()))
    pair = GCNEncoder.stack([single, GCNEncoder(5, (4,), 2)])
    assert all(torch.equal(p, q) for p, q in zip(pair.copy(-2).parameters(), single.parameters()))
    for index in (1, -2):
        with pytest.raises(IndexError, match="copy"):
            stacked.copy(index)
    with pytest.raises(IndexError, match="copy 2"):
        pair.copy(2)
    with pytest.raises(ValueError, match="at least one"):
        GCNEncoder.stack([])


def test_early_stopping_is_per_seed_in_a_batched_run(cora):
    # each seed keeps its own best epoch and stops when its own fit stops; later epochs of the other seeds
    # must not change its choice
    seeds = [0, 3, 5]
    splits = [gv.split_edges(cora, seed=s) for s in seeds]
    template = gv.VGAE(epochs=150, early_stopping=True, patience=15)
    batched = fit_seeds(template, splits, seeds)
    lengths = []
    for seed, split, fitted in zip(seeds, splits, batched):
        alone = gv.VGAE(epochs=150, early_stopping=True, patience=15, random_state=seed).fit(split)
        lengths.append(len(alone.history_))
        assert fitted.best_epoch_ == alone.best_epoch_
        assert fitted.best_val_auc_ == pytest.approx(alone.best_val_auc_, abs=1e-6)
        assert abs(fitted.score(split.test_pos, split.test_neg)["auc"]
                   - alone.score(split.test_pos, split.test_neg)["auc"]) <= 1e-3
        seen = [entry["val_auc"] for entry in fitted.history_]
        assert seen[:len(alone.history_)] == pytest.approx([e["val_auc"] for e in alone.history_], abs=1e-4)
        assert all(np.isnan(seen[len(alone.history_):]))  # not scored once its own fit has stopped
    assert len(set(lengths)) > 1  # the seeds stop at different epochs (else the test would not test that)
    assert len(batched[0].history_) == max(lengths)  # the run ends when the last seed stops


def test_normalized_head_and_weight_decay_batch(cora):
    from graphvae.estimators.zoo import make_model

    seeds = [0, 2]
    splits = [gv.split_edges(cora, seed=s) for s in seeds]
    template = make_model("gnae-wd", epochs=20, early_stopping=False)
    batched = fit_seeds(template, splits, seeds)
    for seed, split, fitted in zip(seeds, splits, batched):
        alone = make_model("gnae-wd", epochs=20, early_stopping=False, random_state=seed).fit(split)
        # 20 epochs: within the horizon where this model's float rounding has not been amplified (docstring of
        # graphvae.estimators.batched.batched_by_default)
        assert np.allclose(fitted.embed(), alone.embed(), atol=1e-5)
    assert batched[0].history_[0]["loss"] == pytest.approx(
        sum(make_model("gnae-wd", epochs=1, early_stopping=False, random_state=s).fit(sp).history_[0]["loss"]
            for s, sp in zip(seeds, splits)), rel=1e-5)


def test_linkpred_cli_batches_early_stopping_but_not_the_normalized_models(cora, tmp_path):
    from graphvae.cli import main
    import json

    for extra, together in ((["--model", "vgae", "--early-stopping", "--patience", "3"], 2), (["--model", "gnae-wd"], 1)):
        path = tmp_path / "run.json"
        assert main(["linkpred", "--dataset", "cora", "--seeds", "2", "--epochs", "8", "--no-progress",
                     "--threads", "1", "--json", str(path), *extra]) == 0
        report = json.loads(path.read_text())
        assert report["seeds_trained_together"] == together
        assert all(0 <= seed["best_epoch"] < 8 and 0.5 < seed["val_auc"] <= 1 for seed in report["seeds"])


def test_batched_early_stopping_reports_a_diverged_seed():
    import networkx as nx

    splits = [gv.split_edges(gv.as_graph(nx.les_miserables_graph()), seed=s) for s in (0, 1)]
    with pytest.raises(gv.InputError, match="training diverged: parameter"):
        fit_seeds(gv.VGAE(lr=1e308, epochs=5, latent=4, early_stopping=True), splits, [0, 1])


def _linkpred_report(tmp_path, *extra):
    import json

    from graphvae.cli import main

    path = tmp_path / "run.json"
    assert main(["linkpred", "--dataset", "cora", "--seeds", "3", "--epochs", "3", "--no-progress", "--json", str(path),
                 *extra]) == 0
    return json.loads(path.read_text())


@pytest.mark.skipif(not __import__("graphvae.cli._workers", fromlist=["can_fork"]).can_fork(), reason="needs fork")
def test_linkpred_workers_give_every_seed_the_result_of_one_process(cora, tmp_path):
    """Seeds trained in two worker processes (one thread each) are the seeds of one process with one thread: exactly
    when every seed is its own model, within the batching tolerance when a worker batches its share."""
    alone = _linkpred_report(tmp_path, "--sequential", "--threads", "1")
    shared = _linkpred_report(tmp_path, "--sequential", "--workers", "2")
    assert shared["workers"] == 2 and shared["threads"] == 1 and alone["workers"] == 1
    assert [s["seed"] for s in shared["seeds"]] == [0, 1, 2]  # in seed order, whichever worker finished first
    assert [(s["auc"], s["ap"]) for s in shared["seeds"]] == [(s["auc"], s["ap"]) for s in alone["seeds"]]
    batched = _linkpred_report(tmp_path, "--workers", "2")
    assert batched["seeds_trained_together"] == 2  # 3 seeds over 2 workers: seeds 0-1 batched, seed 2 alone
    for a, b in zip(batched["seeds"], alone["seeds"]):
        assert abs(a["auc"] - b["auc"]) <= 1e-3 and abs(a["ap"] - b["ap"]) <= 1e-3


@pytest.mark.skipif(not __import__("graphvae.cli._workers", fromlist=["can_fork"]).can_fork(), reason="needs fork")
def test_linkpred_bad_input_inside_a_worker_is_one_line(capsys):
    from graphvae.cli import main

    code = main(["linkpred", "--dataset", "cora", "--seeds", "2", "--epochs", "3", "--lr", "1e308", "--no-progress",
                 "--workers", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "training diverged" in err[0]


def test_worker_choice(monkeypatch):
    from graphvae.cli import _common

    monkeypatch.setattr(_common, "prepare_training",
                        lambda threads, nodes: threads or (1 if nodes <= _common.SMALL_GRAPH_NODES else 2))
    monkeypatch.setattr("graphvae.cli._workers.available_cores", lambda: 2)
    monkeypatch.setattr("graphvae.cli._workers.can_fork", lambda: True)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(_common, "machine_busy", lambda: False)
    assert _common.prepare_workers(None, None, 10, 27080) == (2, 1)      # idle machine, small graph: one per core
    assert _common.prepare_workers(None, None, 1, 2708) == (1, 1)        # one task: one process, one thread
    assert _common.prepare_workers(None, 3, 10, 2708) == (1, 3)          # --threads: one process with those threads
    assert _common.prepare_workers(None, None, 10, 10 * _common.SMALL_GRAPH_NODES) == (1, 2)  # a large graph
    assert _common.prepare_workers(5, None, 3, 2708) == (3, 1)           # never more workers than tasks
    monkeypatch.setattr(_common, "machine_busy", lambda: True)
    assert _common.prepare_workers(None, None, 10, 2708) == (1, 1)       # busy: one process, one thread
    assert _common.prepare_workers(2, None, 10, 2708) == (2, 1)          # asked for: given
    with pytest.raises(gv.InputError, match="--threads without --workers"):
        _common.prepare_workers(2, 2, 10, 2708)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(gv.InputError, match="torchrun"):
        _common.prepare_workers(2, None, 10, 2708)
    assert _common.prepare_workers(None, None, 10, 2708)[0] == 1         # torchrun: the ranks are the parallelism
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setattr("graphvae.cli._workers.can_fork", lambda: False)
    with pytest.raises(gv.InputError, match="Linux"):
        _common.prepare_workers(2, None, 10, 2708)


def test_map_in_workers_keeps_order_and_raises_a_workers_error():
    from graphvae.cli._workers import can_fork, map_in_workers

    if not can_fork():
        pytest.skip("needs fork")
    import time

    def task(k):
        time.sleep(0.05 * max(3 - k, 0))  # the later items finish first
        if k == 4:
            raise gv.InputError("item 4 is bad")
        return k, os.getpid(), torch.get_num_threads()

    out = list(map_in_workers(task, [0, 1, 2, 3], 2))
    assert [k for k, _, _ in out] == [0, 1, 2, 3] and {t for _, _, t in out} == {1}
    assert len({pid for _, pid, _ in out}) == 2 and os.getpid() not in {pid for _, pid, _ in out}
    assert [k for k, _, _ in map_in_workers(task, [0, 1], 1)] == [0, 1]  # one worker: in this process
    with pytest.raises(gv.InputError, match="item 4 is bad"):
        list(map_in_workers(task, [3, 4], 2))
    import multiprocessing

    assert not multiprocessing.active_children()  # the workers are gone after an error...
    results = map_in_workers(task, [0, 1, 2, 3], 2)
    assert len(multiprocessing.active_children()) == 2  # (forked by the call, before the first result)
    assert next(results)[0] == 0
    results.close()
    assert not multiprocessing.active_children()  # ...and when the caller stops early


def test_a_killed_worker_is_an_error_not_a_hang(capsys):
    import signal

    from graphvae.cli._workers import WorkerDied, can_fork, map_in_workers

    if not can_fork():
        pytest.skip("needs fork")

    def task(k):
        if k == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # as the system's out-of-memory killer would
        return k

    with pytest.raises(WorkerDied, match="--workers 1"):
        list(map_in_workers(task, [0, 1, 2], 2))
    import multiprocessing

    assert not multiprocessing.active_children()


def test_batched_seeds_refuse_splits_of_graphs_with_other_features():
    import networkx as nx

    plain = gv.as_graph(nx.les_miserables_graph())
    featured = gv.as_graph(nx.les_miserables_graph(), np.random.default_rng(0).normal(size=(77, 5)))
    # the union shares split 0's features: the second model used to train on them and then fail to embed its own
    with pytest.raises(gv.InputError, match="split 1 has other node features"):
        fit_seeds(gv.VGAE(epochs=2, latent=4), [gv.split_edges(plain, seed=0), gv.split_edges(featured, seed=1)], [0, 1])
    same = fit_seeds(gv.VGAE(epochs=2, latent=4), [gv.split_edges(plain, seed=0), gv.split_edges(nx.les_miserables_graph(), seed=1)],
                     [0, 1])  # two conversions of one graph: equal features, accepted
    assert [m.embed().shape for m in same] == [(77, 4), (77, 4)]


def test_the_cli_reports_a_killed_worker_in_one_line(cora, capsys, monkeypatch):
    from graphvae.cli import linkpred, main
    from graphvae.cli._workers import WorkerDied

    def killed(task, items, workers):
        raise WorkerDied("a worker process was killed before it finished (out of memory?): train with fewer workers")

    monkeypatch.setattr(linkpred, "map_in_workers", killed)
    assert main(["linkpred", "--dataset", "cora", "--seeds", "2", "--epochs", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["graphvae linkpred: error: a worker process was killed before it finished (out of memory?): "
                   "train with fewer workers"]


def test_batched_seeds_warn_when_every_node_got_the_same_embedding():
    # as VGAE.fit does (graphvae.CollapseWarning): lr 1 for 50 epochs collapses a featureless cycle's encoder
    import networkx as nx

    graph = gv.as_graph(nx.cycle_graph(30))
    splits = [gv.split_edges(graph, seed=s) for s in (0, 1)]
    with pytest.warns(gv.CollapseWarning, match="every one of the 30 nodes got the same embedding") as caught:
        models = fit_seeds(gv.VGAE(lr=1, epochs=50, latent=4), splits, [0, 1])
    collapsed = [m for m in models if np.ptp(m.embed(), axis=0).max() == 0]
    assert len(collapsed) == len([w for w in caught if issubclass(w.category, gv.CollapseWarning)]) >= 1
