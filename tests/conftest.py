import os

import numpy as np
import pytest
import torch

#: where tests download from: a closed local port, so a test can never reach the internet by accident
#: (tests of the download path start their own server on 127.0.0.1 and set this themselves)
os.environ["GRAPHVAE_DATA_URL"] = "http://127.0.0.1:9/"


def random_graph(n: int, p: float, seed: int = 0) -> np.ndarray:
    """A random undirected graph as an edge list ``[2, E]`` in both directions (no self-loops)."""
    rng = np.random.default_rng(seed)
    a = np.triu(rng.random((n, n)) < p, 1)
    u, v = np.nonzero(a)
    return np.stack([np.concatenate([u, v]), np.concatenate([v, u])])


def keys(pairs, n):
    """The node pairs ``[2, m]`` as a set of undirected keys ``min * n + max``."""
    p = np.asarray(pairs)
    return set((np.minimum(p[0], p[1]) * n + np.maximum(p[0], p[1])).tolist())


def all_pair_logits(decoder, z, edges) -> tuple[np.ndarray, np.ndarray]:
    """Brute force on a small graph: ``decoder``'s logits of all N² pairs ``[N, N]`` (float64) and the mask of the
    positives (the edges ``[2, E]`` and the diagonal)."""
    import torch

    n = z.shape[0]
    with torch.no_grad():
        rows, cols = torch.arange(n).repeat_interleave(n), torch.arange(n).repeat(n)
        logits = decoder(z, rows, cols).view(n, n).double().numpy()
    pos = np.eye(n, dtype=bool)
    pos[np.asarray(edges[0]), np.asarray(edges[1])] = True
    return logits, pos


def one_error(capsys, fragment: str, only: bool = False) -> str:
    """The single ``error:`` line a command printed on stderr, which must contain ``fragment``; no traceback.
    ``only=True``: stderr holds that line and nothing else."""
    err = capsys.readouterr().err
    errors = err.splitlines() if only else [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and fragment in errors[0] and "Traceback" not in err, err
    return errors[0]


def ring(n: int = 30, chord: int = 0) -> str:
    """An edge-list CSV text: the ring n0-n1-...-n{n-1}-n0, plus the chords i-(i+chord) when ``chord`` > 0."""
    return "".join(f"n{i},n{(i + 1) % n}\n" + (f"n{i},n{(i + chord) % n}\n" if chord else "") for i in range(n))


@pytest.fixture
def edges(tmp_path, monkeypatch):
    """A 30-node ring as ``e.csv`` in a fresh working folder; returns the file name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.csv").write_text(ring())
    return "e.csv"


def registered_dataset(name: str):
    """A registered dataset from a data folder ($GRAPHVAE_DATA or the cache), never downloaded.

    Missing data skips the test with the reason, except under ``CI=true``, where it fails: CI must run
    every test (``.ci/run`` points ``GRAPHVAE_DATA`` at the shared copy).
    """
    import graphvae as gv

    try:
        return gv.load_dataset(name, download=False)
    except gv.InputError as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is needed under CI=true: {e}")
        pytest.skip(f"{name} is not available here ({e})")


@pytest.fixture(scope="session")
def cora():
    return registered_dataset("cora")


@pytest.fixture(scope="session")
def citeseer():
    return registered_dataset("citeseer")


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """The test models are tiny: one thread is faster and does not oversubscribe a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
