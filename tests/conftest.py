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
