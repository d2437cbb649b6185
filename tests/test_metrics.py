import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from graphvae.metrics import auc_ap, link_auc_ap


def test_auc_ap_equal_sklearn():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 50), rng.normal(0, 1, 70)
    y = np.r_[np.ones(50), np.zeros(70)]
    got = auc_ap(pos, neg)
    assert got["auc"] == roc_auc_score(y, np.r_[pos, neg])
    assert got["ap"] == average_precision_score(y, np.r_[pos, neg])


def test_link_auc_brute_force_pair_counting():
    z = torch.randn(30, 4)
    pos, neg = torch.randint(30, (2, 40)), torch.randint(30, (2, 40))
    s = lambda p: torch.sigmoid((z[p[0]] * z[p[1]]).sum(1)).numpy()
    sp, sn = s(pos), s(neg)
    brute = np.mean([(a > b) + 0.5 * (a == b) for a in sp for b in sn])
    assert abs(link_auc_ap(z, pos, neg)["auc"] - brute) < 1e-9
