import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from graphvae.evaluation.metrics import auc_ap, link_auc_ap


import pytest


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_auc_ap_equal_sklearn(seed, ties):
    rng = np.random.default_rng(seed)
    n_pos, n_neg = rng.integers(1, 80, 2)
    pos, neg = rng.normal(1, 1, n_pos), rng.normal(0, 1, n_neg)
    if ties:  # coarse scores: many ties within and across the classes
        pos, neg = np.round(pos), np.round(neg)
    y = np.r_[np.ones(n_pos), np.zeros(n_neg)]
    got = auc_ap(pos, neg)
    assert got["auc"] == pytest.approx(roc_auc_score(y, np.r_[pos, neg]), abs=1e-12)
    assert got["ap"] == pytest.approx(average_precision_score(y, np.r_[pos, neg]), abs=1e-12)


def test_auc_ap_extremes_and_empty():
    assert auc_ap(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == {"auc": 1.0, "ap": 1.0}
    assert auc_ap(np.array([1.0]), np.array([1.0]))["auc"] == 0.5
    with pytest.raises(ValueError, match="at least one positive"):
        auc_ap(np.array([]), np.array([1.0]))


def test_link_auc_brute_force_pair_counting():
    z = torch.randn(30, 4)
    pos, neg = torch.randint(30, (2, 40)), torch.randint(30, (2, 40))
    s = lambda p: torch.sigmoid((z[p[0]] * z[p[1]]).sum(1)).numpy()
    sp, sn = s(pos), s(neg)
    brute = np.mean([(a > b) + 0.5 * (a == b) for a in sp for b in sn])
    assert abs(link_auc_ap(z, pos, neg)["auc"] - brute) < 1e-9
