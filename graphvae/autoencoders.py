r"""The autoencoder family (vanilla, denoising, sparse, contractive, stacked) on the shared ELBO module.

Every autoencoder here is the :class:`graphvae.elbo.ELBO` with a deterministic encoder
(``GCNEncoder(variational=False)``, so the KL term is 0) and extra terms, never a second model or loss:

.. math:: \mathcal L(x) = -\log p\big(x \mid g(f(\tilde x))\big) + \lambda\,\Omega(x),

with :math:`f` the encoder, :math:`g` the decoder (an :class:`graphvae.decoder.MLPDecoder` for
pixels, the inner product for links), :math:`\tilde x` the input the encoder sees and
:math:`\Omega` a :class:`graphvae.elbo.Penalty`:

- **vanilla** -- :math:`\tilde x = x`, no penalty; Bernoulli or Gaussian (MSE) reconstruction through a bottleneck.
- **denoising** (Vincent et al., ICML 2008) -- :math:`\tilde x` is a corrupted copy of :math:`x`
  (:func:`corrupt`: masking noise, additive Gaussian noise, salt-and-pepper) and the clean
  :math:`x` is reconstructed. On a graph the encoder sees a fresh random subset of the edges
  each epoch (:func:`hide_edges`) and/or masked node features (:func:`mask_features`), and the
  whole training graph is reconstructed with :class:`graphvae.likelihood.LinkLikelihood`.
- **sparse** (Ng's lecture notes on sparse autoencoders) -- :class:`SparsityKL`:
  :math:`\Omega = \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)` with :math:`\hat\rho_j` the mean
  activation of sigmoid hidden unit :math:`j` over the batch; or :class:`ActivationL1`,
  :math:`\Omega = \lVert h \rVert_1`, for ReLU units.
- **contractive** (Rifai et al., ICML 2011) -- :class:`ContractivePenalty`:
  :math:`\Omega = \lVert J_f(x) \rVert_F^2 = \sum_{ij} (\partial f_j / \partial x_i)^2`, exact in
  closed form for dense layers with a known activation (:func:`jacobian_sq_norm`), or a
  Hutchinson estimate through autograd for any encoder.
- **stacked** (Bengio et al., NIPS 2006) -- :class:`StackedAutoencoder`: each layer is pretrained
  as a one-layer autoencoder on the codes of the layer below, then the whole stack plus a
  classifier head is fine-tuned on labels (the labels' likelihood :class:`CategoricalLikelihood`
  in the same ELBO module) and compared with the same network trained from scratch.

Penalties are totals over the rows of a batch, like the log-likelihood, so for images (whose loss
is divided by the batch size) the loss is per image: reconstruction + :math:`\lambda\,\Omega`.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, kl_divergence

from ._validation import InputError, check_finite
from .data import Graph, as_graph
from .decoder import MLPDecoder
from .elbo import ELBO, Penalty
from .encoder import EncoderInput, GCNEncoder, encoder_input
from .images import edgeless_input, image_batches
from .latent import Posterior
from .likelihood import Likelihood, LinkLikelihood, LinkTarget
from .masking import mask_edges
from .metrics import link_auc_ap
from .operator import normalized_adjacency
from .pixel_likelihood import BernoulliPixels, GaussianPixels, PixelLikelihood
from .split import LinkSplit
from .train import train_elbo

KINDS = ("vanilla", "denoising", "sparse", "contractive")
GRAPH_KINDS = ("vanilla", "denoising", "sparse")
NOISES = ("masking", "gaussian", "salt_pepper")
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}

# derivative of each activation written in terms of its output h = act(a)
_DERIVATIVE_FROM_OUTPUT: dict[Callable, Callable[[torch.Tensor], torch.Tensor]] = {
    torch.sigmoid: lambda h: h * (1 - h),
    torch.tanh: lambda h: 1 - h.square(),
    torch.relu: lambda h: (h > 0).to(h.dtype),
}


# --------------------------------------------------------------------------------------------- penalties
class SparsityKL(Penalty):
    r"""Sparsity penalty :math:`\lambda\, n \sum_j \mathrm{KL}(\rho\,\|\,\hat\rho_j)` on sigmoid hidden units.

    :math:`\hat\rho_j = \frac1n \sum_{m=1}^n h_{mj}` is the mean activation of unit :math:`j` over the
    ``n`` rows of the batch and the KL is between Bernoulli variables,
    :math:`\rho\log\frac{\rho}{\hat\rho_j} + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}` (computed by
    :func:`torch.distributions.kl_divergence`). The factor ``n`` makes it a total over the batch,
    so the per-row loss is reconstruction :math:`+\ \lambda\sum_j\mathrm{KL}`. Applies to every
    hidden layer of the encoder; activations must lie in [0, 1] (sigmoid).
    """

    def __init__(self, rho: float = 0.05, weight: float = 1.0):
        super().__init__()
        if not 0 < rho < 1:
            raise InputError(f"sparsity target rho must be in (0, 1), got {rho}")
        _check_weight(weight)
        self.rho = rho
        self.weight = weight

    def forward(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
                encoder: GCNEncoder) -> torch.Tensor:
        total = posterior.mu.new_zeros(())
        for h in hidden:
            rho_hat = h.mean(0).clamp(1e-6, 1 - 1e-6)
            rho = torch.full_like(rho_hat, self.rho)
            total = total + h.shape[0] * kl_divergence(Bernoulli(probs=rho), Bernoulli(probs=rho_hat)).sum()
        return self.weight * total


class ActivationL1(Penalty):
    r"""The L1 alternative for ReLU units: :math:`\lambda \sum_m \sum_j |h_{mj}|` over every hidden layer."""

    def __init__(self, weight: float = 1e-3):
        super().__init__()
        _check_weight(weight)
        self.weight = weight

    def forward(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
                encoder: GCNEncoder) -> torch.Tensor:
        return self.weight * sum((h.abs().sum() for h in hidden), posterior.mu.new_zeros(()))


class ContractivePenalty(Penalty):
    r"""Contractive penalty :math:`\lambda \sum_m \lVert J_f(x_m) \rVert_F^2` of the encoder :math:`f: x \mapsto z`.

    ``method="exact"`` uses the closed form of :func:`jacobian_sq_norm` (no autograd loop), falling
    back to exact autograd for an activation without a known derivative; ``"hutchinson"`` uses
    ``num_probes`` random probes (cheaper for a wide code). Images only (edgeless input).
    """

    def __init__(self, weight: float = 0.1, method: str = "exact", num_probes: int = 1):
        super().__init__()
        _check_weight(weight)
        _check_method(method, num_probes)
        self.weight = weight
        self.method = method
        self.num_probes = num_probes

    def forward(self, inp: EncoderInput, posterior: Posterior, hidden: list[torch.Tensor],
                encoder: GCNEncoder) -> torch.Tensor:
        sq = jacobian_sq_norm(encoder, inp, self.method, self.num_probes, hidden=hidden, create_graph=True)
        return self.weight * sq.sum()


def _check_weight(weight: float) -> None:
    if not weight >= 0:
        raise InputError(f"penalty weight must be non-negative, got {weight}")


def _check_method(method: str, num_probes: int) -> None:
    if method not in ("exact", "autograd", "hutchinson"):
        raise InputError(f"unknown Jacobian method '{method}' (choose from: exact, autograd, hutchinson)")
    if num_probes < 1:
        raise InputError(f"num_probes must be at least 1, got {num_probes}")


# ------------------------------------------------------------------------------------------- Jacobians
def jacobian_sq_norm(encoder: GCNEncoder, inp: EncoderInput, method: str = "exact", num_probes: int = 1,
                     hidden: list[torch.Tensor] | None = None, create_graph: bool = False) -> torch.Tensor:
    r"""Per row :math:`\lVert J_f(x_m) \rVert_F^2`, :math:`J_f = \partial z_m / \partial x_m`, for an edgeless input.

    - ``"exact"``: the closed form. With :math:`W_l` of shape ``[in, out]`` and :math:`D_l` the
      diagonal of the activation's derivative at layer :math:`l` (for a sigmoid
      :math:`h(1-h)`, read off the layer's output),
      :math:`J^\top = W_1 D_1 W_2 D_2 \cdots D_L W_{\text{head}}`, built from the code side in
      :math:`O(n\, d \sum_l w_l w_{l-1})`. For one sigmoid layer :math:`h = \sigma(xW + b)` this is the
      familiar :math:`\sum_j (h_j(1-h_j))^2 \sum_i W_{ij}^2`. ``hidden`` (the encoder's activations for
      ``inp``) saves the forward pass. Falls back to ``"autograd"`` for other activations.
    - ``"autograd"``: exact, one vector-Jacobian product per code dimension, :math:`\sum_k \lVert J^\top e_k\rVert^2`.
    - ``"hutchinson"``: unbiased estimate :math:`\frac1P \sum_p \lVert J^\top v_p \rVert^2`,
      :math:`v_p \sim \mathcal N(0, I)` (uses the global torch generator).
    """
    _check_method(method, num_probes)
    if not inp.adj.is_identity or not isinstance(inp.features, torch.Tensor) or inp.features.layout != torch.strided:
        raise InputError("the encoder Jacobian is defined here for dense inputs on an edgeless graph (images)")
    derivative = _DERIVATIVE_FROM_OUTPUT.get(encoder.activation)
    if method == "exact" and derivative is not None and not encoder.variational:
        if hidden is None:
            _, hidden = encoder(inp, return_hidden=True)
        m = encoder.head.weight.T.expand(inp.num_nodes, -1, -1)  # [n, d, w_L]
        for layer, h in zip(reversed(encoder.layers), reversed(hidden)):
            m = (m * derivative(h).unsqueeze(1)) @ layer.weight.T
        return m.square().sum((1, 2))
    return _vjp_sq_norm(encoder, inp, None if method in ("exact", "autograd") else num_probes, create_graph)


def _vjp_sq_norm(encoder: GCNEncoder, inp: EncoderInput, num_probes: int | None, create_graph: bool) -> torch.Tensor:
    """``sum_k |J^T e_k|^2`` (``num_probes=None``) or the Hutchinson mean over Gaussian probes."""
    x = inp.features.detach().requires_grad_(True)
    with torch.enable_grad():
        z = encoder(EncoderInput(x, inp.adj, inp.propagated)).mu
        d = z.shape[1]
        probes = torch.eye(d, dtype=z.dtype).unsqueeze(1).expand(d, *z.shape) if num_probes is None \
            else torch.randn(num_probes, *z.shape, dtype=z.dtype)
        total = x.new_zeros(x.shape[0])
        for v in probes:
            (g,) = torch.autograd.grad(z, x, grad_outputs=v, create_graph=create_graph, retain_graph=True)
            total = total + g.square().sum(1)
    return total if num_probes is None else total / num_probes


# ------------------------------------------------------------------------------------------ corruption
def corrupt(x: torch.Tensor, noise: str = "masking", level: float = 0.3,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""A corrupted copy :math:`\tilde x` of a batch of images ``x`` (values in [0, 1]).

    - ``"masking"``: each input unit is set to 0 with probability ``level`` (dropout on the input).
    - ``"gaussian"``: :math:`\tilde x = x + \text{level}\cdot\varepsilon`, :math:`\varepsilon\sim\mathcal N(0, I)`.
    - ``"salt_pepper"``: each unit is, with probability ``level``, replaced by 0 or 1 (equally likely).
    """
    if noise not in NOISES:
        raise InputError(f"unknown noise '{noise}' (choose from: {', '.join(NOISES)})")
    if not (level >= 0 and (noise == "gaussian" or level <= 1)):
        raise InputError(f"noise level must be in [0, 1] ({noise}), got {level}")
    if noise == "gaussian":
        return x + level * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    hit = torch.rand(x.shape, generator=generator) < level
    if noise == "masking":
        return x.masked_fill(hit, 0.0)
    salt = (torch.rand(x.shape, generator=generator) < 0.5).to(x.dtype)
    return torch.where(hit, salt, x)


