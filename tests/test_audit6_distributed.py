"""Audit of the scale-out path (torchrun, gloo on CPU): failure modes and documented claims, 2 ranks on 127.0.0.1.

The ranks are started as subprocesses with torchrun's variables (``tests/test_distributed.py::launch``: a free
port, a bounded timeout), running a small driver that may give each rank its own arguments or a fault.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_distributed import ROOT, _edges, _under_torchrun, launch  # noqa: E402

#: ``python driver.py SPEC.json``: SPEC holds ``argv`` per rank and an optional ``fault`` and ``fault_rank``
DRIVER = '''
import importlib, json, os, sys
spec = json.load(open(sys.argv[1]))
rank = int(os.environ["RANK"])
if spec.get("fault") is not None and rank == spec["fault_rank"]:
    import graphvae.training.distributed.fit as fit
    from graphvae import InputError
    calls = []
    train = fit.train_elbo
    def faulty(*a, **k):
        calls.append(1)
        if len(calls) == spec.get("fault_seed", 1):  # fails before training of that seed, after the setup's exchanges
            raise InputError("only this rank") if spec["fault"] == "input" else KeyboardInterrupt()
        return train(*a, **k)
    fit.train_elbo = faulty
sys.exit(importlib.import_module("graphvae.cli.main").main(spec["argv"][rank]))
'''


def run_ranks(tmp_path: Path, argv: list[list[str]], dist_timeout: float = 60, timeout: float = 150, **fault):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"argv": argv, **fault}))
    start = time.monotonic()
    procs = launch([str(driver), str(spec)], world=len(argv), dist_timeout=dist_timeout, timeout=timeout)
    return procs, time.monotonic() - start


def _errors(proc) -> list[str]:
    return [line for line in proc.stderr.strip().splitlines() if not line.startswith(("graph: ", "note: "))]


def _linkpred(tmp_path: Path, *extra: str) -> list[str]:
    return ["linkpred", "--edges", str(_edges(tmp_path)), "--no-header", "--epochs", "5", "--latent", "4",
            "--hidden", "8", "--no-progress", *extra]


@pytest.mark.parametrize("fault", ["input", "interrupt"])
def test_a_rank_failing_alone_stops_the_others_at_once(tmp_path, fault):
    """Rank 1 meets an InputError (or Ctrl-C) at training time, rank 0 is inside a collective. The failed rank waited
    in the exit barrier, so rank 0 waited for the whole GRAPHVAE_DIST_TIMEOUT (60 s here, 300 by default) before it
    failed; now rank 1 leaves at once and rank 0 stops within seconds, each with one line."""
    argv = _linkpred(tmp_path, "--json", str(tmp_path / "r.json"))
    procs, wall = run_ranks(tmp_path, [argv, argv], dist_timeout=60, fault=fault, fault_rank=1)
    assert wall < 40, (wall, [p.stderr[-1500:] for p in procs])
    assert procs[1].returncode == (2 if fault == "input" else 130)
    assert _errors(procs[1]) == (["graphvae linkpred: error: only this rank"] if fault == "input"
                                 else ["graphvae: interrupted"])
    assert procs[0].returncode == 1
    errors = _errors(procs[0])
    assert len(errors) == 1 and "lost contact with another rank" in errors[0], procs[0].stderr[-2000:]
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("change", ["epochs", "seed", "edges"])
def test_ranks_given_different_settings_or_data_refuse_with_one_line(tmp_path, change):
    """One rank started with another --epochs (its collectives outlast the others': both waited for the timeout),
    another --first-seed (another split) or another edge list (an IndexError traceback on one rank, the other
    aborted by gloo). Now every rank says so in the same line, exit status 2, and nothing is written."""
    base = _linkpred(tmp_path, "--json", str(tmp_path / "r.json"))
    other = list(base)
    if change == "epochs":
        other[other.index("--epochs") + 1] = "7"
    elif change == "seed":
        other += ["--first-seed", "4"]
    else:
        rng = np.random.default_rng(5)
        (tmp_path / "other.csv").write_text("".join(f"{u},{v}\n" for u, v in rng.integers(0, 50, (150, 2)) if u != v))
        other[other.index("--edges") + 1] = str(tmp_path / "other.csv")
    procs, wall = run_ranks(tmp_path, [base, other], dist_timeout=60)
    what = {"epochs": "model settings", "seed": "graph", "edges": "graph and features"}[change]
    for p in procs:
        assert p.returncode == 2, p.stderr[-2000:]
        assert _errors(p) == [f"graphvae linkpred: error: the ranks were not given the same {what}: start every rank "
                              f"with the same command and input"], p.stderr[-2000:]
    assert wall < 40 and not (tmp_path / "r.json").exists()


def test_seeds_and_first_seed_under_torchrun_match_one_process_and_only_rank_0_writes(tmp_path):
    """`linkpred --seeds 2 --first-seed 3` on 2 ranks: the single process's per-seed AUC (sequential seeds, as the
    ranks train them); rank 0 writes --json and --plot, rank 1 (given other paths, which only it would use) nothing."""
    common = _linkpred(tmp_path, "--seeds", "2", "--first-seed", "3")
    rank1_out = ["--json", str(tmp_path / "r1.json"), "--plot", str(tmp_path / "plot1")]
    procs, _ = run_ranks(tmp_path, [[*common, "--json", str(tmp_path / "r0.json"), "--plot", str(tmp_path / "plot0")],
                                    [*common, *rank1_out]], dist_timeout=60)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    assert not (tmp_path / "r1.json").exists() and not (tmp_path / "plot1").exists()
    assert procs[1].stdout == "" and procs[1].stderr.strip() == ""
    assert sorted(p.name for p in (tmp_path / "plot0").iterdir())  # the curves, once
    single = subprocess.run([sys.executable, "-m", "graphvae", *common, "--sequential", "--json",
                             str(tmp_path / "one.json")], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr[-2000:]
    ranks, one = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("r0", "one"))
    assert [s["seed"] for s in ranks["seeds"]] == [s["seed"] for s in one["seeds"]] == [3, 4]
    for a, b in zip(ranks["seeds"], one["seeds"]):
        assert a["auc"] == pytest.approx(b["auc"], abs=1e-4)


#: a rank of a Python script that calls fit_distributed (rank 0 writes what the test checks)
API_SCRIPT = '''
import json, os, signal, sys
import numpy as np, torch
import torch.distributed as dist
from graphvae import VGAE
from graphvae.data.graph import build_graph
from graphvae.training.distributed import runtime
from graphvae.training.distributed.fit import fit_distributed

def handler(signum, frame):
    pass
signal.signal(signal.SIGTERM, handler)
torch.set_num_threads(1)
# a small component, a star and 20 isolated nodes: with the work-balanced ranges rank 1 owns mostly isolated nodes
u = [0, 0, 1, 2, 3, 4, 5, 5, 5, 5]
v = [1, 2, 2, 3, 4, 0, 6, 7, 8, 9]
graph = build_graph(np.array(u), np.array(v), 30)
rng, np_rng, threads = torch.get_rng_state(), np.random.get_state()[1].copy(), torch.get_num_threads()
model = fit_distributed(VGAE(hidden=8, latent=4, epochs=5, random_state=2), graph)
same_state = [bool(torch.equal(rng, torch.get_rng_state())), bool((np_rng == np.random.get_state()[1]).all()),
              torch.get_num_threads() == threads]
# the call started the group and ended it: the script's own SIGTERM handler is back
handler_back, group_left = signal.getsignal(signal.SIGTERM) is handler, dist.is_initialized()
again = fit_distributed(VGAE(hidden=8, latent=4, epochs=5, random_state=2), graph)  # a fresh group, the same fit
kept = fit_distributed(VGAE(hidden=8, latent=4, epochs=5, random_state=2), graph, keep_group=True)
kept_group = dist.is_initialized() and runtime.running()
reused = fit_distributed(VGAE(hidden=8, latent=4, epochs=5, random_state=2), graph)  # the kept group, left running
kept_group = kept_group and dist.is_initialized()
runtime.shutdown()
single = VGAE(hidden=8, latent=4, epochs=5, random_state=2).fit(graph)
result = {"same_state": same_state, "handler_back": handler_back and signal.getsignal(signal.SIGTERM) is handler,
          "group_left": group_left or dist.is_initialized(), "kept_group": kept_group,
          "max_diff": max(float(np.abs(m.embed() - single.embed()).max()) for m in (model, again, kept, reused))}
if int(os.environ["RANK"]) == 0:
    json.dump(result, open(sys.argv[1], "w"))
'''


def test_fit_distributed_from_python_leaves_the_process_as_it_was(tmp_path):
    """A script's fit_distributed: the global RNGs and threads are untouched, the embeddings (a graph with isolated
    nodes) are the single process's, and the process group it started is ended, the script's own SIGTERM handler
    back (init replaced it for good, and the group stayed up); keep_group=True keeps the group for the next fit."""
    script = tmp_path / "api.py"
    script.write_text(API_SCRIPT)
    procs = launch([str(script), str(tmp_path / "out.json")], timeout=120)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["same_state"] == [True, True, True]
    assert result["handler_back"] and not result["group_left"] and result["kept_group"]
    assert result["max_diff"] <= 1e-5, result


def test_python_api_refusals_come_before_any_process_group(monkeypatch):
    """random_state=None, more ranks than nodes, an unknown partition: one-line InputErrors, no group started."""
    import torch.distributed as dist

    from graphvae import VGAE, InputError
    from graphvae.data.graph import build_graph
    from graphvae.training.distributed.fit import fit_distributed

    _under_torchrun(monkeypatch)
    graph = build_graph(np.array([0, 1, 2]), np.array([1, 2, 3]), 4)
    cases = [(VGAE(latent=2, random_state=None), graph, {}, "random_state=None"),
             (VGAE(latent=1, random_state=0), build_graph(np.array([0]), np.array([1]), 2), {}, None),
             (VGAE(latent=2, random_state=0), graph, {"ordering": "spectral"}, "GRAPHVAE_PARTITION")]
    monkeypatch.setenv("WORLD_SIZE", "2")
    for model, data, kw, match in cases:
        if match is None:
            monkeypatch.setenv("WORLD_SIZE", "3")
            match = "larger than the number of nodes"
        with pytest.raises(InputError, match=match) as info:
            fit_distributed(model, data, **kw)
        assert "\n" not in str(info.value)
        monkeypatch.setenv("WORLD_SIZE", "2")
    assert not dist.is_initialized()


@pytest.mark.parametrize("command", ["vae", "ae"])
def test_vae_and_ae_refuse_torchrun_with_one_line(monkeypatch, capsys, command):
    """The docs say vae and ae refuse torchrun with more than one process, in one line with exit status 2."""
    from graphvae.cli.main import main

    _under_torchrun(monkeypatch)
    assert main([command, "--epochs", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [
        f"graphvae {command}: error: {command} does not run under torchrun (every rank would run the whole job and "
        f"write the outputs): run it as one process, without torchrun"]


def test_every_rank_owns_nodes_whatever_the_work_weights():
    """No empty part: skewed, zero and single-heavy weights still give every rank at least one node, in order."""
    from graphvae.training.distributed.partition import balanced_bounds

    rng = np.random.default_rng(0)
    cases = [np.zeros(7), np.r_[np.zeros(9), 1e9], np.r_[1e9, np.ones(9)], rng.pareto(0.5, 50) + 1, np.ones(4)]
    for weights in cases:
        for world in range(1, weights.size + 1):
            bounds = balanced_bounds(weights.size, world, weights)
            assert bounds[0] == 0 and bounds[-1] == weights.size and np.all(np.diff(bounds) >= 1), (weights, world)


def test_digest_tells_inputs_apart():
    """The consistency check's digest: equal for equal content, different for another value, dtype or sparsity."""
    import scipy.sparse as sp
    import torch

    from graphvae.training.distributed.runtime import digest

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert digest(a) == digest(a.copy()) == digest(torch.from_numpy(a.copy()))
    assert len({digest(a), digest(a.astype(np.float64)), digest(a.reshape(3, 2)), digest(a + 1),
                digest(sp.csr_matrix(a)), digest((a, None)), digest(torch.from_numpy(a).to_sparse())}) == 7
    assert digest(sp.csr_matrix(a)) == digest(sp.coo_matrix(a))
    assert 0 <= digest("x") < 2 ** 56
