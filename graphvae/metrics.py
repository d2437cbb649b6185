"""Evaluation: link-prediction AUC and average precision (scikit-learn's definitions)."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from .likelihood import pair_scores


def link_probabilities(z: torch.Tensor, pairs: torch.Tensor) -> np.ndarray:
    r"""Decoder probabilities :math:`\sigma(z_u^\top z_v)` for ``pairs`` of shape ``[2, n]``."""
    with torch.no_grad():
        return torch.sigmoid(pair_scores(z, pairs[0], pairs[1])).cpu().numpy()


def auc_ap(pos_scores: np.ndarray, neg_scores: np.ndarray) -> dict[str, float]:
    """ROC AUC and average precision of scores for positive vs negative pairs."""
    y = np.concatenate([np.ones(len(pos_scores)), np.zeros(len(neg_scores))])
    s = np.concatenate([pos_scores, neg_scores])
    return {"auc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s))}


def link_auc_ap(z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> dict[str, float]:
    """AUC and AP of the inner-product decoder on held-out positive and negative pairs."""
    return auc_ap(link_probabilities(z, pos), link_probabilities(z, neg))
