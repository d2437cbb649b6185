"""Data-parallel training over torch.distributed: 2 gloo processes on 127.0.0.1 against the single process.

Each test starts the ranks as subprocesses with torchrun's environment variables (a free port, a bounded
timeout), running ``tests/distributed_worker.py`` or the CLI; rank 0 writes what is checked.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "distributed_worker.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str], world: int = 2, timeout: float = 120, dist_timeout: float = 30, ranks=None) -> list:
    """Run ``python *args`` as ``world`` ranks (or only ``ranks``); returns the finished processes."""
    port, procs = free_port(), []
    for rank in (range(world) if ranks is None else ranks):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
               "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world), "OMP_NUM_THREADS": "1",
               "GRAPHVAE_DIST_TIMEOUT": str(dist_timeout), "PYTHONPATH": str(ROOT)}
        procs.append(subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    deadline = time.monotonic() + timeout
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"the ranks did not finish within {timeout} s")
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


@pytest.fixture(scope="module")
def worker_results(tmp_path_factory):
    """One 2-rank run of the exactness checks (one launch: starting torch twice costs seconds)."""
    path = tmp_path_factory.mktemp("dist") / "all.json"
    procs = launch([str(WORKER), "all", str(path)])
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(path.read_text())


def test_step_matches_single_process(worker_results):
    """Same seed, same sampled pairs: the 2-rank loss (sum of the ranks' shares) and all-reduced gradients
    equal the single-process step, for dense and sparse features, VGAE and GAE (fit on a subset of rows), and
    without the control variate and reweighting, and with VGNAE's normalized head."""
    assert len(worker_results["step"]) == 5
    for case in worker_results["step"]:
        assert 0 < case["local_rows"] < 80  # really split
        assert case["loss"] == pytest.approx(case["ref_loss"], rel=1e-5, abs=1e-5), case
        assert case["max_grad"] > 1e-3
        assert case["max_grad_diff"] <= 1e-5 * max(1.0, case["max_grad"]), case


def test_halo_exchange_backward_matches_autograd(worker_results):
    """Â H with halo exchange, and the all-gather of rows: gradients equal single-process autograd (float64)."""
    halo = worker_results["halo"]
    assert halo["halo_rows"] > 0
    assert halo["max_diff"] <= 1e-10 * max(1.0, halo["max_grad"]), halo


def test_halo_and_gather_on_three_ranks(tmp_path):
    """The same check on 3 ranks: every rank's rows reach the two others (one broadcast each) and each
    gathered row's gradient is summed from all three onto its owner (one reduce each)."""
    path = tmp_path / "halo3.json"
    procs = launch([str(WORKER), "halo", str(path)], world=3)
    for p in procs:
        assert p.returncode == 0, p.stderr[-3000:]
    halo = json.loads(path.read_text())
    assert halo["halo_rows"] > 0 and halo["local_rows"] < 50
    assert halo["max_diff"] <= 1e-10 * max(1.0, halo["max_grad"]), halo


def test_end_to_end_fit_matches_single_process(worker_results):
    """40 epochs on a 300-node graph: the 2-rank AUC is the single process's (same seed, same draws)."""
    import torch

    from graphvae.estimators.models import VGAE
    from graphvae.data.split import split_edges

    sys.path.insert(0, str(WORKER.parent))
    from distributed_worker import small_graph

    fit = worker_results["fit"]
    split = split_edges(small_graph(n=300, seed=1), seed=0)
    torch.set_num_threads(1)
    single = VGAE(hidden=16, latent=8, epochs=40, random_state=0).fit(split)
    auc = single.score(split.test_pos, split.test_neg)["auc"]
    assert fit["embedding_shape"] == [300, 8]
    assert abs(fit["auc"] - auc) <= 0.005, (fit["auc"], auc)
    assert fit["loss"] == pytest.approx(single.history_[-1]["loss"], rel=1e-3)
    assert fit["traffic"]["halo"] > 0 and fit["traffic"]["gradients"] > 0


def test_cli_under_torchrun_variables(tmp_path):
    """`graphvae embed` on 2 ranks: rank 0 writes the embeddings and logs, rank 1 writes nothing."""
    edges = tmp_path / "edges.csv"
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 40, (120, 2))
    edges.write_text("\n".join(f"{u},{v}" for u, v in pairs if u != v) + "\n")
    outs = [tmp_path / "r0.npy", tmp_path / "r1.npy"]
    procs = launch(["-m", "graphvae", "embed", "--edges", str(edges), "--no-header", "--epochs", "3",
                    "--latent", "4", "--hidden", "8", "--out", str(outs[0])], timeout=90)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    assert np.load(outs[0]).shape[1] == 4
    assert "wrote" in procs[0].stderr and procs[1].stderr.strip() == "" and procs[1].stdout.strip() == ""


