import numpy as np
import pytest
import torch


def random_graph(n: int, p: float, seed: int = 0) -> np.ndarray:
    """A random undirected graph as an edge list ``[2, E]`` in both directions (no self-loops)."""
    rng = np.random.default_rng(seed)
    a = np.triu(rng.random((n, n)) < p, 1)
    u, v = np.nonzero(a)
    return np.stack([np.concatenate([u, v]), np.concatenate([v, u])])


@pytest.fixture(scope="session")
def cora():
    import graphvae as gv
    return gv.load_dataset("cora")


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
