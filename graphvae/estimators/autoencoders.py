r"""The autoencoder family (vanilla, denoising, sparse, contractive, stacked) on the shared ELBO module.

Every autoencoder here is the :class:`graphvae.objectives.elbo.ELBO` with a deterministic encoder
(``GCNEncoder(variational=False)``, so the KL term is 0) and extra terms, never a second model or loss:

.. math:: \mathcal L(x) = -\log p\big(x \mid g(f(\tilde x))\big) + \lambda\,\Omega(x),

with :math:`f` the encoder, :math:`g` the decoder (an :class:`graphvae.nn.decoder.MLPDecoder` for
pixels, the inner product for links), :math:`\tilde x` the input the encoder sees and
:math:`\Omega` a :class:`graphvae.objectives.elbo.Penalty`:

- **vanilla** -- :math:`\tilde x = x`, no penalty; Bernoulli or Gaussian (MSE) reconstruction through a bottleneck.
- **denoising** (Vincent et al., ICML 2008) -- :math:`\tilde x` is a corrupted copy of :math:`x`
  (:func:`corrupt`: masking noise, additive Gaussian noise, salt-and-pepper) and the clean
  :math:`x` is reconstructed. On a graph the encoder sees a fresh random subset of the edges
  each epoch (:func:`hide_edges`) and/or masked node features (:func:`mask_features`), and the
  whole training graph is reconstructed with :class:`graphvae.objectives.likelihood.LinkLikelihood`.
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

There is no second pipeline: on images a kind is a preset of :class:`graphvae.ImageVAE` (deterministic
encoder, the kind's corruption of :mod:`graphvae.training.corruption` or penalty of :mod:`graphvae.objectives.penalties`,
:meth:`Autoencoder.image_model`), on graphs a set of options of :class:`graphvae.GAE`
(:meth:`Autoencoder.graph_model`); :class:`Autoencoder` only maps the kind to those options.

Penalties are totals over the rows of a batch, like the log-likelihood, so for images (whose loss
is divided by the batch size) the loss is per image: reconstruction + :math:`\lambda\,\Omega`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin
from torch import nn

from .._device import device_generator
from .._validation import InputError, check_seed
from ..data.graph import Graph, as_graph
from ..data.split import LinkSplit
from ..nn.decoder import MLPDecoder
from ..nn.encoder import EncoderInput, GCNEncoder, edgeless_input
from ..objectives.elbo import ELBO
from ..objectives.likelihood import Likelihood
from ..objectives.penalties import ACTIVATIONS, jacobian_sq_norm
from ..objectives.pixel_likelihood import BernoulliPixels, GaussianPixels
from ..training.corruption import NOISES
from ..training.trainer import image_batches, train_elbo
from .base import (
    BOOLEAN,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    SEED,
    WIDTHS,
    Estimator,
    Float32Transformer,
    evaluating,
    no_autocast,
    options,
    widths,
)
from .image_vae import check_images

KINDS = ("vanilla", "denoising", "sparse", "contractive")
GRAPH_KINDS = ("vanilla", "denoising", "sparse")
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
class Autoencoder(Float32Transformer, Estimator, auto_wrap_output_keys=None):
    r"""A deterministic autoencoder of kind vanilla, denoising, sparse or contractive (scikit-learn style).

    ``fit(X)`` trains on images (an array ``[n, pixels]``, a graph without edges) or on a graph
    (a :class:`graphvae.data.graph.Graph` or the training part of a :class:`LinkSplit`; kinds
    vanilla, denoising and sparse), always with :class:`graphvae.objectives.elbo.ELBO`, no KL term and the
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
            Penalties are row totals scaled by the likelihood's normaliser (:class:`graphvae.objectives.elbo.Penalty`): per image or per node.
        jacobian: ``"exact"`` (closed form) or ``"hutchinson"`` (``num_probes`` probes) for the contractive penalty.
        epochs, batch_size, lr: Adam training (the graph is one batch).
        random_state: seed of initialization, batching and noise; ``None``: a fresh seed from the operating system's entropy, recorded in ``seed_``.
        device: ``"cpu"`` or a CUDA device, as the :class:`graphvae.ImageVAE` or :class:`graphvae.GAE` it trains takes it.

    ``score`` follows what was fitted: ``score(X)`` on images is the mean log-likelihood per image (as
    :meth:`graphvae.ImageVAE.score`; ``y`` is ignored), ``score(pos, neg)`` on a graph the AUC and AP of held-out pairs.

    Attributes after ``fit``: ``objective_`` (the ELBO module), ``model_`` (the fitted :class:`graphvae.ImageVAE`
    or :class:`graphvae.GAE`, trained with ``random_state=seed_``), ``graph_`` (``None`` for images) and on a graph
    ``node_ids_`` (the caller's ids, row order of ``transform()``; :meth:`embedding_dict` maps them), ``history_``,
    ``seed_`` (the seed used), ``train_seconds_``; on images also ``n_features_in_`` (= ``n_pixels_``) and,
    fitted on a DataFrame with string column names, ``feature_names_in_``.
    """

    def __init__(self, kind: str = "vanilla", hidden: int | Sequence[int] = 64, latent: int = 16,
                 activation: str = "sigmoid", likelihood: str = "bernoulli", noise: str = "masking",
                 noise_level: float = 0.3, hidden_edges: float = 0.2, sparsity: float = 0.05,
                 sparse_penalty: str = "kl", weight: float | None = None, jacobian: str = "exact",
                 num_probes: int = 1, epochs: int = 50, batch_size: int = 64, lr: float = 0.005,
                 random_state: int | None = 0, progress: bool = False, device: str = "cpu"):
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
        self.device = device

    _parameter_constraints = {
        "kind": options(*KINDS),
        "hidden": WIDTHS,
        "latent": POSITIVE_INT,
        "activation": options(*ACTIVATIONS),
        "likelihood": options("bernoulli", "gaussian"),
        "noise": options(*NOISES),
        "noise_level": NON_NEGATIVE,
        "hidden_edges": FRACTION,
        "sparsity": PROBABILITY,
        "sparse_penalty": options("kl", "l1"),
        "weight": [*NON_NEGATIVE, None],
        "jacobian": options("exact", "autograd", "hutchinson"),
        "num_probes": POSITIVE_INT,
        "epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE,
        "random_state": SEED,
        "progress": BOOLEAN,
        "device": [str, torch.device],
    }

    # -- construction ---------------------------------------------------------------------------------
    def _check_params(self) -> tuple[int, ...]:
        if self.weight is not None and self.kind in ("vanilla", "denoising"):  # it was ignored without a word
            raise InputError(f"weight is the penalty's weight, and kind '{self.kind}' has no penalty (sparse and "
                             f"contractive do)")
        if self.kind == "sparse" and self.sparse_penalty == "kl" and self.activation != "sigmoid":
            raise InputError("the KL sparsity penalty needs sigmoid hidden units (use --activation sigmoid or L1)")
        hidden = widths(self.hidden)
        if self.kind == "sparse" and not hidden:
            raise InputError("a sparse autoencoder needs at least one hidden layer")
        return hidden

    # -- the one pipeline per data type: the kind is a set of options ------------------------------------
    def _kind_options(self) -> dict:
        """The kind's penalty as options shared by the graph and the image model (the weights' defaults per kind)."""
        if self.kind == "sparse" and self.sparse_penalty == "kl":
            return dict(sparsity=self.sparsity, sparsity_weight=1.0 if self.weight is None else self.weight)
        if self.kind == "sparse":
            return dict(activation_l1=1e-3 if self.weight is None else self.weight)
        if self.kind == "contractive":
            return dict(contractive=0.1 if self.weight is None else self.weight, jacobian=self.jacobian,
                        num_probes=self.num_probes)
        return {}

    def graph_model(self):
        """The :class:`graphvae.GAE` this autoencoder is on a graph: the kind as options of the one graph pipeline
        (sigmoid/tanh/relu GCN layers with biases, denoising corruptions, sparsity penalties)."""
        from .models import GAE

        if self.kind not in GRAPH_KINDS:  # a TypeError of GAE's (no 'contractive' option) from graph_model() itself
            raise InputError(f"kind '{self.kind}' is for images; on a graph choose from: {', '.join(GRAPH_KINDS)}")
        options = dict(hidden=self.hidden, latent=self.latent, epochs=self.epochs, lr=self.lr, bias=True,
                       activation=self.activation, random_state=self.random_state, progress=self.progress,
                       device=self.device, **self._kind_options())
        if self.kind == "denoising":
            if not 0 <= self.noise_level <= 1:  # else GAE's check would name its own parameter, feature_noise
                raise InputError(f"noise level must be in [0, 1] (the share of feature entries masked on a graph), "
                                 f"got {self.noise_level}")
            options.update(hidden_edges=self.hidden_edges, feature_noise=self.noise_level)
        return GAE(**options)

    def image_model(self):
        """The :class:`graphvae.ImageVAE` this autoencoder is on images: the kind as a preset of the image model
        (deterministic encoder, the kind's corruption or penalty)."""
        from .image_vae import ImageVAE

        options = dict(latent=self.latent, hidden=self.hidden, likelihood=self.likelihood, sigma=1.0,
                       variational=False, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                       activation=self.activation, random_state=self.random_state, progress=self.progress,
                       device=self.device, **self._kind_options())
        if self.kind == "denoising":
            options.update(noise=self.noise, noise_level=self.noise_level)
        return ImageVAE(**options)

    #: the inner model's parameters under this estimator's names, for the advice after a divergence (an inner
    #: ``contractive=1e+300`` is this estimator's ``weight``)
    _ADVICE_NAMES = {"contractive": "weight", "sparsity_weight": "weight", "activation_l1": "weight"}

    def _named(self, model):
        """``model`` naming its parameters as this estimator does when it advises after a divergence."""
        model._advice_names = self._ADVICE_NAMES
        return model

    def _fit(self, X, y=None) -> None:
        """Train on images ``X [n, pixels]`` (the image model) or on a graph (``Graph`` or ``LinkSplit``: the GAE).

        A networkx graph or a PyG ``Data`` is converted by :func:`graphvae.data.graph.as_graph` (a scipy matrix
        is read as images here: convert an adjacency with ``as_graph`` first).
        """
        self._check_params()
        if _graph_like(X):
            if not isinstance(X, (Graph, LinkSplit)):
                X = as_graph(X)  # a networkx graph or a PyG Data (a scipy matrix is read as images here)
            model = self._named(self.graph_model()).set_params(random_state=self.seed_).fit(X)
            self.graph_ = X.train_graph if isinstance(X, LinkSplit) else X
            self.node_ids_ = list(model.node_ids_)
        else:
            model = self._named(self.image_model()).set_params(random_state=self.seed_).fit(X)  # checks the images (check_images), [0, 1] for Bernoulli pixels
            self.graph_ = None
            self.n_features_in_ = self.n_pixels_ = model.n_pixels_
            if hasattr(model, "feature_names_in_"):
                self.feature_names_in_ = model.feature_names_in_
        self.model_, self.objective_, self.history_ = model, model.objective_, model.history_

    def _warn_about_training(self) -> None:
        """Nothing: the fitted ``model_`` already warned about its training (the same history: a second warning
        would only repeat the first)."""

    # -- inference ------------------------------------------------------------------------------------
    def _input(self, X) -> EncoderInput:
        self._check_fitted()
        if X is None or _graph_like(X):
            if self.graph_ is None:
                raise InputError("this autoencoder was fitted on images: pass images")
            if X is None:
                return self.model_.input_
            graph = self.model_._graph_to_embed(X)
            # the operator the graph model trained with (weights included)
            return self._to_model_device(self.model_._encoder_input(graph))
        if self.graph_ is not None:
            raise InputError("this autoencoder was fitted on a graph: pass a graph (or None)")
        return self._to_model_device(edgeless_input(self._images(X)))

    def _images(self, X, what: str = "images") -> torch.Tensor:
        return check_images(X, what, self.n_features_in_, type(self).__name__, estimator=self)

    def _n_codes(self) -> int:
        return self.latent

    def transform(self, X=None) -> np.ndarray:
        """The codes :math:`z = f(x)`: ``[n, latent]`` for images, node embeddings for a graph (``None``: the fitted one)."""
        inp = self._input(X)
        with evaluating():
            return self.objective_.encoder(inp).mu.cpu().numpy()

    def embedding_dict(self) -> dict:
        """``{node id: code}`` of the fitted graph, keyed by the caller's node ids (as :meth:`graphvae.GAE.embedding_dict`)."""
        z = self.transform()  # first: it says when the model is not fitted, or was fitted on images
        return dict(zip(self.node_ids_, z))

    def hidden_activations(self, X=None) -> list[np.ndarray]:
        """The hidden layers' activations ``[n, width]``, one array per hidden layer."""
        inp = self._input(X)  # first: it says when the model is not fitted
        with evaluating():
            _, hidden = self.objective_.encoder(inp, return_hidden=True)
        return [h.cpu().numpy() for h in hidden]

    def reconstruct(self, X) -> np.ndarray:
        """The mean image of :math:`p(x \\mid z = f(x))` for each row of ``X``."""
        inp = self._input(X)
        if self.graph_ is not None:
            raise InputError("reconstruct is for images; score held-out links of a graph with score()")
        with evaluating():
            return self.objective_.likelihood.decode_mean(self.objective_.encoder(inp).mu).cpu().numpy()

    def reconstruction_error(self, X, clean=None) -> float:
        """Mean squared error per pixel between the reconstruction of ``X`` and ``clean`` (default: ``X``)."""
        reconstruction = torch.from_numpy(self.reconstruct(X))  # first: it says when the model is not fitted
        target = self._images(X) if clean is None else self._images(clean, "clean images")
        if target.shape != reconstruction.shape:
            raise InputError(f"clean images must have one row per image of X ({reconstruction.shape[0]}), "
                             f"got {target.shape[0]}")
        return float(((reconstruction - target) ** 2).mean())

    def jacobian_norm(self, X, method: str = "exact", num_probes: int = 1, random_state: int = 0) -> np.ndarray:
        r"""Per image :math:`\lVert J_f(x) \rVert_F` of the encoder (see :func:`jacobian_sq_norm`; Hutchinson
        probes drawn from ``random_state``)."""
        inp = self._input(X)
        generator = torch.Generator(device=self._device).manual_seed(check_seed(random_state))
        with no_autocast():  # gradients taken inside (method "autograd"/"hutchinson"), so not evaluating()
            sq = jacobian_sq_norm(self.objective_.encoder, inp, method, num_probes, generator=generator)
        return sq.detach().sqrt().cpu().numpy()

    def score(self, X, y=None) -> float | dict[str, float]:
        r"""What was fitted decides (images and node pairs are both 2-d arrays, so the input cannot):

        - images: ``score(X)``, the mean :math:`\log p(x \mid z = f(x))` per image of ``X`` in nats, higher is
          better (the ELBO of a deterministic encoder, as :meth:`graphvae.ImageVAE.score`); ``y`` is ignored;
        - a graph: ``score(pos, neg)``, the AUC and AP of the inner-product decoder on held-out positive and
          negative node pairs ``[2, n]`` each (:meth:`graphvae.GAE.score`).
        """
        self._check_fitted()
        if self.graph_ is not None:
            if y is None:
                raise InputError("this autoencoder was fitted on a graph: score(pos, neg) takes held-out positive "
                                 "and negative node pairs [2, n]")
            return self.model_.score(X, y)  # its pairs checked as the graph model checks them
        self._input(X)  # images with this estimator's pixel count (a graph is refused)
        return self.model_.elbo(X)["elbo"]  # one pass: the deterministic encoder draws no sample


# --------------------------------------------------------------------------------------------- stacked
class CategoricalLikelihood(Likelihood):
    r"""Labels as the likelihood: :math:`\log p(y \mid z) = \log\operatorname{softmax}(z)_y`, summed; scale = batch size.

    With a deterministic encoder whose head is a classifier, the ELBO is the negative cross-entropy,
    so supervised fine-tuning runs through the same :class:`graphvae.objectives.elbo.ELBO` and trainer.
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


class StackedAutoencoder(ClassifierMixin, Float32Transformer, Estimator):
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

    Args:
        hidden: the hidden widths (at least one layer); the last one is the code :meth:`transform` returns.
        activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"`` for the hidden layers.
        likelihood: the first layer's pretraining reconstruction of the pixels, ``"bernoulli"`` (pixels in [0, 1])
            or ``"gaussian"``.
        pretrain: pretrain the layers greedily before fine-tuning (``False``: from scratch).
        pretrain_epochs, finetune_epochs: epochs per pretrained layer and of the supervised fine-tuning.
        batch_size, lr: Adam on mini-batches of images; ``finetune_lr``: the fine-tuning rate (``None``: ``lr``).
        random_state: seed of initialization and batching; ``None``: a fresh seed from the operating system's
            entropy, recorded in ``seed_`` (the global random generators are never touched).
        progress: show a progress bar.
        device: ``"cpu"`` or a CUDA device (``"cuda"``, ``"cuda:N"``): the images and labels move there once and
            the mini-batches are drawn there, from a CUDA generator seeded with ``random_state`` (other batches than
            the CPU fit of the same seed); every method takes and returns numpy arrays.

    Attributes after ``fit``: ``objective_``, ``pretrain_history_`` (one history per layer),
    ``history_`` (fine-tuning), ``classes_``, ``n_features_in_``, ``feature_names_in_`` (fitted on a
    DataFrame with string column names), ``seed_`` (the seed used), ``train_seconds_``.
    """

    def __init__(self, hidden: Sequence[int] = (128, 64), activation: str = "sigmoid", likelihood: str = "bernoulli",
                 pretrain: bool = True, pretrain_epochs: int = 20, finetune_epochs: int = 20, batch_size: int = 64,
                 lr: float = 0.005, finetune_lr: float | None = None, random_state: int | None = 0, progress: bool = False,
                 device: str = "cpu"):
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
        self.device = device

    _parameter_constraints = {
        "hidden": WIDTHS,
        "activation": options(*ACTIVATIONS),
        "likelihood": options("bernoulli", "gaussian"),
        "pretrain": BOOLEAN,
        "pretrain_epochs": POSITIVE_INT,
        "finetune_epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "lr": POSITIVE,
        "finetune_lr": [*POSITIVE, None],
        "random_state": SEED,
        "progress": BOOLEAN,
        "device": [str, torch.device],
    }

    def fit(self, X, y) -> "StackedAutoencoder":
        """Pretrain (if ``pretrain``) on ``X [n, pixels]``, then fine-tune on the labels ``y [n]``."""
        return super().fit(X, y)

    def _histories(self) -> list[list[dict]]:
        return [*self.pretrain_history_, self.history_]

    def _fit(self, X, y) -> None:
        hidden = widths(self.hidden, allow_empty=False)
        if y is None:
            raise InputError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        x = check_images(X, owner=type(self).__name__, estimator=self, reset=True)
        if self.pretrain and self.likelihood == "bernoulli" and (float(x.min()) < 0 or float(x.max()) > 1):
            raise InputError(f"Bernoulli pixels must lie in [0, 1], the images range over [{float(x.min()):g}, "
                             f"{float(x.max()):g}] (scale them, or pretrain with likelihood='gaussian')")
        y_np = _class_labels(y, x.shape[0])
        self.n_features_in_ = int(x.shape[1])
        self.classes_, labels = np.unique(y_np, return_inverse=True)
        if self.classes_.size < 2:
            raise InputError(f"y must hold at least two classes, got {self.classes_.size} class")
        device = self._fit_device()
        # the batches' order: one generator on the device (the CPU's own on the CPU)
        generator = device_generator(device, self.seed_)
        act = ACTIVATIONS[self.activation]
        network = GCNEncoder(x.shape[1], hidden, int(self.classes_.size), variational=False, activation=act).to(device)
        x = x.to(device)
        self.pretrain_history_ = self._pretrain(network, x, generator) if self.pretrain else []
        self.objective_ = ELBO(network, CategoricalLikelihood(), beta=0.0)
        target = torch.from_numpy(labels.astype(np.int64)).to(device)

        def batches(epoch):
            order = torch.randperm(x.shape[0], generator=generator, device=device)
            for s in range(0, x.shape[0], self.batch_size):
                idx = order[s:s + self.batch_size]
                yield edgeless_input(x[idx]), target[idx]
        self.history_ = train_elbo(self.objective_, batches, self.finetune_epochs, self.finetune_lr or self.lr,
                                   generator, self.progress, desc="fine-tuning")

    def _pretrain(self, network: GCNEncoder, x: torch.Tensor, generator: torch.Generator) -> list[list[dict]]:
        histories, codes = [], x
        for l, layer in enumerate(network.layers):
            width_in, width = layer.weight.shape
            stage = GCNEncoder(width_in, (), width, variational=False)
            decoder = ActivatedDecoder(network.activation, MLPDecoder(width, (), width_in))
            bounded = (self.likelihood == "bernoulli") if l == 0 else (self.activation == "sigmoid")
            lik = BernoulliPixels(decoder) if bounded else GaussianPixels(decoder, width_in)
            histories.append(train_elbo(ELBO(stage, lik, beta=0.0).to(x.device), lambda epoch, c=codes: image_batches(
                c, self.batch_size, generator), self.pretrain_epochs, self.lr, generator, self.progress,
                desc=f"pretraining layer {l + 1}"))
            layer.load_state_dict(stage.head.state_dict())
            with evaluating():
                codes = network.activation(stage(edgeless_input(codes)).mu)
        return histories

    def _images(self, X) -> torch.Tensor:
        """``X`` checked against the fitted model, on the model's device."""
        self._check_fitted()
        return self._to_model_device(check_images(X, n_features=self.n_features_in_, owner=type(self).__name__,
                                                  estimator=self))

    def _logits(self, X) -> torch.Tensor:
        x = self._images(X)
        with evaluating():
            return self.objective_.encoder(edgeless_input(x)).mu

    def predict_proba(self, X) -> np.ndarray:
        return torch.softmax(self._logits(X), -1).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        logits = self._logits(X)  # first: it says when the model is not fitted
        return self.classes_[logits.argmax(-1).cpu().numpy()]

    def score(self, X, y, sample_weight=None) -> float:
        """Classification accuracy (scikit-learn's ``accuracy_score``: a column vector ``y`` is one label per row)."""
        self._check_fitted()
        rows, labels = len(self._images(X)), len(y) if hasattr(y, "__len__") else None
        if labels != rows:  # else scikit-learn's multi-line "inconsistent numbers of samples"
            raise InputError(f"y must hold one label per row of X ({rows}), got "
                             f"{type(y).__name__ if labels is None else labels}")
        return float(super().score(X, y, sample_weight))

    def hidden_activations(self, X) -> list[np.ndarray]:
        """Every hidden layer's activations ``[n, width]`` (after fine-tuning)."""
        x = self._images(X)
        with evaluating():
            _, hidden = self.objective_.encoder(edgeless_input(x), return_hidden=True)
        return [h.cpu().numpy() for h in hidden]

    def _n_codes(self) -> int:
        return self.hidden[-1]

    def transform(self, X) -> np.ndarray:
        """The last hidden layer's codes ``[n, hidden[-1]]``."""
        return self.hidden_activations(X)[-1]


def _class_labels(y, n: int) -> np.ndarray:
    """``y`` as 1-d class labels, one per row of ``X`` (``n`` rows); a column vector warns as in scikit-learn."""
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import column_or_1d

    try:
        y_np = column_or_1d(y, warn=True)
    except (TypeError, ValueError) as error:
        raise InputError(f"y must be 1-d with one label per row of X ({n}): {' '.join(str(error).split())}") from None
    if y_np.shape[0] != n:
        raise InputError(f"y must be 1-d with one label per row of X ({n}), got {y_np.shape[0]} labels")
    if y_np.dtype.kind in "fc" and not np.isfinite(y_np).all():
        raise InputError("y: labels contain NaN or infinity")
    try:
        kind = type_of_target(y_np)
    except ValueError as e:
        raise InputError(f"y: {str(e).splitlines()[0]}") from None
    if kind not in ("binary", "multiclass"):
        raise InputError(f"y must hold class labels, got {kind} values (Unknown label type: {kind})")
    return y_np


def _graph_like(X) -> bool:
    """Whether :class:`Autoencoder` reads ``X`` as a graph: a ``Graph``, a ``LinkSplit``, a networkx graph or a PyG
    ``Data`` (a scipy matrix or an array is read as images)."""
    return (isinstance(X, (Graph, LinkSplit)) or hasattr(X, "edge_index")
            or type(X).__module__.startswith("networkx"))
