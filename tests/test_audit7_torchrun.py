"""A rank that stops before the ranks meet (a refused option, a missing input file, a bad argument) under torchrun.

The refusing rank exited with status 2 and its line, but the others went on to the rendezvous and waited there for
the whole GRAPHVAE_DIST_TIMEOUT (300 s by default) before failing with "no rendezvous". Now every rank tells the others
how it ended before they meet (``graphvae.training.distributed.runtime.meet``), and they stop at once, naming the rank
and its error. 2 ranks on 127.0.0.1, started as ``python -m graphvae`` with torchrun's variables (each rank its own
command line); the timeout is 20 s, so the old code fails the time bound instead of hanging the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_distributed import ROOT, _edges, free_port  # noqa: E402

#: GRAPHVAE_DIST_TIMEOUT of these runs, and the bound on every rank's exit (from the launch), well below it
DIST_TIMEOUT = 20
BOUND = 12


def run_ranks(argvs: list[list[str]], limit: float = 60) -> list[tuple[int, str, str, float]]:
    """Run ``python -m graphvae ARGV`` as one rank per ``argvs`` entry; ``(returncode, stdout, stderr, seconds)`` per
    rank, the seconds from the launch to that rank's exit."""
    port, procs = free_port(), []
    start = time.monotonic()
    for rank, argv in enumerate(argvs):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
               "LOCAL_RANK": str(rank), "WORLD_SIZE": str(len(argvs)), "OMP_NUM_THREADS": "1",
               "GRAPHVAE_DIST_TIMEOUT": str(DIST_TIMEOUT), "PYTHONPATH": str(ROOT)}
        procs.append(subprocess.Popen([sys.executable, "-m", "graphvae", *argv], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = [None] * len(procs)

    def wait(i: int) -> None:
        try:
            out, err = procs[i].communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            procs[i].kill()
            out, err = procs[i].communicate()
        results[i] = (procs[i].returncode, out, err, time.monotonic() - start)

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(len(procs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _lines(stderr: str) -> list[str]:
    """The error lines (not the graph's summary, which rank 0 prints once its inputs are checked)."""
    return [line for line in stderr.strip().splitlines() if not line.startswith("graph: ")]


def _linkpred(tmp_path: Path, *extra: str) -> list[str]:
    return ["linkpred", "--edges", str(_edges(tmp_path)), "--no-header", "--epochs", "5", "--latent", "4",
            "--hidden", "8", "--no-progress", "--json", str(tmp_path / "r.json"), *extra]


#: (what the refusing rank is given, which rank, the line it prints after "graphvae linkpred: error: ")
REFUSALS = {
    # refused by the distributed fit's model check, before the graph is loaded
    "early-stopping": (["--early-stopping"], 1,
                       "not available in a distributed run: early stopping (it needs every epoch's validation AUC "
                       "on one rank); under torchrun use --model gae or vgae, or --model gnae or vgnae with "
                       "--no-early-stopping"),
    # refused after the graph is loaded, by the rank that hosts the rendezvous (rank 0)
    "workers": (["--workers", "2"], 0,
                "--workers runs seeds in processes of their own; under torchrun every seed is one distributed fit: "
                "leave --workers out"),
    # an input file missing on one machine
    "missing file": (None, 1, None),
    # argparse refuses it, before the command runs at all (rank 0)
    "bad argument": (["--patience", "0"], 0,
                     "argument --patience: must be a positive integer, got 0 (see graphvae linkpred --help)"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_one_rank_refusing_stops_the_others_at_once_naming_it(tmp_path, case):
    """Old code: the refusing rank said so and exited 2; the other waited in the rendezvous for GRAPHVAE_DIST_TIMEOUT
    (20 s here, 300 by default) and failed with "no rendezvous" (exit 1). Now it stops within seconds, exit 2, with
    one line naming the rank that stopped and its error; nothing is written."""
    extra, bad, message = REFUSALS[case]
    good_argv = _linkpred(tmp_path)
    if case == "missing file":
        bad_argv = list(good_argv)
        bad_argv[bad_argv.index("--edges") + 1] = str(tmp_path / "elsewhere.csv")
        message = f"edge-list file not found: {tmp_path / 'elsewhere.csv'}"
    else:
        bad_argv = [*good_argv, *extra]
    argvs = [good_argv, good_argv]
    argvs[bad] = bad_argv
    results = run_ranks(argvs)
    good = 1 - bad
    details = [(code, err[-1500:], round(sec, 1)) for code, _, err, sec in results]
    assert results[bad][0] == 2 and _lines(results[bad][2]) == [f"graphvae linkpred: error: {message}"], details
    assert results[good][0] == 2, details
    assert _lines(results[good][2]) == [f"graphvae linkpred: error: rank {bad} stopped before training: {message}"], \
        details
    assert max(sec for *_, sec in results) < BOUND, details
    assert not (tmp_path / "r.json").exists()


def test_embed_refusal_on_one_rank_stops_the_other(tmp_path):
    """The same for ``embed``: rank 1 alone is given an output file it cannot write (a suffix it does not know)."""
    argv = ["embed", "--edges", str(_edges(tmp_path)), "--no-header", "--epochs", "3", "--latent", "4", "--hidden", "8",
            "--no-progress", "--out"]
    results = run_ranks([[*argv, str(tmp_path / "z.npy")], [*argv, str(tmp_path / "z.txt")]])
    details = [(code, err[-1500:], round(sec, 1)) for code, _, err, sec in results]
    message = f"--out must end in .npy, .csv, .emb, .npz; got {tmp_path / 'z.txt'}"
    assert results[1][0] == 2 and _lines(results[1][2]) == [f"graphvae embed: error: {message}"], details
    assert results[0][0] == 2 and _lines(results[0][2]) == [
        f"graphvae embed: error: rank 1 stopped before training: {message}"], details
    assert max(sec for *_, sec in results) < BOUND, details
    assert not (tmp_path / "z.npy").exists()


def test_every_rank_refusing_prints_its_own_line_once(tmp_path):
    """All ranks refuse the same option: each prints its own line once (not the other's as well), exit 2, at once."""
    argv = _linkpred(tmp_path, "--early-stopping")
    results = run_ranks([argv, argv])
    details = [(code, err[-1500:], round(sec, 1)) for code, _, err, sec in results]
    for code, out, err, _ in results:
        assert code == 2 and out == "", details
        assert _lines(err) == [f"graphvae linkpred: error: {REFUSALS['early-stopping'][2]}"], details
    assert max(sec for *_, sec in results) < BOUND, details


def test_a_refusal_without_torchrun_starts_nothing_distributed(tmp_path):
    """One process (no WORLD_SIZE): a refusal is its line alone, and nothing of the distributed runtime is loaded."""
    code = ("import sys\nfrom graphvae.cli.main import main\n"
            f"code = main(['linkpred', '--edges', {str(tmp_path / 'none.csv')!r}, '--no-progress'])\n"
            "print(code, 'graphvae.training.distributed.runtime' in sys.modules, 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["2", "False", "False"], out.stderr[-2000:]
    assert out.stderr.strip().splitlines() == [
        f"graphvae linkpred: error: edge-list file not found: {tmp_path / 'none.csv'}"]
