"""Image data for the VAE as a graph with no edges: the bundled digits set and mini-batches.

A batch of ``B`` images is a graph of ``B`` nodes without edges; its operator is the identity, so the
GCN encoder acts as an MLP on the pixels (see :mod:`graphvae.operator`).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .encoder import EncoderInput, encoder_input
from .operator import SparseOperator


def load_digits(binarize: bool = True) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """scikit-learn's 8x8 digits as ``(x [n, 64] float32, y [n], (8, 8))``.

    ``binarize=True`` gives pixels ``> 8`` (of 16) as 1, else 0 (for Bernoulli pixels); otherwise values in [0, 1].
    """
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.data > 8).astype(np.float32) if binarize else (d.data / 16.0).astype(np.float32)
    return x, d.target.astype(np.int64), (8, 8)


def edgeless_input(x: torch.Tensor) -> EncoderInput:
    """The encoder input of a batch of images: features ``x`` on a graph with no edges (``Â = I``)."""
    return encoder_input(x, SparseOperator(None, n=x.shape[0]))


def image_batches(x: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True) -> Iterator[tuple[EncoderInput, torch.Tensor]]:
    """``(encoder input, target)`` mini-batches of images for :func:`graphvae.train.train_elbo`."""
    order = torch.randperm(x.shape[0], generator=generator) if shuffle else torch.arange(x.shape[0])
    for start in range(0, x.shape[0], batch_size):
        xb = x[order[start:start + batch_size]]
        yield edgeless_input(xb), xb