def hide_edges(edge_index: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Drop each undirected edge (both directions together) with probability ``fraction``: the visible
    part of :func:`graphvae.masking.mask_edges`."""
    if not 0 <= fraction < 1:
        raise InputError(f"the fraction of hidden edges must be in [0, 1), got {fraction}")
    return mask_edges(edge_index, fraction, generator)[0]


def mask_features(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Masking noise on node features: each stored entry (dense, or sparse CSR/COO) is zeroed with probability ``fraction``."""
    if not 0 <= fraction <= 1:
        raise InputError(f"the fraction of masked features must be in [0, 1], got {fraction}")
    if x.layout == torch.strided:
        return corrupt(x, "masking", fraction, generator)
    if x.layout != torch.sparse_csr:
        x = x.to_sparse_csr()
    values = corrupt(x.values(), "masking", fraction, generator)
    return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), values, size=x.shape, check_invariants=False)


def denoising_graph_batches(graph: Graph, hidden_edges: float, feature_mask: float,
                            generator: torch.Generator) -> Callable[[int], list]:
    """``batches(epoch)`` for :func:`graphvae.train.train_elbo`: a corrupted view of ``graph`` to encode, the whole graph as target.

    Each epoch the encoder gets :math:`\\hat A` of a random subset of the edges (a fraction
    ``hidden_edges`` hidden) and masked features, while :class:`LinkTarget` holds every edge of ``graph``.
    """
    n = int(graph.num_nodes)
    target = LinkTarget.from_edges(graph.edge_index, n)

    def batches(epoch: int) -> list:
        edges = hide_edges(graph.edge_index, hidden_edges, generator) if hidden_edges > 0 else graph.edge_index
        x = mask_features(graph.x, feature_mask, generator) if feature_mask > 0 else graph.x
        return [(encoder_input(x, normalized_adjacency(edges.numpy(), n)), target)]

    return batches


