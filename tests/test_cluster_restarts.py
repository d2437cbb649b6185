"""EM's restarts run one by one (with a progress bar) must be scikit-learn's own ``n_init`` loop: same mixture."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from graphvae.evaluation.node_tasks import _restarted_mixture, cluster


def _blobs(n: int = 600) -> np.ndarray:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, 6))
    z[: n // 3] += 3.0
    z[n // 3: 2 * n // 3] -= 2.0
    return z


@pytest.mark.parametrize("covariance", ["tied", "full", "diag", "spherical"])
@pytest.mark.parametrize("seed", [0, 11])
def test_restarts_one_by_one_are_scikit_learns_n_init_loop(covariance: str, seed: int) -> None:
    """The kept mixture equals ``GaussianMixture(n_init=5, random_state=seed)`` fitted on the same points: its
    means, lower bound and labels, to the bit (the same initializations, drawn in the same order)."""
    c = cluster(_blobs(), 4, covariance_type=covariance, random_state=seed, n_init=5)
    reference = GaussianMixture(4, covariance_type=covariance, n_init=5, reg_covar=1e-4,
                                random_state=seed).fit(c["points"])
    np.testing.assert_array_equal(c["model"].means_, reference.means_)
    assert c["model"].lower_bound_ == reference.lower_bound_
    np.testing.assert_array_equal(c["labels"], reference.predict(c["points"]))


def test_the_restarts_bar_shows_only_when_asked(capsys) -> None:
    cluster(_blobs(), 3, n_init=3, progress=True)
    assert "EM restarts" in capsys.readouterr().err
    cluster(_blobs(), 3, n_init=3)
    assert "EM restarts" not in capsys.readouterr().err


def test_a_convergence_warning_is_said_once_and_only_for_the_run_kept() -> None:
    """One iteration cannot converge: one ConvergenceWarning for the kept run (not one per restart); enough
    iterations on separated blobs: none."""
    points = _blobs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _restarted_mixture(points, GaussianMixture(3, max_iter=1), 4, 0, False)
    assert [w.category for w in caught] == [ConvergenceWarning]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _restarted_mixture(points, GaussianMixture(3), 4, 0, False)
    assert model.converged_
