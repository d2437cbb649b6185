"""Image data for the VAE as a graph with no edges: the bundled digits set.

A batch of ``B`` images is a graph of ``B`` nodes without edges; its operator is the identity, so the
GCN encoder acts as an MLP on the pixels (see :mod:`graphvae.nn.operator`). The encoder input of such a
batch is :func:`graphvae.nn.encoder.edgeless_input`, the mini-batches :func:`graphvae.training.trainer.image_batches`
(data never imports the layers above it).
"""
from __future__ import annotations

import numpy as np


def load_digits(binarize: bool = True) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """scikit-learn's 8x8 digits as ``(x [n, 64] float32, y [n], (8, 8))``.

    ``binarize=True`` gives pixels ``> 8`` (of 16) as 1, else 0 (for Bernoulli pixels); otherwise values in [0, 1].
    """
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.data > 8).astype(np.float32) if binarize else (d.data / 16.0).astype(np.float32)
    return x, d.target.astype(np.int64), (8, 8)
