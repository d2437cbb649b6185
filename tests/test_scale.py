"""Scale: the synthetic DC-SBM generator, and no N x N allocation on the default VGAE path."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from graphvae._validation import InputError
from graphvae.data.synthetic import _draw_edges, degree_corrected_sbm, power_law_propensities

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- generator

def test_seeded_and_cleaned():
    a, b = degree_corrected_sbm(500, seed=3), degree_corrected_sbm(500, seed=3)
    assert np.array_equal(a.edge_index.numpy(), b.edge_index.numpy())
    assert np.array_equal(a.x.numpy(), b.x.numpy())
    assert not np.array_equal(a.x.numpy(), degree_corrected_sbm(500, seed=4).x.numpy())
    ei = a.edge_index.numpy()
    assert (ei[0] != ei[1]).all()
    keys = ei[0] * 500 + ei[1]
    assert np.unique(keys).size == keys.size  # no repeated pair
    assert np.array_equal(np.sort(keys), np.sort(ei[1] * 500 + ei[0]))  # symmetric
    assert a.x.shape == (500, 32) and a.x.dtype.is_floating_point and a.y.shape == (500,)
    # 500 * 10 draws; on so small a graph many are repeats of hub pairs, removed by build_graph
    assert 0.7 * 500 * 10 < a.cleaning["undirected_edges"] <= 500 * 10


def test_edge_distribution_matches_dcsbm_brute_force():
    """Empirical pair frequencies of the sampler against the exact DC-SBM pair probabilities."""
    rng = np.random.default_rng(0)
    n, k, mixing, m = 9, 3, 0.3, 400_000
    blocks = np.array([0, 2, 1, 0, 2, 2, 0, 1, 2])
    theta = rng.uniform(0.5, 3.0, n)
    src, dst = _draw_edges(blocks, theta, k, m, mixing, rng)
    observed = np.bincount(src * n + dst, minlength=n * n).reshape(n, n) / m
    same = blocks[:, None] == blocks[None, :]
    block_total = np.array([theta[blocks == b].sum() for b in range(k)])
    expected = (theta / theta.sum())[:, None] * (
        (1 - mixing) * same * theta[None, :] / block_total[blocks][:, None] + mixing * theta[None, :] / theta.sum())
    assert np.isclose(expected.sum(), 1.0)
    sigma = np.sqrt(expected * (1 - expected) / m) + 1e-12
    assert np.abs(observed - expected).max() / sigma.max() < 5
    assert observed[~same].sum() == pytest.approx(expected[~same].sum(), abs=5e-3)


def test_propensities_follow_pareto():
    theta = power_law_propensities(20_000, 2.5, np.inf, np.random.default_rng(1))
    assert scipy.stats.kstest(theta, scipy.stats.pareto(b=1.5).cdf).pvalue > 1e-3
    capped = power_law_propensities(20_000, 2.5, 5.0, np.random.default_rng(1))
    assert np.array_equal(capped, np.minimum(theta, 5.0 * theta.mean()))


def test_planted_structure_in_edges_and_features():
    g = degree_corrected_sbm(3000, num_blocks=4, mixing=0.2, num_features=64, feature_noise=1.0, seed=0)
    y, ei, x = g.y.numpy(), g.edge_index.numpy(), g.x.numpy()
    shares = np.bincount(y, minlength=4) / y.size
    # edges inside blocks: (1 - mixing) + mixing * P(same block by chance), roughly (propensities vary per block)
    assert (y[ei[0]] == y[ei[1]]).mean() == pytest.approx(0.8 + 0.2 * (shares ** 2).sum(), abs=0.03)
    within = np.mean([x[y == b].var(axis=0).mean() for b in range(4)])
    assert within == pytest.approx(1.0, abs=0.05)  # the noise variance around each block centroid
    no_structure = degree_corrected_sbm(3000, num_blocks=4, mixing=1.0, seed=0)
    yb, eb = no_structure.y.numpy(), no_structure.edge_index.numpy()
    assert (yb[eb[0]] == yb[eb[1]]).mean() == pytest.approx((shares ** 2).sum(), abs=0.05)


@pytest.mark.parametrize("kwargs", [dict(num_nodes=1), dict(num_nodes=10.5), dict(edges_per_node=0),
                                    dict(num_blocks=0), dict(num_blocks=200), dict(mixing=1.5),
                                    dict(exponent=2.0), dict(num_features=0), dict(feature_noise=-1)])
def test_bad_parameters(kwargs):
    with pytest.raises(InputError):
        degree_corrected_sbm(**{"num_nodes": 100, **kwargs})


# --------------------------------------------------------------------------- no N x N allocation

# A float32 N x N matrix at N = 100k is 40 GB. The child process runs under an address-space limit far
# below that (so even an allocation whose pages are never touched fails) and reports its peak RSS.
ADDRESS_LIMIT = 16 * 2**30
RSS_BUDGET_GB = 2.0
N = 100_000


def _run_limited(code: str) -> tuple[int, dict | None, str]:
    """Run ``code`` in a fresh interpreter under the address-space limit; it prints its peak RSS as JSON."""
    epilogue = "\nimport json, resource\nprint(json.dumps({'peak_rss_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))\n"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))

    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code) + epilogue], capture_output=True, text=True,
                          env=env, cwd=ROOT, preexec_fn=limit, timeout=300)
    last = proc.stdout.strip().splitlines()[-1:] if proc.returncode == 0 else []
    return proc.returncode, (json.loads(last[0]) if last else None), proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS and ru_maxrss in kB (Linux)")
def test_harness_catches_a_dense_n_by_n_matrix():
    """The check below can fail: a single N x N float tensor does not fit under the limit."""
    rc, report, stderr = _run_limited(f"import torch\nprint(torch.zeros({N}, {N}).sum())")
    assert rc != 0 and report is None
    assert "memory" in stderr.lower() or "alloc" in stderr.lower()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS and ru_maxrss in kB (Linux)")
def test_default_vgae_path_has_no_n_by_n_allocation():
    """Generate, split, one epoch of the default VGAE and test scoring on a 100k-node graph in < 2 GB."""
    rc, report, stderr = _run_limited(f"""
        from graphvae.estimators.models import VGAE
        from graphvae.data.split import split_edges
        from graphvae.data.synthetic import degree_corrected_sbm
        split = split_edges(degree_corrected_sbm({N}, edges_per_node=5, seed=0), seed=0)
        model = VGAE(epochs=1).fit(split)
        scores = model.score(split.test_pos, split.test_neg)
        assert model.embed().shape == ({N}, 16) and 0 <= scores["auc"] <= 1
    """)
    assert rc == 0, stderr[-2000:]
    assert report["peak_rss_gb"] < RSS_BUDGET_GB, report