def denoising_image_batches(x: torch.Tensor, batch_size: int, noise: str, level: float,
                            generator: torch.Generator) -> Iterable[tuple[EncoderInput, torch.Tensor]]:
    """Mini-batches whose encoder input is :func:`corrupt`-ed and whose target is the clean batch."""
    for _, clean in image_batches(x, batch_size, generator):
        yield edgeless_input(corrupt(clean, noise, level, generator)), clean


# ---------------------------------------------------------------------------------------- probes
def linear_probe_accuracy(train_codes: np.ndarray, y_train: np.ndarray, test_codes: np.ndarray,
                          y_test: np.ndarray, random_state: int = 0) -> float:
    """Test accuracy of a logistic regression (on standardized codes) trained on the training codes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=random_state))
    return float(probe.fit(train_codes, y_train).score(test_codes, y_test))


# ------------------------------------------------------------------------------------------ estimator
def _as_images(x, what: str = "images") -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a numeric array of shape [n, pixels]") from None
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"{what} must be a non-empty 2-d array [n, pixels], got shape {a.shape}")
    check_finite(a, what)
    return torch.from_numpy(a)


class Autoencoder:
    r"""A deterministic autoencoder of kind vanilla, denoising, sparse or contractive (scikit-learn style).

    ``fit(X)`` trains on images (an array ``[n, pixels]``, a graph without edges) or on a graph
    (a :class:`graphvae.data.Graph` or the training part of a :class:`LinkSplit`; kinds
    vanilla, denoising and sparse), always with :class:`graphvae.elbo.ELBO`, no KL term and the
    kind's penalty (see the module docstring).

    Args:
        kind: ``"vanilla"``, ``"denoising"``, ``"sparse"`` or ``"contractive"``.
        hidden: hidden widths of the encoder (the decoder mirrors them).
        latent: width of the code :math:`z`.
        activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"`` for the hidden layers.
        likelihood: ``"bernoulli"`` (cross-entropy) or ``"gaussian"`` (MSE, :math:`\sigma = 1`) pixels.
        noise, noise_level: the denoising corruption of images (:func:`corrupt`); on graphs
            ``noise_level`` is the fraction of masked feature entries.
        hidden_edges: denoising on graphs, the fraction of edges hidden from the encoder each epoch.
        sparsity: the target mean activation :math:`\rho`; ``sparse_penalty`` ``"kl"`` or ``"l1"``.
        weight: :math:`\lambda` of the penalty (default: 1 for KL sparsity, 1e-3 for L1, 0.1 for contractive).
            On a graph the loss is per node pair, so the per-node penalty is multiplied by ``N``.
        jacobian: ``"exact"`` (closed form) or ``"hutchinson"`` (``num_probes`` probes) for the contractive penalty.
        epochs, batch_size, lr: Adam training (the graph is one batch).
        random_state: seed of initialization, batching and noise.

    Attributes after ``fit``: ``objective_`` (the ELBO module), ``history_``, ``train_seconds_``.
    """

    def __init__(self, kind: str = "vanilla", hidden: int | Sequence[int] = 64, latent: int = 16,
                 activation: str = "sigmoid", likelihood: str = "bernoulli", noise: str = "masking",
                 noise_level: float = 0.3, hidden_edges: float = 0.2, sparsity: float = 0.05,
                 sparse_penalty: str = "kl", weight: float | None = None, jacobian: str = "exact",
                 num_probes: int = 1, epochs: int = 50, batch_size: int = 64, lr: float = 0.005,
                 random_state: int = 0, progress: bool = False):
        self.kind = kind
        self.hidden = hidden
        self.latent = latent
        self.activation = activation
        self.likelihood = likelihood
        self.noise = noise
        self.noise_level = noise_level
        self.hidden_edges = hidden_edges
        self.sparsity = sparsity
        self.sparse_penalty = sparse_penalty
        self.weight = weight
        self.jacobian = jacobian
        self.num_probes = num_probes
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.progress = progress

    # -- construction ---------------------------------------------------------------------------------
    def _check_params(self) -> tuple[int, ...]:
        if self.kind not in KINDS:
            raise InputError(f"unknown autoencoder kind '{self.kind}' (choose from: {', '.join(KINDS)})")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation '{self.activation}' (choose from: {', '.join(ACTIVATIONS)})")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise InputError(f"unknown likelihood '{self.likelihood}' (choose from: bernoulli, gaussian)")
        if self.sparse_penalty not in ("kl", "l1"):
            raise InputError(f"unknown sparse penalty '{self.sparse_penalty}' (choose from: kl, l1)")
        if self.kind == "sparse" and self.sparse_penalty == "kl" and self.activation != "sigmoid":
            raise InputError("the KL sparsity penalty needs sigmoid hidden units (use --activation sigmoid or L1)")
        hidden = (self.hidden,) if isinstance(self.hidden, int) else tuple(self.hidden)
        if any(h < 1 for h in hidden) or self.latent < 1:
            raise InputError(f"layer widths must be positive, got hidden={self.hidden} latent={self.latent}")
        if self.kind == "sparse" and not hidden:
            raise InputError("a sparse autoencoder needs at least one hidden layer")
        if self.epochs < 1 or self.batch_size < 1:
            raise InputError(f"epochs and batch_size must be at least 1, got {self.epochs} and {self.batch_size}")
        if not self.lr > 0:
            raise InputError(f"lr must be positive, got {self.lr}")
        return hidden

    def _penalties(self, rows_per_unit: float = 1.0) -> list[Penalty]:
        if self.kind == "sparse" and self.sparse_penalty == "kl":
            weight = 1.0 if self.weight is None else self.weight
            return [SparsityKL(self.sparsity, weight * rows_per_unit)]
        if self.kind == "sparse":
            return [ActivationL1((1e-3 if self.weight is None else self.weight) * rows_per_unit)]
        if self.kind == "contractive":
            weight = 0.1 if self.weight is None else self.weight
            return [ContractivePenalty(weight * rows_per_unit, self.jacobian, self.num_probes)]
        return []

    def _pixel_likelihood(self, hidden: tuple[int, ...], pixels: int) -> PixelLikelihood:
        decoder = MLPDecoder(self.latent, hidden[::-1], pixels, ACTIVATIONS[self.activation])
        if self.likelihood == "bernoulli":
            return BernoulliPixels(decoder)
        return GaussianPixels(decoder, pixels, sigma=1.0)

    # -- training -------------------------------------------------------------------------------------
    def fit(self, X, y=None) -> "Autoencoder":
        """Train on images ``X [n, pixels]`` or on a graph (``Graph`` or ``LinkSplit``); ``y`` is ignored.

        A networkx graph or a PyG ``Data`` is converted by :func:`graphvae.data.as_graph` (a scipy matrix
        is read as images here: convert an adjacency with ``as_graph`` first).
        """
        hidden = self._check_params()
        torch.manual_seed(self.random_state)
        generator = torch.Generator().manual_seed(self.random_state)
        if hasattr(X, "edge_index") and not isinstance(X, (Graph, LinkSplit)) or type(X).__module__.startswith("networkx"):
            X = as_graph(X)
        if isinstance(X, (Graph, LinkSplit)):
            return self._fit_graph(X, hidden, generator)
        x = _as_images(X)
        if self.likelihood == "bernoulli" and (x.min() < 0 or x.max() > 1):
            raise InputError("Bernoulli pixels must lie in [0, 1] (rescale the images or use likelihood='gaussian')")
        self.graph_, self.n_pixels_ = None, x.shape[1]
        encoder = GCNEncoder(x.shape[1], hidden, self.latent, variational=False,
                             activation=ACTIVATIONS[self.activation])
        self.objective_ = ELBO(encoder, self._pixel_likelihood(hidden, x.shape[1]), beta=0.0,
                               penalties=self._penalties())
        if self.kind == "denoising":
            corrupt(x[:1], self.noise, self.noise_level)  # validate the noise settings before training

            def batches(epoch):
                return denoising_image_batches(x, self.batch_size, self.noise, self.noise_level, generator)
        else:
            def batches(epoch):
                return image_batches(x, self.batch_size, generator)
        return self._train(batches, generator)

    def _fit_graph(self, data: Graph | LinkSplit, hidden: tuple[int, ...], generator: torch.Generator) -> "Autoencoder":
        if self.kind not in GRAPH_KINDS:
            raise InputError(f"kind '{self.kind}' is for images; on a graph choose from: {', '.join(GRAPH_KINDS)}")
        graph = data.train_graph if isinstance(data, LinkSplit) else data
        graph.check_trainable(self.latent)
        n = int(graph.num_nodes)
        self.graph_ = graph
        encoder = GCNEncoder(int(graph.x.shape[1]), hidden, self.latent, variational=False,
                             activation=ACTIVATIONS[self.activation])
        # the link loss is divided by N^2 pairs, a per-node penalty by N rows: rescale so lambda means the same
        self.objective_ = ELBO(encoder, LinkLikelihood(), beta=0.0, penalties=self._penalties(rows_per_unit=n))
        if self.kind == "denoising":
            batches = denoising_graph_batches(graph, self.hidden_edges, self.noise_level, generator)
        else:
            clean = [(self._graph_input(graph), LinkTarget.from_edges(graph.edge_index, n))]

            def batches(epoch):
                return clean
        return self._train(batches, generator)

    def _train(self, batches, generator: torch.Generator) -> "Autoencoder":
        start = time.perf_counter()
        self.history_ = train_elbo(self.objective_, batches, self.epochs, self.lr, generator, self.progress,
                                   desc=f"{self.kind} autoencoder")
        self.train_seconds_ = time.perf_counter() - start
        return self

    # -- inference ------------------------------------------------------------------------------------
    @staticmethod
    def _graph_input(graph: Graph) -> EncoderInput:
        return encoder_input(graph.x, normalized_adjacency(graph.edge_index.numpy(), int(graph.num_nodes)))

    def _input(self, X) -> EncoderInput:
        if not hasattr(self, "objective_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit() first")
        if X is None or isinstance(X, (Graph, LinkSplit)):
            if self.graph_ is None:
                raise InputError("this autoencoder was fitted on images: pass images")
            graph = self.graph_ if X is None else (X.train_graph if isinstance(X, LinkSplit) else X)
            return self._graph_input(graph)
        if self.graph_ is not None:
            raise InputError("this autoencoder was fitted on a graph: pass a graph (or None)")
        x = _as_images(X)
        if x.shape[1] != self.n_pixels_:
            raise InputError(f"images have {x.shape[1]} pixels, the model was fitted on {self.n_pixels_}")
        return edgeless_input(x)

    def transform(self, X=None) -> np.ndarray:
        """The codes :math:`z = f(x)`: ``[n, latent]`` for images, node embeddings for a graph (``None``: the fitted one)."""
        inp = self._input(X)
        with torch.no_grad():
            return self.objective_.encoder(inp).mu.numpy()

    def hidden_activations(self, X=None) -> list[np.ndarray]:
        """The hidden layers' activations ``[n, width]``, one array per hidden layer."""
        with torch.no_grad():
            _, hidden = self.objective_.encoder(self._input(X), return_hidden=True)
        return [h.numpy() for h in hidden]

    def reconstruct(self, X) -> np.ndarray:
        """The mean image of :math:`p(x \\mid z = f(x))` for each row of ``X``."""
        inp = self._input(X)
        if self.graph_ is not None:
            raise InputError("reconstruct is for images; score held-out links of a graph with score()")
        lik = self.objective_.likelihood
        with torch.no_grad():
            return lik.mean(lik.decoder(self.objective_.encoder(inp).mu)).numpy()

    def reconstruction_error(self, X, clean=None) -> float:
        """Mean squared error per pixel between the reconstruction of ``X`` and ``clean`` (default: ``X``)."""
        target = _as_images(X if clean is None else clean)
        return float(((torch.from_numpy(self.reconstruct(X)) - target) ** 2).mean())

    def jacobian_norm(self, X, method: str = "exact", num_probes: int = 1) -> np.ndarray:
        r"""Per image :math:`\lVert J_f(x) \rVert_F` of the encoder (see :func:`jacobian_sq_norm`)."""
        inp = self._input(X)
        sq = jacobian_sq_norm(self.objective_.encoder, inp, method, num_probes)
        return sq.detach().sqrt().numpy()

    def score(self, pos: torch.Tensor, neg: torch.Tensor) -> dict[str, float]:
        """Graphs: AUC and AP of the inner-product decoder on held-out pairs ``[2, n]``."""
        z = torch.from_numpy(self.transform(None))
        return link_auc_ap(z, pos, neg)


