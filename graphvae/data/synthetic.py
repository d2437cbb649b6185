r"""Seeded synthetic graphs with planted structure, for scale benchmarks and tests.

:func:`degree_corrected_sbm` draws a degree-corrected stochastic block model (Karrer & Newman,
"Stochastic blockmodels and community structure in networks", 2011). Each node :math:`i` has a
block :math:`b_i` and a propensity :math:`\theta_i` drawn from a Pareto law, so that expected
degrees follow a power law :math:`P(d) \propto d^{-\gamma}`. Each of the ``m`` edges is drawn
independently: a first endpoint :math:`i` with probability :math:`\theta_i / \sum_k \theta_k`,
and a second endpoint :math:`j` with probability

.. math:: (1-\mu)\,\frac{\theta_j\,[b_j = b_i]}{\Theta_{b_i}} + \mu\,\frac{\theta_j}{\Theta},
          \qquad \Theta_b = \sum_{k: b_k = b} \theta_k,\quad \Theta = \sum_k \theta_k,

i.e. a planted partition in which a fraction :math:`\mu` (``mixing``) of the edges ignores the
blocks. The expected number of edges between two nodes is proportional to
:math:`\theta_i \theta_j\, \omega_{b_i b_j}`, the DC-SBM form. Sampling is vectorized over the
edges (inverse-CDF draws with :func:`numpy.searchsorted` on cumulative propensities), so a graph
with 10M edges takes seconds; self-loops and repeated pairs are then removed by
:func:`graphvae.data.graph.build_graph`, so a graph has slightly fewer than ``m`` undirected edges.

Node features are noisy copies of a per-block centroid, so features and edges carry the same
planted partition, as in a citation graph where topic shapes both words and links.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validation import InputError
from .graph import Graph, build_graph


def power_law_propensities(num_nodes: int, exponent: float, max_ratio: float,
                           rng: np.random.Generator) -> np.ndarray:
    r"""Propensities :math:`\theta_i = U_i^{-1/(\gamma-1)}` (Pareto, minimum 1), capped at ``max_ratio`` times the mean of the draws.

    The tail :math:`P(\theta > t) = t^{-(\gamma-1)}` gives degrees with density :math:`\propto d^{-\gamma}`.
    The cap plays the role of the structural cut-off that keeps hubs from needing more distinct
    neighbours than there are nodes.
    """
    theta = rng.pareto(exponent - 1.0, num_nodes) + 1.0
    return np.minimum(theta, max_ratio * theta.mean())


def degree_corrected_sbm(num_nodes: int, edges_per_node: float = 10.0, num_blocks: int = 10,
                         mixing: float = 0.2, exponent: float = 2.5, num_features: int = 32,
                         feature_noise: float = 1.0, seed: int = 0) -> Graph:
    r"""A degree-corrected SBM with power-law degrees and block-correlated dense features (see the module docstring).

    Args:
        num_nodes: :math:`N`.
        edges_per_node: ``m = round(N * edges_per_node)`` edges are drawn (before removing
            self-loops and repeats), so the mean degree is about ``2 * edges_per_node``.
        num_blocks: number of planted blocks (assigned uniformly at random).
        mixing: :math:`\mu`, the fraction of edges whose second endpoint ignores the blocks
            (``0``: edges only inside blocks; ``1``: no planted structure, a Chung-Lu graph).
        exponent: :math:`\gamma > 2` of the degree power law.
        num_features: width of the dense float32 features (block centroid plus Gaussian noise).
        feature_noise: standard deviation of the noise around unit-variance centroids.
        seed: seeds everything.

    Returns:
        A graph as :func:`graphvae.data.graph.build_graph` returns it, with ``y`` the planted block of
        every node (``int64``).
    """
    if int(num_nodes) != num_nodes or num_nodes < 2:
        raise InputError(f"num_nodes must be an integer of at least 2, got {num_nodes}")
    if not edges_per_node > 0:
        raise InputError(f"edges_per_node must be positive, got {edges_per_node}")
    if int(num_blocks) != num_blocks or not 1 <= num_blocks <= num_nodes:
        raise InputError(f"num_blocks must be an integer in 1..{num_nodes}, got {num_blocks}")
    if not 0 <= mixing <= 1:
        raise InputError(f"mixing must lie in [0, 1], got {mixing}")
    if not exponent > 2:
        raise InputError(f"exponent must be above 2 (finite mean degree), got {exponent}")
    if int(num_features) != num_features or num_features < 1:
        raise InputError(f"num_features must be a positive integer, got {num_features}")
    if not feature_noise >= 0:
        raise InputError(f"feature_noise must be non-negative, got {feature_noise}")
    n, k = int(num_nodes), int(num_blocks)
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, k, n)
    # cap expected degrees near the structural cut-off sqrt(mean degree * N)
    mean_degree = 2.0 * edges_per_node
    theta = power_law_propensities(n, exponent, max(1.0, np.sqrt(mean_degree * n) / mean_degree), rng)
    src, dst = _draw_edges(blocks, theta, k, int(round(n * edges_per_node)), mixing, rng)
    centroids = rng.standard_normal((k, int(num_features)), dtype=np.float32)
    x = rng.standard_normal((n, int(num_features)), dtype=np.float32)
    x *= np.float32(feature_noise)
    x += centroids[blocks]
    graph = build_graph(src, dst, n, x=x)
    graph.y = torch.from_numpy(blocks.astype(np.int64))
    return graph


def _draw_edges(blocks: np.ndarray, theta: np.ndarray, num_blocks: int, m: int, mixing: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``m`` edge endpoints by inverse-CDF sampling on cumulative propensities, nodes grouped by block."""
    order = np.argsort(blocks, kind="stable")  # nodes of block b are order[start[b]:start[b+1]]
    cum = np.cumsum(theta[order])
    start = np.searchsorted(blocks[order], np.arange(num_blocks + 1))
    below = np.concatenate([[0.0], cum])[start]  # cumulative propensity before each block
    lo, width = below[:-1], np.diff(below)
    total = cum[-1]

    def pick(u: np.ndarray) -> np.ndarray:
        return order[np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)]

    src = pick(rng.random(m) * total)
    b = blocks[src]
    anywhere = rng.random(m) < mixing
    u = rng.random(m)
    dst = pick(np.where(anywhere, u * total, lo[b] + u * width[b]))
    return src, dst
