"""Evaluation: link-prediction AUC and average precision (scikit-learn's definitions, tested against it).

Both are computed from one sort of the scores in NumPy: scikit-learn's metrics module costs over a
second to import, more than a whole Cora training run.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validation import InputError
from ..nn.inner_product import pair_scores


def link_probabilities(z: torch.Tensor, pairs: torch.Tensor) -> np.ndarray:
    r"""Decoder probabilities :math:`\sigma(z_u^\top z_v)` for ``pairs`` of shape ``[2, n]``."""
    with torch.no_grad():
        return torch.sigmoid(pair_scores(z, pairs[0], pairs[1])).cpu().numpy()


def auc_ap(pos_scores: np.ndarray, neg_scores: np.ndarray) -> dict[str, float]:
    r"""ROC AUC and average precision of scores for positive vs negative pairs.

    With the scores sorted in decreasing order and grouped into distinct thresholds :math:`t_k`,
    :math:`TP_k` and :math:`FP_k` are the positives and negatives scoring :math:`\ge t_k`. Then
    :math:`\mathrm{AUC} = \sum_k (FP_k - FP_{k-1}) (TP_k + TP_{k-1}) / (2 P N)` (the trapezoidal area,
    ties counted half) and :math:`\mathrm{AP} = \sum_k (TP_k - TP_{k-1}) / P \cdot TP_k / (TP_k + FP_k)`,
    scikit-learn's ``roc_auc_score`` and ``average_precision_score``.
    """
    pos, neg = np.asarray(pos_scores, dtype=np.float64).ravel(), np.asarray(neg_scores, dtype=np.float64).ravel()
    if pos.size == 0 or neg.size == 0:
        raise InputError("AUC and AP need at least one positive and one negative pair")
    if np.isnan(pos).any() or np.isnan(neg).any():  # NaN would sort as distinct thresholds: a meaningless score
        raise InputError("AUC and AP need scores that are not NaN (did training diverge?)")
    scores = np.concatenate([pos, neg])
    order = np.argsort(-scores, kind="stable")
    labels = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])[order]
    # the last index of each group of equal scores: one threshold per distinct score (compared with !=, not by a
    # difference: inf - inf is NaN, which split equal infinite scores into two thresholds and broke their tie)
    ranked = scores[order]
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), scores.size - 1]
    tp = np.cumsum(labels)[last]
    fp = (last + 1) - tp
    tp_prev, fp_prev = np.r_[0.0, tp[:-1]], np.r_[0.0, fp[:-1]]
    auc = np.sum((fp - fp_prev) * (tp + tp_prev)) / (2.0 * pos.size * neg.size)
    ap = np.sum((tp - tp_prev) / pos.size * tp / (tp + fp))
    return {"auc": float(auc), "ap": float(ap)}


def link_auc_ap(z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> dict[str, float]:
    """AUC and AP of the inner-product decoder on held-out positive and negative pairs."""
    return auc_ap(link_probabilities(z, pos), link_probabilities(z, neg))