# --------------------------------------------------------------------------------------------- stacked
class CategoricalLikelihood(Likelihood):
    r"""Labels as the likelihood: :math:`\log p(y \mid z) = \log\operatorname{softmax}(z)_y`, summed; scale = batch size.

    With a deterministic encoder whose head is a classifier, the ELBO is the negative cross-entropy,
    so supervised fine-tuning runs through the same :class:`graphvae.elbo.ELBO` and trainer.
    """

    def scale(self, target: torch.Tensor) -> float:
        return float(target.shape[0])

    def forward(self, z: torch.Tensor, target: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return -F.cross_entropy(z, target, reduction="sum")


class ActivatedDecoder(nn.Module):
    """``decoder(activation(z))``: turns a linear code into a hidden layer's output before decoding it."""

    def __init__(self, activation: Callable[[torch.Tensor], torch.Tensor], decoder: nn.Module):
        super().__init__()
        self.activation = activation
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.activation(z))


class StackedAutoencoder:
    r"""Greedy layer-wise pretraining then supervised fine-tuning (scikit-learn style classifier).

    The network is ``GCNEncoder(pixels, hidden, n_classes, variational=False)`` on an edgeless
    graph: hidden layers :math:`h_l = \text{act}(h_{l-1} W_l + b_l)` and a linear classifier head.
    With ``pretrain=True``, layer :math:`l` is first trained alone as an autoencoder on the codes
    :math:`h_{l-1}` of the already trained layers (:math:`h_0 = x`): a one-layer encoder
    :math:`h_{l-1} \mapsto a_l`, the decoder :math:`h_{l-1} \approx g(\text{act}(a_l))`, Bernoulli
    reconstruction for [0, 1] codes (sigmoid; the pixels if ``likelihood="bernoulli"``) else Gaussian.
    Its weights initialize layer :math:`l`. Then the whole stack and the head are fine-tuned on the
    labels (:class:`CategoricalLikelihood`). ``pretrain=False`` trains the same network from scratch
    with the same fine-tuning budget.

    Attributes after ``fit``: ``objective_``, ``pretrain_history_`` (one history per layer),
    ``history_`` (fine-tuning), ``classes_``, ``train_seconds_``.
    """

    def __init__(self, hidden: Sequence[int] = (128, 64), activation: str = "sigmoid", likelihood: str = "bernoulli",
                 pretrain: bool = True, pretrain_epochs: int = 20, finetune_epochs: int = 20, batch_size: int = 64,
                 lr: float = 0.005, finetune_lr: float | None = None, random_state: int = 0, progress: bool = False):
        self.hidden = hidden
        self.activation = activation
        self.likelihood = likelihood
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.finetune_lr = finetune_lr
        self.random_state = random_state
        self.progress = progress

    def _check_params(self) -> tuple[int, ...]:
        hidden = (self.hidden,) if isinstance(self.hidden, int) else tuple(self.hidden)
        if not hidden or any(h < 1 for h in hidden):
            raise InputError(f"a stacked autoencoder needs positive hidden widths, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation '{self.activation}' (choose from: {', '.join(ACTIVATIONS)})")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise InputError(f"unknown likelihood '{self.likelihood}' (choose from: bernoulli, gaussian)")
        if min(self.pretrain_epochs, self.finetune_epochs, self.batch_size) < 1:
            raise InputError("pretrain_epochs, finetune_epochs and batch_size must be at least 1")
        if not self.lr > 0 or (self.finetune_lr is not None and not self.finetune_lr > 0):
            raise InputError("learning rates must be positive")
        return hidden

    def fit(self, X, y) -> "StackedAutoencoder":
        """Pretrain (if ``pretrain``) on ``X [n, pixels]``, then fine-tune on the labels ``y [n]``."""
        hidden = self._check_params()
        x = _as_images(X)
        y_np = np.asarray(y)
        if y_np.ndim != 1 or y_np.shape[0] != x.shape[0]:
            raise InputError(f"y must be 1-d with one label per row of X ({x.shape[0]}), got shape {y_np.shape}")
        self.classes_, labels = np.unique(y_np, return_inverse=True)
        if self.classes_.size < 2:
            raise InputError("y must hold at least two classes")
        torch.manual_seed(self.random_state)
        generator = torch.Generator().manual_seed(self.random_state)
        act = ACTIVATIONS[self.activation]
        network = GCNEncoder(x.shape[1], hidden, int(self.classes_.size), variational=False, activation=act)
        start = time.perf_counter()
        self.pretrain_history_ = self._pretrain(network, x, generator) if self.pretrain else []
        self.objective_ = ELBO(network, CategoricalLikelihood(), beta=0.0)
        target = torch.from_numpy(labels.astype(np.int64))

        def batches(epoch):
            order = torch.randperm(x.shape[0], generator=generator)
            for s in range(0, x.shape[0], self.batch_size):
                idx = order[s:s + self.batch_size]
                yield edgeless_input(x[idx]), target[idx]
        self.history_ = train_elbo(self.objective_, batches, self.finetune_epochs, self.finetune_lr or self.lr,
                                   generator, self.progress, desc="fine-tuning")
        self.train_seconds_ = time.perf_counter() - start
        return self

    def _pretrain(self, network: GCNEncoder, x: torch.Tensor, generator: torch.Generator) -> list[list[dict]]:
        histories, codes = [], x
        for l, layer in enumerate(network.layers):
            width_in, width = layer.weight.shape
            stage = GCNEncoder(width_in, (), width, variational=False)
            decoder = ActivatedDecoder(network.activation, MLPDecoder(width, (), width_in))
            bounded = (self.likelihood == "bernoulli") if l == 0 else (self.activation == "sigmoid")
            lik = BernoulliPixels(decoder) if bounded else GaussianPixels(decoder, width_in)
            histories.append(train_elbo(ELBO(stage, lik, beta=0.0), lambda epoch, c=codes: image_batches(
                c, self.batch_size, generator), self.pretrain_epochs, self.lr, generator, self.progress,
                desc=f"pretraining layer {l + 1}"))
            layer.load_state_dict(stage.head.state_dict())
            with torch.no_grad():
                codes = network.activation(stage(edgeless_input(codes)).mu)
        return histories

    def _logits(self, X) -> torch.Tensor:
        if not hasattr(self, "objective_"):
            raise RuntimeError("this StackedAutoencoder is not fitted yet: call fit() first")
        with torch.no_grad():
            return self.objective_.encoder(edgeless_input(_as_images(X))).mu

    def predict_proba(self, X) -> np.ndarray:
        return torch.softmax(self._logits(X), -1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self._logits(X).argmax(-1).numpy()]

    def score(self, X, y) -> float:
        """Classification accuracy."""
        return float((self.predict(X) == np.asarray(y)).mean())

    def hidden_activations(self, X) -> list[np.ndarray]:
        """Every hidden layer's activations ``[n, width]`` (after fine-tuning)."""
        if not hasattr(self, "objective_"):
            raise RuntimeError("this StackedAutoencoder is not fitted yet: call fit() first")
        with torch.no_grad():
            _, hidden = self.objective_.encoder(edgeless_input(_as_images(X)), return_hidden=True)
        return [h.numpy() for h in hidden]

    def transform(self, X) -> np.ndarray:
        """The last hidden layer's codes ``[n, hidden[-1]]``."""
        return self.hidden_activations(X)[-1]
