"""An invalid ``MPLBACKEND`` with ``--plot``: one line and exit status 2 before training, not a traceback after it.

matplotlib validates ``MPLBACKEND`` while it imports, so the check needs a fresh interpreter (here matplotlib is
imported already): each case runs the command as a program."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "examples"


def _run(args: list[str], backend: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": backend}
    return subprocess.run([sys.executable, "-m", "graphvae", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command", [
    ["embed", "--edges", str(EXAMPLES / "karate_edges.csv"), "--out", "z.csv", "--plot", "figs"],
    ["linkpred", "--edges", str(EXAMPLES / "karate_edges.csv"), "--json", "r.json", "--plot", "figs"],
    ["vae", "--dataset", "digits", "--plot", "figs", "--json", "v.json"],
])
def test_an_invalid_backend_is_one_line_before_training(tmp_path: Path, command: list[str]) -> None:
    """``MPLBACKEND=gtk`` (a backend matplotlib no longer has): exit 2, one ``error:`` line naming the variable and
    the way out, no traceback, and nothing written (no embeddings, JSON or figures: it failed before training)."""
    done = _run([*command, "--epochs", "1", "--no-progress"], "gtk", tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "error: --plot: matplotlib cannot start with MPLBACKEND='gtk'" in lines[0], lines
    assert "MPLBACKEND=Agg" in lines[0] and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_valid_backend_draws(tmp_path: Path) -> None:
    """Any valid backend serves (graphvae draws on ``matplotlib.figure.Figure``): the map is written."""
    done = _run(["embed", "--edges", str(EXAMPLES / "karate_edges.csv"), "--out", "z.csv", "--plot", "figs",
                 "--latent", "2", "--epochs", "2", "--no-progress"], "svg", tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "figs" / "embedding_map.png").stat().st_size > 0
