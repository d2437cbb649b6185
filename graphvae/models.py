"""GAE and VGAE as scikit-learn-style estimators: ``VGAE(...).fit(graph_or_split).embed()``."""
from __future__ import annotations

import copy
import time
from typing import Sequence

import numpy as np
import torch

from ._validation import InputError
from .data import Graph, as_graph
from .elbo import ELBO
from .encoder import EncoderInput, GCNEncoder, encoder_input
from .likelihood import LinkLikelihood, LinkTarget
from .metrics import link_auc_ap, link_probabilities
from .operator import adjacency_matrix, normalized_adjacency
from .split import LinkSplit
from .train import train_elbo


class VGAE:
    """Variational graph auto-encoder (Kipf & Welling 2016) for link prediction and node embeddings.

    A GCN encoder over :math:`\\hat A` gives :math:`q(Z\\mid X, A)`, the inner-product decoder gives
    :math:`p(A\\mid Z)`, and training maximizes the ELBO with an unbiased, low-variance estimate of the
    full-graph link likelihood (:class:`graphvae.likelihood.LinkLikelihood`).

    Args:
        hidden: hidden GCN widths (paper: 32).
        latent: latent dimension (paper: 16).
        variational: ``False`` gives the GAE (no KL, a point embedding).
        epochs, lr: Adam training (paper: 200 epochs, lr 0.01).
        beta: KL weight.
        negatives_per_positive: sampled pairs per positive pair each epoch (at least 2 per node); the
            non-edge sum is estimated with a control variate (:class:`graphvae.likelihood.LinkLikelihood`).
        early_stopping: keep the parameters of the epoch with the best validation AUC (needs a
            :class:`LinkSplit`); stop after ``patience`` epochs without improvement.
        random_state: seed for initialization and sampling.
        progress: show a progress bar.
        bias: add a bias to the GCN layers (the paper's layers have none).

    Attributes after ``fit``: ``history_`` (per-epoch loss and ELBO terms), ``train_seconds_``,
    ``best_epoch_`` and ``best_val_auc_`` (with early stopping).
    """

    def __init__(self, hidden: int | Sequence[int] = 32, latent: int = 16, variational: bool = True,
                 epochs: int = 200, lr: float = 0.01, beta: float = 1.0, negatives_per_positive: float = 1.0,
                 early_stopping: bool = False, patience: int = 50, random_state: int = 0, progress: bool = False,
                 bias: bool = False):
        self.hidden = hidden
        self.latent = latent
        self.variational = variational
        self.epochs = epochs
        self.lr = lr
        self.beta = beta
        self.negatives_per_positive = negatives_per_positive
        self.early_stopping = early_stopping
        self.patience = patience
        self.random_state = random_state
        self.progress = progress
        self.bias = bias

    def _check_params(self) -> tuple[int, ...]:
        hidden = (self.hidden,) if isinstance(self.hidden, int) else tuple(self.hidden)
        if any(h < 1 for h in hidden) or self.latent < 1:
            raise InputError(f"layer widths must be positive, got hidden={self.hidden} latent={self.latent}")
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")
        if not self.lr > 0:
            raise InputError(f"lr must be positive, got {self.lr}")
        return hidden

    def fit(self, data: Graph | LinkSplit) -> "VGAE":
        """Train on a graph (all its edges) or on the training part of a :class:`LinkSplit`."""
        hidden = self._check_params()
        self.__dict__.pop("embedding_", None)  # left by an earlier distributed fit (graphvae.distributed)
        split = data if isinstance(data, LinkSplit) else None
        graph = split.train_graph if split is not None else as_graph(data)
        graph.check_trainable(self.latent)
        if self.early_stopping and split is None:
            raise InputError("early_stopping needs a LinkSplit (validation edges)")
        n = int(graph.num_nodes)
        adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
        self.input_ = self._encoder_input(graph, adjacency)
        target = LinkTarget.from_edges(adjacency, n)
        generator = torch.Generator().manual_seed(self.random_state)
        with torch.random.fork_rng():  # seeded initialization without touching the caller's global RNG
            torch.manual_seed(self.random_state)
            encoder = GCNEncoder(int(graph.x.shape[1]), hidden, self.latent, variational=self.variational,
                                 bias=self.bias)
        self.objective_ = ELBO(encoder, self._likelihood(), beta=self.beta)

        best = {"auc": -1.0, "epoch": -1, "state": None}

        def validate(epoch: int, entry: dict) -> bool:
            with torch.no_grad():
                mu = encoder(self.input_).mu
            entry["val_auc"] = link_auc_ap(mu, split.val_pos, split.val_neg)["auc"]
            if entry["val_auc"] > best["auc"]:
                best.update(auc=entry["val_auc"], epoch=epoch, state=copy.deepcopy(encoder.state_dict()))
            return epoch - best["epoch"] >= self.patience

        start = time.perf_counter()
        self.history_ = train_elbo(self.objective_, lambda epoch: [(self.input_, target)], self.epochs, self.lr,
                                   generator, self.progress, validate if self.early_stopping else None,
                                   desc="VGAE" if self.variational else "GAE")
        self.train_seconds_ = time.perf_counter() - start
        if self.early_stopping:
            encoder.load_state_dict(best["state"])
            self.best_epoch_, self.best_val_auc_ = best["epoch"], best["auc"]
        return self

    def _likelihood(self) -> LinkLikelihood:
        """The link likelihood the ELBO uses (a subclass may swap the estimator, e.g. for an ablation)."""
        return LinkLikelihood(self.negatives_per_positive)

    @staticmethod
    def _encoder_input(graph: Graph, adjacency=None) -> EncoderInput:
        """Features and Â of ``graph`` (``adjacency``: its 0/1 matrix, when already built)."""
        n = int(graph.num_nodes)
        if adjacency is None:
            adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
        return encoder_input(graph.x, normalized_adjacency(adjacency, n))

    def _check_fitted(self) -> None:
        if not hasattr(self, "objective_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    def embed(self, graph: Graph | None = None) -> np.ndarray:
        """Node embeddings: the posterior means :math:`\\mu` (``[N, latent]``), for the fitted graph or ``graph``."""
        return self.embed_tensor(graph).numpy()

    def embed_tensor(self, graph: Graph | None = None) -> torch.Tensor:
        self._check_fitted()
        if graph is None and getattr(self, "embedding_", None) is not None:
            return self.embedding_  # a distributed fit (graphvae.distributed) gathered every rank's rows
        if graph is not None:
            graph = as_graph(graph)
            graph.check_features(int(self.input_.features.shape[1]))
        inp = self.input_ if graph is None else self._encoder_input(graph)
        with torch.no_grad():
            return self.objective_.encoder(inp).mu

    def predict_proba(self, pairs: torch.Tensor | np.ndarray) -> np.ndarray:
        """Link probabilities for node-index pairs of shape ``[2, n]``."""
        return link_probabilities(self.embed_tensor(), torch.as_tensor(np.asarray(pairs), dtype=torch.long))

    def score(self, pos: torch.Tensor, neg: torch.Tensor) -> dict[str, float]:
        """AUC and AP on held-out positive and negative pairs (``[2, n]`` each)."""
        return link_auc_ap(self.embed_tensor(), pos, neg)


class GAE(VGAE):
    """Graph auto-encoder: the :class:`VGAE` without the variational head (no KL term)."""

    def __init__(self, hidden: int | Sequence[int] = 32, latent: int = 16, epochs: int = 200, lr: float = 0.01,
                 negatives_per_positive: float = 1.0, early_stopping: bool = False, patience: int = 50,
                 random_state: int = 0, progress: bool = False, bias: bool = False):
        super().__init__(hidden, latent, False, epochs, lr, 1.0, negatives_per_positive, early_stopping, patience,
                         random_state, progress, bias)