def test_a_dead_rank_stops_the_others_with_one_line(tmp_path):
    """Rank 1 dies at its first training step; rank 0 exits non-zero with one line, long before the timeout."""
    start = time.monotonic()
    procs = launch([str(WORKER), "die", "-", "linkpred", "--edges", str(_edges(tmp_path)),
                    "--no-header", "--epochs", "50", "--latent", "4", "--no-progress"], dist_timeout=20, timeout=90)
    rank0 = procs[0]
    assert rank0.returncode not in (0, None)
    errors = [line for line in rank0.stderr.strip().splitlines() if not line.startswith("graph: ")]  # the input report
    assert len(errors) == 1 and "lost contact with another rank" in errors[0], rank0.stderr[-2000:]
    assert time.monotonic() - start < 60


def test_too_many_ranks_and_no_rendezvous_give_one_line(tmp_path):
    """Checked before the rendezvous, so one rank of a too-large world shows it; then a rank with nobody to meet."""
    edges = tmp_path / "tiny.csv"
    edges.write_text("0,1\n1,2\n")
    procs = launch(["-m", "graphvae", "embed", "--edges", str(edges), "--no-header", "--latent", "1",
                    "--out", str(tmp_path / "e.npy")], world=4, ranks=[0], timeout=60)
    errors = [line for line in procs[0].stderr.strip().splitlines() if not line.startswith("graph: ")]
    assert procs[0].returncode == 2
    assert errors == ["graphvae embed: error: the world size (4 ranks) is larger than the number of nodes (3): "
                      "every rank must own at least one node"]
    # rank 1 of 2 alone: nobody serves the rendezvous at MASTER_PORT
    procs = launch(["-m", "graphvae", "embed", "--edges", str(_edges(tmp_path)), "--no-header", "--latent", "4",
                    "--out", str(tmp_path / "e.npy")], ranks=[1], dist_timeout=1, timeout=60)
    lines = procs[0].stderr.strip().splitlines()
    assert procs[0].returncode == 1 and len(lines) == 1 and "no rendezvous" in lines[0], procs[0].stderr[-2000:]
    assert not (tmp_path / "e.npy").exists()


def test_single_process_pays_nothing():
    """Without WORLD_SIZE the CLI path never imports the distributed runtime nor starts a process group."""
    code = ("import sys, torch, graphvae.cli._common as c\n"
            "from graphvae.estimators.models import VGAE\n"
            "from graphvae.data.synthetic import degree_corrected_sbm\n"
            "c.fit_model(VGAE(epochs=1), degree_corrected_sbm(50, seed=0))\n"
            "print('graphvae.training.distributed.runtime' in sys.modules, torch.distributed.is_initialized())")
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]


def _edges(tmp_path: Path) -> Path:
    path = tmp_path / "edges.csv"
    if not path.exists():
        rng = np.random.default_rng(1)
        blocks = rng.integers(0, 2, 60)
        rows = [(u, v) for u in range(60) for v in range(u + 1, 60)
                if rng.random() < (0.2 if blocks[u] == blocks[v] else 0.02)]
        path.write_text("\n".join(f"{u},{v}" for u, v in rows) + "\n")
    return path


def test_only_communication_failures_become_one_line_errors():
    """A lost peer is reported in one line; an ordinary bug inside the guarded block surfaces unchanged."""
    import torch.distributed as dist

    from graphvae.training.distributed import DistributedError
    from graphvae.training.distributed.runtime import guard

    with pytest.raises(DistributedError, match="^rank \\?: training stopped: lost contact .*: Connection closed by peer"):
        with guard():
            raise dist.DistBackendError("[../gloo/transport/tcp/pair.cc:553] Connection closed by peer [1.2.3.4]:5. "
                                        "This is typically caused by a remote worker crashing.")
    with pytest.raises(RuntimeError, match="size of tensor a"):
        with guard():
            raise RuntimeError("The size of tensor a (4) must match the size of tensor b (8)")


@pytest.mark.parametrize("nodes", [300, 70_000])
def test_rank_sampler_draws_the_single_process_pairs(nodes):
    """No process group needed: a rank's sampled partners and their positive mask are exactly the single
    process's rows for the same generator state (on a large graph too, where the relabelling may differ)."""
    import torch

    from graphvae.training.distributed.likelihood import DistributedLinkLikelihood, ShardTarget
    from graphvae.training.distributed.partition import Partition
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
    from graphvae.nn.operator import adjacency_matrix

    rng = np.random.default_rng(3)
    u, v = rng.integers(0, nodes, (2, 4 * nodes))
    adjacency = adjacency_matrix(np.stack([u, v]), nodes)
    pairs, keep = LinkLikelihood().sample_pairs(LinkTarget.from_edges(adjacency, nodes), torch.Generator().manual_seed(7))
    k = pairs.col.numel() // nodes
    col, keep = pairs.col.long().view(nodes, k), keep.view(nodes, k)
    part = Partition(adjacency, 3)
    for rank in (0, 2):
        target = ShardTarget.from_shard(part.shard(rank, np.zeros((nodes, 1), np.float32)))
        local, local_keep = DistributedLinkLikelihood().sample_local_pairs(target, torch.Generator().manual_seed(7))
        partners = torch.from_numpy(part.order)[local.col.long()].view(-1, k)  # back to original labels
        rows = target.orig_ids
        assert torch.equal(partners, col[rows]) and torch.equal(local_keep.view(-1, k), keep[rows])
        # the transpose: entry e of (crow_t, col_t) is entry transpose[e] of the pattern
        t_rows = torch.repeat_interleave(torch.arange(nodes), local.crow_t.long().diff())
        assert torch.equal(local.col.long()[local.transpose.long()], t_rows)
        assert torch.equal(local.col_t.long(), local.transpose.long() // k)


def test_options_the_ranks_do_not_have_are_refused_with_one_line():
    """MaskGAE's encoder options would be silently dropped (batch norm would even use per-rank statistics)."""
    from graphvae import VGAE, InputError
    from graphvae.training.distributed.fit import check_supported

    check_supported(VGAE(early_stopping=False))  # the paper's VGAE runs
    for option in (dict(batch_norm=True), dict(encoder_dropout=0.5), dict(head_activation="elu"), dict(device="cuda")):
        with pytest.raises(InputError, match="not available in a distributed run") as info:
            check_supported(VGAE(early_stopping=False, **option))
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("world", [1, 2])
def test_ranks_without_boundary_rows_train_and_match_the_single_process(tmp_path, world):
    """Two disjoint copies of a graph on 2 ranks (each rank owns one: no halo rows), or a single rank: the exchange
    of zero rows ended every rank in an IndexError traceback."""
    rng = np.random.default_rng(0)
    pairs = [(u, v) for u, v in rng.integers(0, 30, (80, 2)) if u != v]
    edges = tmp_path / "edges.csv"
    edges.write_text("".join(f"{u},{v}\n{u + 30},{v + 30}\n" for u, v in pairs))
    args = ["embed", "--edges", str(edges), "--epochs", "3", "--latent", "4", "--hidden", "8", "--no-progress"]
    procs = launch(["-m", "graphvae", *args, "--out", str(tmp_path / "ranks.npy")], world=world, timeout=90)
    assert [p.returncode for p in procs] == [0] * world, [p.stderr[-2000:] for p in procs]
    single = subprocess.run([sys.executable, "-m", "graphvae", *args, "--out", str(tmp_path / "one.npy")], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr
    np.testing.assert_allclose(np.load(tmp_path / "ranks.npy"), np.load(tmp_path / "one.npy"), atol=1e-5)


def test_a_weighted_graph_trains_on_two_ranks_as_in_one_process(tmp_path):
    """Each rank's rows of Â carry the edge weights, as the single process's Â does (embed and linkpred)."""
    rng = np.random.default_rng(1)
    pairs = {(int(u), int(v)) for u, v in rng.integers(0, 60, (240, 2)) if u != v}
    edges = tmp_path / "weighted.csv"
    edges.write_text("".join(f"{u},{v},{rng.uniform(0.1, 5):.3f}\n" for u, v in sorted(pairs)))
    base = ["--edges", str(edges), "--epochs", "3", "--latent", "4", "--hidden", "8", "--no-progress"]
    for command, out in (("embed", ["--out"]), ("linkpred", ["--json"])):
        files = [tmp_path / f"{command}_{who}.{'npy' if command == 'embed' else 'json'}" for who in ("ranks", "one")]
        procs = launch(["-m", "graphvae", command, *base, *out, str(files[0])], timeout=90)
        assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
        single = subprocess.run([sys.executable, "-m", "graphvae", command, *base, *out, str(files[1])], cwd=ROOT,
                                capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert single.returncode == 0, single.stderr
        if command == "embed":
            ranks, one = np.load(files[0]), np.load(files[1])
            np.testing.assert_allclose(ranks, one, atol=1e-5)
        else:
            ranks, one = (json.loads(f.read_text()) for f in files)
            assert abs(ranks["auc"]["mean"] - one["auc"]["mean"]) < 1e-4


def _under_torchrun(monkeypatch, world: int = 2, timeout: str = "30") -> None:
    """torchrun's variables in this process (no rendezvous is reached by the refusals tested with them)."""
    for name, value in (("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(free_port())), ("RANK", "0"),
                        ("WORLD_SIZE", str(world)), ("GRAPHVAE_DIST_TIMEOUT", timeout)):
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("command", ["linkpred", "embed"])
def test_a_bad_timeout_is_reported_before_the_graph_is_loaded(tmp_path, monkeypatch, capsys, command):
    """GRAPHVAE_DIST_TIMEOUT is checked as soon as the command knows it runs under torchrun: a bad value is the one
    line, not an error of the input file (nor reported after a long load)."""
    from graphvae.cli.main import main

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c,d\nx\n")
    _under_torchrun(monkeypatch, timeout="abc")
    out = ["--out", str(tmp_path / "z.npy")] if command == "embed" else []
    assert main([command, "--edges", str(bad), "--no-progress", *out]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"graphvae {command}: error: GRAPHVAE_DIST_TIMEOUT must be a number of seconds, got 'abc'"]


@pytest.mark.parametrize("command", ["classify", "cluster"])
def test_classify_and_cluster_refuse_torchrun_with_one_line(tmp_path, monkeypatch, capsys, command):
    """They train composed or weight-decayed models the ranks do not have: under torchrun every rank ran the whole
    job, printed and wrote the outputs. Now each rank refuses in one line, before any data is read."""
    from graphvae.cli.main import main

    edges = _edges(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("".join(f"{i},{i % 2}\n" for i in range(60)))
    _under_torchrun(monkeypatch)
    argv = [command, "--edges", str(edges), "--no-header", "--labels", str(labels), "--epochs", "1", "--latent", "4",
            "--no-progress", "--json", str(tmp_path / "r.json")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [
        f"graphvae {command}: error: {command} does not run under torchrun (every rank would run the whole job and "
        f"write the outputs): run it as one process, without torchrun"]
    assert not (tmp_path / "r.json").exists()


def test_linkpred_refusal_of_early_stopping_names_a_flag_that_exists(tmp_path, monkeypatch, capsys):
    """`--model gnae` stops early by default; the refusal under torchrun names --no-early-stopping (which linkpred
    has) or the models that run, and comes before the graph is loaded."""
    from graphvae.cli.main import main

    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c,d\nx\n")
    _under_torchrun(monkeypatch)
    assert main(["linkpred", "--edges", str(bad), "--model", "gnae", "--no-progress"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "graphvae linkpred: error: not available in a distributed run: early stopping (it needs every epoch's "
        "validation AUC on one rank); under torchrun use --model gae or vgae, or --model gnae or vgnae with "
        "--no-early-stopping"]


def test_linkpred_gnae_without_early_stopping_runs_on_two_ranks(tmp_path):
    """The advice works: `linkpred --model gnae --no-early-stopping` on 2 ranks gives the single process's AUC."""
    args = ["-m", "graphvae", "linkpred", "--edges", str(_edges(tmp_path)), "--no-header", "--model", "gnae",
            "--no-early-stopping", "--epochs", "5", "--latent", "4", "--no-progress"]
    procs = launch([*args, "--json", str(tmp_path / "ranks.json")], timeout=120)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    single = subprocess.run([sys.executable, *args, "--json", str(tmp_path / "one.json")], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert single.returncode == 0, single.stderr
    ranks, one = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("ranks", "one"))
    assert "best_epoch" not in ranks["seeds"][0] and ranks["config"]["early_stopping"] is False
    assert ranks["auc"]["mean"] == pytest.approx(one["auc"]["mean"], abs=1e-5)
