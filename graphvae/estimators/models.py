"""GAE and VGAE as scikit-learn-style estimators: ``VGAE(...).fit(graph_or_split).embed()``.

Beyond the paper's model, the same estimator composes the stronger graph autoencoders from options
(the named configurations are in :mod:`graphvae.estimators.zoo`): a normalized encoder head (``normalize``, VGNAE),
edge masking (``mask_rate``, :mod:`graphvae.objectives.masking`), a learned edge decoder and the degree decoder
(``decoder="mlp"``, ``degree_weight``, :mod:`graphvae.objectives.edge_decoders`) and the adversarial regularizer
(``adversarial``, :mod:`graphvae.objectives.adversarial`). Every one trains with the one ELBO module and
:func:`graphvae.training.trainer.train_elbo`; the defaults are the paper's model.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch

from .._device import device_generator, to_device
from .._validation import CollapseWarning, InputError, rows_all_equal
from ..data.graph import Graph, align_identity_features, as_graph, has_identity_features
from ..data.split import LinkSplit, checked_split
from ..evaluation.metrics import auc_ap
from ..nn.encoder import EncoderInput, GCNEncoder, encoder_input
from ..nn.inner_product import pair_scores
from ..nn.operator import adjacency_matrix, normalized_adjacency
from ..objectives.elbo import ELBO, WeightDecay
from ..objectives.likelihood import LinkLikelihood, LinkTarget
from ..objectives.penalties import ACTIVATIONS, ActivationL1, SparsityKL
from ..training.trainer import SCHEDULES, adam, train_elbo
from .base import (
    BOOLEAN,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    SEED,
    UNIT_INTERVAL,
    WIDTHS,
    Estimator,
    evaluating,
    non_finite_state,
    options,
    widths,
)

#: activations after the encoder's head (``head_activation``)
HEAD_ACTIVATIONS = {"elu": torch.nn.functional.elu}
#: activations of the hidden GCN layers (``activation``): the penalties' ones and MaskGAE's ELU
ENCODER_ACTIVATIONS = {**ACTIVATIONS, "elu": torch.nn.functional.elu}


def _state_copy(module: torch.nn.Module) -> dict:
    """A copy of ``module.state_dict()`` that later training steps do not change: each tensor cloned (about a
    fifth of ``copy.deepcopy``'s time on MaskGAE's parameters, which validation copies at every improvement)."""
    state = module.state_dict()
    for key, value in state.items():
        state[key] = value.clone()
    return state


class VGAE(Estimator):
    r"""Variational graph auto-encoder (Kipf & Welling 2016) for link prediction and node embeddings.

    A GCN encoder over :math:`\\hat A` gives :math:`q(Z\\mid X, A)`, the inner-product decoder gives
    :math:`p(A\\mid Z)`, and training maximizes the ELBO with an unbiased, low-variance estimate of the
    full-graph link likelihood (:class:`graphvae.objectives.likelihood.LinkLikelihood`).

    Args:
        hidden: hidden GCN widths (paper: 32).
        latent: latent dimension (paper: 16).
        variational: ``False`` gives the GAE (no KL, a point embedding).
        epochs, lr: Adam training (paper: 200 epochs, lr 0.01).
        beta: KL weight.
        negatives_per_positive: sampled pairs per positive pair each epoch (at least 2 per node); the
            non-edge sum is estimated with a control variate (:class:`graphvae.objectives.likelihood.LinkLikelihood`).
        early_stopping: keep the parameters of the epoch with the best validation AUC (needs a
            :class:`LinkSplit`); stop after ``patience`` epochs without improvement.
        random_state: seed for initialization and sampling; ``None``: a fresh seed from the operating system's entropy, recorded in ``seed_``.
        progress: show a progress bar.
        bias: add a bias to the GCN layers (the paper's layers have none).
        normalize: scale of the normalized head (VGNAE, :class:`graphvae.nn.encoder.GCNEncoder`), ``None``: off.
        mask_rate: probability of hiding each training edge from the encoder each epoch, the hidden
            edges being the positives (:mod:`graphvae.objectives.masking`); 0: off.
        decoder: ``"inner"`` (the paper's :math:`z_i^\top z_j`) or ``"mlp"`` (MaskGAE's MLP on
            :math:`z_i \odot z_j`, :mod:`graphvae.objectives.edge_decoders`).
        decoder_hidden, decoder_dropout: width and dropout of the MLP edge decoder.
        decoder_precision: ``"float32"`` or ``"bfloat16"``: the dtype of the MLP edge decoder's first-layer matrix
            products (:class:`graphvae.objectives.edge_decoders.HadamardLinear`; float32 accumulation, float32
            parameters and gradients). bfloat16 made those products 4-5x faster on a CPU with AVX-512 BF16
            (``docs/models.md``); on CPUs without it they are slower; not measured on CUDA.
        mask_mode: how edges are masked (:func:`graphvae.objectives.masking.masked_batches`): ``"undirected"`` (each
            edge, both directions together), ``"directed"`` (each directed pair independently, MaskGAE's code: an
            edge stays visible when either direction does, the hidden directed pairs are the positives) or
            ``"path"`` (MaskGAE's path masking: the pairs walked by random walks from a share ``mask_rate`` of the nodes).
        degree_weight: weight of MaskGAE's degree decoder (needs ``mask_rate > 0`` and ``decoder="mlp"``); 0: off.
        adversarial: weight of ARGA's adversarial regularizer (:mod:`graphvae.objectives.adversarial`); 0: off.
        discriminator_lr: Adam learning rate of the discriminator's auxiliary step.
        weight_decay: L2 weight :math:`\lambda` on the encoder's weights (:class:`graphvae.objectives.elbo.WeightDecay`).
        activation: the GCN layers' activation, ``"relu"`` (paper), ``"sigmoid"``, ``"tanh"`` or ``"elu"`` (MaskGAE).
        sparsity, sparsity_weight: the sparse autoencoder's KL penalty towards a mean activation ``sparsity``
            (sigmoid units; :class:`graphvae.objectives.penalties.SparsityKL`), with weight ``sparsity_weight``; 0: off.
        activation_l1: weight of the L1 penalty on hidden activations (:class:`graphvae.objectives.penalties.ActivationL1`).
        hidden_edges, feature_noise: denoising (:mod:`graphvae.training.corruption`): each epoch the encoder sees the
            graph with this fraction of edges hidden and of feature entries masked, and the whole training graph
            is reconstructed; 0: off. The graph :class:`graphvae.Autoencoder` kinds are these options of the GAE.
        encoder_dropout, batch_norm, head_activation: MaskGAE's encoder regularization
            (:class:`graphvae.nn.encoder.GCNEncoder`): dropout on every layer's input (the features included),
            batch normalization of every layer's output, and ``"elu"`` after the head (``None``: linear head).
        lr_schedule: ``None`` (constant ``lr``) or ``"cosine"`` (annealed to 0 over ``epochs``;
            :func:`graphvae.training.trainer.train_elbo`).
        clip_norm: rescale each step's gradient to at most this L2 norm; ``None``: off.
        walk_length: steps of each random walk of ``mask_mode="path"``.
        negative_power: with ``decoder="mlp"``, draw the sampled partners with probability proportional to
            (degree + 1) ** ``negative_power`` (:meth:`graphvae.objectives.edge_decoders.DecodedLinkLikelihood.sampled_pairs`);
            0: uniform.
        snapshots: with early stopping, keep the parameters of the ``snapshots`` epochs with the highest
            validation AUC; :meth:`predict_proba` and :meth:`score` average the link probabilities of those
            snapshots (an ensemble of one run's epochs, no extra training; each snapshot holds one copy of the
            parameters). Embeddings (:meth:`embed`) are the best epoch's. 1: the best epoch alone. Without
            early stopping there is no validation to rank epochs by, and the last epoch alone is used.
        device: where to train and embed: ``"cpu"`` or a CUDA device (``"cuda"``, ``"cuda:1"``). The graph and the
            splits are prepared on the CPU and moved there (:mod:`graphvae._device`); undirected masks of unfolded
            features are drawn on the device, the other masked or denoised views on the CPU and moved each epoch;
            a CUDA fit draws from a CUDA generator seeded with ``random_state``, so it draws other pairs than
            the CPU fit of the same seed (``tests/test_cuda.py``; CUDA's sparse kernels need not add in the same
            order from run to run). :meth:`embed` returns a numpy array
            (on the CPU) wherever the model trained.

    Attributes after ``fit``: ``history_`` (per-epoch loss and ELBO terms), ``train_seconds_`` (the
    training steps' seconds from the history, validation excluded), ``best_epoch_`` and ``best_val_auc_``
    (with early stopping only: a refit forgets every fitted attribute, :class:`graphvae.estimators.base.Estimator`);
    with ``snapshots > 1``, ``snapshots_`` (the kept parameters, best first) and ``snapshot_epochs_`` (their epochs).
    """

    def __init__(self, hidden: int | Sequence[int] = 32, latent: int = 16, variational: bool = True,
                 epochs: int = 200, lr: float = 0.01, beta: float = 1.0, negatives_per_positive: float = 1.0,
                 early_stopping: bool = False, patience: int = 50, random_state: int | None = 0, progress: bool = False,
                 bias: bool = False, normalize: float | None = None, mask_rate: float = 0.0, decoder: str = "inner",
                 decoder_hidden: int = 64, decoder_dropout: float = 0.0, decoder_precision: str = "float32",
                 degree_weight: float = 0.0, adversarial: float = 0.0, discriminator_lr: float = 0.001,
                 weight_decay: float = 0.0,
                 activation: str = "relu", sparsity: float = 0.05, sparsity_weight: float = 0.0,
                 activation_l1: float = 0.0, hidden_edges: float = 0.0, feature_noise: float = 0.0,
                 encoder_dropout: float = 0.0, batch_norm: bool = False, head_activation: str | None = None,
                 lr_schedule: str | None = None, clip_norm: float | None = None, mask_mode: str = "undirected",
                 walk_length: int = 3, negative_power: float = 0.0, snapshots: int = 1, device: str = "cpu"):
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
        self.normalize = normalize
        self.mask_rate = mask_rate
        self.decoder = decoder
        self.decoder_hidden = decoder_hidden
        self.decoder_dropout = decoder_dropout
        self.decoder_precision = decoder_precision
        self.degree_weight = degree_weight
        self.adversarial = adversarial
        self.discriminator_lr = discriminator_lr
        self.weight_decay = weight_decay
        self.activation = activation
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.activation_l1 = activation_l1
        self.hidden_edges = hidden_edges
        self.feature_noise = feature_noise
        self.encoder_dropout = encoder_dropout
        self.batch_norm = batch_norm
        self.head_activation = head_activation
        self.lr_schedule = lr_schedule
        self.clip_norm = clip_norm
        self.mask_mode = mask_mode
        self.walk_length = walk_length
        self.negative_power = negative_power
        self.snapshots = snapshots
        self.device = device

    _parameter_constraints = {
        "hidden": WIDTHS,
        "latent": POSITIVE_INT,
        "variational": BOOLEAN,
        "epochs": POSITIVE_INT,
        "lr": POSITIVE,
        "beta": NON_NEGATIVE,
        "negatives_per_positive": POSITIVE,
        "early_stopping": BOOLEAN,
        "patience": POSITIVE_INT,
        "random_state": SEED,
        "progress": BOOLEAN,
        "bias": BOOLEAN,
        "normalize": [*POSITIVE, None],
        "mask_rate": FRACTION,
        "decoder": options("inner", "mlp"),
        "decoder_hidden": POSITIVE_INT,
        "decoder_dropout": FRACTION,
        "decoder_precision": options("float32", "bfloat16"),
        "degree_weight": NON_NEGATIVE,
        "adversarial": NON_NEGATIVE,
        "discriminator_lr": POSITIVE,
        "weight_decay": NON_NEGATIVE,
        "activation": options(*ENCODER_ACTIVATIONS),
        "sparsity": PROBABILITY,
        "sparsity_weight": NON_NEGATIVE,
        "activation_l1": NON_NEGATIVE,
        "hidden_edges": FRACTION,
        "feature_noise": UNIT_INTERVAL,
        "encoder_dropout": FRACTION,
        "batch_norm": BOOLEAN,
        "head_activation": [*options(*HEAD_ACTIVATIONS), None],
        "lr_schedule": [*options(*SCHEDULES), None],
        "clip_norm": [*POSITIVE, None],
        "mask_mode": options("undirected", "directed", "path"),
        "walk_length": POSITIVE_INT,
        "negative_power": NON_NEGATIVE,
        "snapshots": POSITIVE_INT,
        "device": [str, torch.device],
    }

    def _check_params(self) -> tuple[int, ...]:
        """The parameter table, then the checks that involve several parameters; the hidden widths."""
        self._check_params_table()
        self._fit_device()  # a device this machine lacks: one line
        hidden = widths(self.hidden)
        if self.negative_power > 0 and self.decoder != "mlp":
            raise InputError("degree-distributed negatives (negative_power > 0) need the MLP edge decoder (decoder='mlp')")
        if self.degree_weight > 0 and not self.mask_rate > 0:
            raise InputError("the degree decoder predicts masked degrees: it needs mask_rate > 0")
        if self.degree_weight > 0 and self.decoder != "mlp":  # the inner-product likelihood has no degree term
            raise InputError("the degree decoder is MaskGAE's, beside its MLP edge decoder: it needs decoder='mlp' "
                             "(with the inner-product decoder degree_weight was ignored)")
        if self.mask_mode != "undirected" and not self.mask_rate > 0:
            raise InputError("mask_mode chooses how edges are masked: it needs mask_rate > 0")
        if (self.hidden_edges > 0 or self.feature_noise > 0) and self.mask_rate > 0:
            raise InputError("choose edge masking (mask_rate) or denoising (hidden_edges, feature_noise), not both")
        if self.sparsity_weight > 0 and self.activation != "sigmoid":
            raise InputError("the KL sparsity penalty needs sigmoid hidden units (activation='sigmoid')")
        if (self.sparsity_weight > 0 or self.activation_l1 > 0) and not hidden:
            raise InputError("a sparsity penalty needs at least one hidden layer")
        return hidden

    def _fit(self, data: Graph | LinkSplit, y=None) -> None:
        """Train on a graph (all its edges) or on the training part of a :class:`LinkSplit`.

        ``data`` may also be a networkx graph, a scipy sparse adjacency or a PyG ``Data``: it is converted
        by :func:`graphvae.data.graph.as_graph`, the reader the CLI uses. ``node_ids_`` then holds the caller's
        node id of each row of :meth:`embed` (networkx nodes, ``0..N-1`` for a matrix).
        """
        self._check_params()
        device = self._fit_device()
        denoising = self.hidden_edges > 0 or self.feature_noise > 0
        split = checked_split(data) if isinstance(data, LinkSplit) else None
        graph = split.train_graph if split is not None else as_graph(data)
        graph.check_trainable(self.latent)
        self.node_ids_ = list(graph.node_ids)
        self.identity_features_ = has_identity_features(graph)
        if self.early_stopping and split is None:
            raise InputError("early_stopping needs a LinkSplit (validation edges): fit a split (graphvae.split_edges), "
                             "or set early_stopping=False to train a whole graph for all its epochs")
        n = int(graph.num_nodes)
        adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
        self.input_ = self._encoder_input(graph, adjacency)
        target = LinkTarget.from_edges(adjacency, n)
        if target.num_negative == 0 and (self.decoder == "mlp" or self.mask_rate > 0):  # their class balance
            # divides by the non-edges (the paper's likelihood trains such a graph: every pair is an edge)
            raise InputError(f"every pair of the {n} nodes is an edge (a complete graph): there are no non-edges for "
                             f"the link likelihood to tell the edges from")
        del adjacency  # not needed while training (on a 1M-node graph: ~135 MB)
        generator = torch.Generator().manual_seed(self.seed_)  # the views' draws (on the CPU)
        sampler = device_generator(device, self.seed_, generator)  # the draws of training itself
        views_target = target  # what the masked views are built on: the CPU target
        if device.type != "cpu":  # the link targets move once (the masked views refer to the CPU one, which
            moved = {}            # maps to its moved copy), the rest of each epoch's view moves every epoch
            self.input_, target = to_device((self.input_, target), device, moved, persistent=(LinkTarget,))
        encoder = self._new_encoder(int(graph.x.shape[1])).to(device)  # the global RNG is seeded by Estimator.fit
        likelihood = self._likelihood().to(device)
        penalties, aux_step = [], None
        if self.weight_decay > 0:
            penalties.append(WeightDecay(self.weight_decay))
        if self.adversarial > 0:
            from ..objectives.adversarial import AdversarialPenalty, Discriminator, DiscriminatorStep
            discriminator = Discriminator(self.latent).to(device)
            penalties.append(AdversarialPenalty(discriminator, self.adversarial))
            aux_step = DiscriminatorStep(discriminator, lr=self.discriminator_lr, optimizer=adam)
        if self.sparsity_weight > 0:
            penalties.append(SparsityKL(self.sparsity, self.sparsity_weight))
        if self.activation_l1 > 0:
            penalties.append(ActivationL1(self.activation_l1))
        self.objective_ = ELBO(encoder, likelihood, beta=self.beta, penalties=penalties)
        # undirected masks of unfolded features are drawn on the device itself (from the device's generator)
        masks_on_device = device.type != "cpu" and self.mask_rate > 0 and self.mask_mode == "undirected" and not self._fold
        if self.mask_rate > 0:
            from ..objectives.masking import masked_batches
            batches = masked_batches(graph.edge_index, graph.x, n, self.mask_rate,
                                     sampler if masks_on_device else generator, fold=self._fold, base=views_target,
                                     mode=self.mask_mode, walk_length=self.walk_length,
                                     **(dict(device=device, memo=moved) if masks_on_device else {}))
        elif denoising:  # a corrupted view for the encoder, the whole training graph as the target
            from ..training.corruption import denoising_graph_batches
            batches = denoising_graph_batches(graph, self.hidden_edges, self.feature_noise, generator,
                                              fold=self._fold)
        else:
            batches = lambda epoch: [(self.input_, target)]
        if device.type != "cpu" and (self.mask_rate > 0 or denoising) and not masks_on_device:  # views drawn on the CPU
            views = batches
            batches = lambda epoch: [to_device(view, device, moved, persistent=(LinkTarget,)) for view in views(epoch)]

        best = {"auc": -1.0, "epoch": -1, "state": None, "top": []}  # top: the snapshots, best validation AUC first

        def validate(epoch: int, entry: dict) -> bool:
            self.objective_.eval()
            try:
                entry["val_auc"] = self.score(split.val_pos, split.val_neg)["auc"]
            except InputError:  # NaN scores: if this step made the state NaN, stop; fit keeps the best epoch
                if non_finite_state(self.objective_) is None:  # before it, or reports the divergence
                    # finite parameters, NaN scores: activations too large to score (inf - inf), the same divergence
                    raise InputError(f"training diverged: the validation scores are NaN at epoch {epoch} (finite "
                                     f"parameters, but embeddings too large to score); try a smaller learning "
                                     f"rate than {self.lr:g}") from None
                return True
            self.objective_.train()
            auc, top = entry["val_auc"], best["top"]
            improved = auc > best["auc"]
            kept = self.snapshots > 1 and (len(top) < self.snapshots or auc > top[-1][0])
            if improved or kept:
                state = _state_copy(self.objective_)
                if improved:
                    best.update(auc=auc, epoch=epoch, state=state)
                if kept:  # ties: the earlier epoch ranks first
                    top.insert(next((i for i, (a, _, _) in enumerate(top) if auc > a), len(top)), (auc, epoch, state))
                    del top[self.snapshots:]
            return epoch - best["epoch"] >= self.patience

        self.history_ = train_elbo(self.objective_, batches, self.epochs, self.lr, sampler, self.progress,
                                   validate if self.early_stopping else None,
                                   desc=self._progress_label(), aux_step=aux_step,
                                   lr_schedule=self.lr_schedule, clip_norm=self.clip_norm)
        if self.early_stopping and best["state"] is not None:
            self.objective_.load_state_dict(best["state"])
            self.best_epoch_, self.best_val_auc_ = best["epoch"], best["auc"]
            if self.snapshots > 1:
                self.snapshot_epochs_ = [epoch for _, epoch, _ in best["top"]]
                self.snapshots_ = [state for _, _, state in best["top"]]

    def _new_encoder(self, in_dim: int) -> GCNEncoder:
        """The encoder of this configuration, initialized from torch's global RNG (``fit`` seeds it first)."""
        return GCNEncoder(in_dim, widths(self.hidden), self.latent, variational=self.variational,
                          activation=ENCODER_ACTIVATIONS[self.activation], bias=self.bias, normalize=self.normalize,
                          dropout=self.encoder_dropout, batch_norm=self.batch_norm,
                          head_activation=HEAD_ACTIVATIONS.get(self.head_activation))

    @property
    def _fold(self) -> bool:
        """Whether the first ``Â`` may be folded into the features: not when the encoder transforms
        (normalizes or drops) the features before propagating them."""
        return self.normalize is None and self.encoder_dropout == 0

    def _initial_encoder(self, in_dim: int) -> GCNEncoder:
        """The encoder ``fit`` starts from, seeded by ``random_state`` without touching the global RNG
        (used by :func:`graphvae.estimators.batched.fit_seeds`, which stacks one per seed)."""
        with torch.random.fork_rng():
            torch.manual_seed(self.seed_)
            return self._new_encoder(in_dim)

    def _likelihood(self) -> LinkLikelihood:
        """The link likelihood the ELBO uses (a subclass may swap the estimator, e.g. for an ablation)."""
        if self.decoder == "mlp":
            from ..objectives.edge_decoders import DecodedLinkLikelihood, DegreeDecoder, HadamardMLPDecoder
            degree = DegreeDecoder(self.latent, self.decoder_hidden, self.decoder_dropout) if self.degree_weight > 0 else None
            return DecodedLinkLikelihood(HadamardMLPDecoder(self.latent, self.decoder_hidden, dropout=self.decoder_dropout,
                                                            precision=self.decoder_precision),
                                         self.negatives_per_positive, degree_decoder=degree,
                                         degree_weight=self.degree_weight, negative_power=self.negative_power)
        if self.mask_rate > 0:
            from ..objectives.masking import MaskedLinkLikelihood
            return MaskedLinkLikelihood(self.negatives_per_positive)
        return LinkLikelihood(self.negatives_per_positive)

    @property
    def _uses_edge_weights(self) -> bool:
        """Whether edge weights enter Â: not for a model that hides edges while training (masking, denoising), whose
        corrupted views are built from the unweighted graph; it then embeds with the unweighted Â too, as it trained."""
        return self.mask_rate == 0 and self.hidden_edges == 0

    def _encoder_input(self, graph: Graph, adjacency=None) -> EncoderInput:
        """Features and Â of ``graph`` (``adjacency``: its 0/1 matrix, when already built)."""
        n = int(graph.num_nodes)
        weight = getattr(graph, "edge_weight", None) if self._uses_edge_weights else None
        if weight is not None:  # weights enter Â only; the likelihood models edge presence
            return encoder_input(graph.x, normalized_adjacency(graph.edge_index.numpy(), n, edge_weight=weight),
                                 fold=self._fold)
        if adjacency is None:
            adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
        return encoder_input(graph.x, normalized_adjacency(adjacency, n), fold=self._fold)

    def _warn_about_training(self) -> None:
        super()._warn_about_training()
        self._warn_if_collapsed()

    def _warn_if_collapsed(self) -> None:
        """Warn (:class:`graphvae.CollapseWarning`) when every node of the fitted graph got the same embedding."""
        z = self.embed_tensor()
        if rows_all_equal(z):
            warnings.warn(f"every one of the {len(z)} nodes got the same embedding, so every link scores the same "
                          f"(AUC 0.5): training collapsed (e.g. every hidden unit inactive after too large a step: try a "
                          f"smaller learning rate than {self.lr:g}) or the encoder cannot tell the nodes apart (e.g. a "
                          f"complete graph or a cycle without features)", CollapseWarning, stacklevel=4)

    def embed(self, graph: Graph | None = None) -> np.ndarray:
        """Node embeddings: the posterior means :math:`\\mu` (``[N, latent]``), for the fitted graph or ``graph``."""
        return self.embed_tensor(graph).cpu().numpy()

    def embedding_dict(self) -> dict:
        """``{node id: embedding}`` of the fitted graph, keyed by the caller's node ids."""
        z = self.embed()  # first: it says when the model is not fitted
        return dict(zip(self.node_ids_, z))

    def embed_tensor(self, graph: Graph | None = None) -> torch.Tensor:
        self._check_fitted()
        if graph is None and getattr(self, "embedding_", None) is not None:
            return self.embedding_  # a distributed fit (graphvae.training.distributed) gathered every rank's rows
        if graph is not None:
            graph = self._graph_to_embed(graph)
        inp = self.input_ if graph is None else self._to_model_device(self._encoder_input(graph))
        with evaluating():
            return self.objective_.encoder(inp).mu

    def _progress_label(self) -> str:
        """The progress bar's name for this configuration: GAE/VGAE, GNAE/VGNAE with the normalized head,
        ARGA/ARGVA with the adversarial regularizer, prefixed "masked" when edges are hidden from the encoder."""
        v = self.variational
        name = ("ARGVA" if v else "ARGA") if self.adversarial else ("VGNAE" if v else "GNAE") if self.normalize \
            else ("VGAE" if v else "GAE")
        return f"masked {name}" if self.mask_rate else name

    def _graph_to_embed(self, graph) -> Graph:
        """``graph`` (or a split's training graph) converted and checked against the fitted encoder's input; a
        model fitted without node features gets each node's feature row by its id (:func:`align_identity_features`)."""
        graph = graph.train_graph if isinstance(graph, LinkSplit) else as_graph(graph)
        if getattr(self, "identity_features_", False) and has_identity_features(graph):
            graph = align_identity_features(graph, self.node_ids_)
        graph.check_features(int(self.input_.features.shape[1]))
        return graph

    def predict_proba(self, pairs: torch.Tensor | np.ndarray) -> np.ndarray:
        """Link probabilities for node-index pairs of shape ``[2, n]`` (under the model's edge decoder; with
        ``snapshots > 1``, the mean of the snapshots' probabilities)."""
        return self._pair_probabilities(pairs)[0]

    def _pair_probabilities(self, *pairs: torch.Tensor | np.ndarray) -> list[np.ndarray]:
        """Probabilities of each ``[2, n]`` array of pairs: the fitted model's, or the mean over its snapshots."""
        snapshots = getattr(self, "snapshots_", None)
        if not snapshots:
            z = self.embed_tensor()
            return [self._probabilities(z, _node_pairs(p, int(z.shape[0]))) for p in pairs]
        pairs = [_node_pairs(p, self.input_.num_nodes) for p in pairs]
        total = [0.0] * len(pairs)
        try:
            for state in snapshots:
                self.objective_.load_state_dict(state)
                z = self.embed_tensor()
                total = [t + self._probabilities(z, p) for t, p in zip(total, pairs)]
        finally:  # the first snapshot is the best epoch, the parameters fit left loaded
            self.objective_.load_state_dict(snapshots[0])
        return [t / len(snapshots) for t in total]

    def _probabilities(self, z: torch.Tensor, pairs: torch.Tensor) -> np.ndarray:
        likelihood, pairs = self.objective_.likelihood, pairs.to(z.device)  # the caller's pairs, on z's device
        with evaluating():
            if hasattr(likelihood, "pair_logits"):
                logits = likelihood.pair_logits(z, pairs[0], pairs[1])
            else:
                logits = pair_scores(z, pairs[0], pairs[1])
            return torch.sigmoid(logits).cpu().numpy()

    def score(self, pos: torch.Tensor | np.ndarray | LinkSplit, neg: torch.Tensor | np.ndarray | None = None
              ) -> dict[str, float]:
        """AUC and AP on held-out positive and negative pairs (``[2, n]`` each; with ``snapshots > 1``, of the
        snapshots' mean probabilities). ``score(split)`` scores a :class:`LinkSplit`'s test pairs; its graph must be
        the fitted one (the same nodes, by id)."""
        if isinstance(pos, LinkSplit):
            if neg is not None:
                raise InputError("score(split) scores the split's test pairs: give no negative pairs beside it")
            self._check_fitted()
            split = checked_split(pos)
            if list(split.graph.node_ids) != list(self.node_ids_):
                raise InputError(f"score(split): the split's graph ({split.num_nodes} nodes) is not the graph this "
                                 f"model was fitted on ({len(self.node_ids_)} nodes): its pairs would index other nodes")
            pos, neg = split.test_pos, split.test_neg
        elif neg is None:
            raise InputError("score needs the positive and the negative pairs, score(pos, neg), or a LinkSplit, "
                             "score(split), for its test pairs")
        return auc_ap(*self._pair_probabilities(pos, neg))


def _node_pairs(pairs: torch.Tensor | np.ndarray, num_nodes: int) -> torch.Tensor:
    """``pairs`` as a ``[2, n]`` long tensor of node indices in ``0..num_nodes-1``, or :class:`InputError`."""
    if not isinstance(pairs, torch.Tensor):
        if isinstance(pairs, (list, tuple)) and len(pairs) == 2 and all(
                isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
            raise InputError("node pairs as a list of two pairs read both ways ([2, n] rows or two (i, j) pairs): "
                             "pass a [2, n] array or tensor")
        try:
            pairs = np.asarray(pairs)
        except ValueError:  # ragged nested lists
            raise InputError("node pairs must have shape [2, n]: two equally long rows of node indices") from None
        if pairs.size and pairs.dtype.kind not in "iu":
            raise InputError(f"node pairs must be integer node indices, got dtype {pairs.dtype}")
        if pairs.size and pairs.dtype.kind == "u" and int(pairs.max()) >= num_nodes:  # before a wrap to negative
            raise InputError(f"node pairs must index nodes 0..{num_nodes - 1}, got up to {int(pairs.max())}")
        pairs = torch.as_tensor(pairs.astype(np.int64, copy=False))
    elif pairs.numel() and (pairs.is_floating_point() or pairs.is_complex() or pairs.dtype == torch.bool):
        raise InputError(f"node pairs must be integer node indices, got dtype {pairs.dtype}")
    elif pairs.layout != torch.strided:  # a sparse tensor: min/max and indexing are not defined for it
        raise InputError(f"node pairs must be a dense [2, n] tensor or array, got a {pairs.layout} tensor")
    if pairs.dim() != 2 or pairs.shape[0] != 2:
        hint = ": a list of (i, j) pairs is [n, 2], pass its transpose" if pairs.dim() == 2 and pairs.shape[1] == 2 else ""
        raise InputError(f"node pairs must have shape [2, n], got {list(pairs.shape)}{hint}")
    pairs = pairs.long()
    if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= num_nodes):
        raise InputError(f"node pairs must index nodes 0..{num_nodes - 1}, got {int(pairs.min())}..{int(pairs.max())}")
    return pairs


class GAE(VGAE):
    """Graph auto-encoder: the :class:`VGAE` without the variational head (no KL term); the same options."""

    def __init__(self, hidden: int | Sequence[int] = 32, latent: int = 16, epochs: int = 200, lr: float = 0.01,
                 negatives_per_positive: float = 1.0, early_stopping: bool = False, patience: int = 50,
                 random_state: int | None = 0, progress: bool = False, bias: bool = False, *, normalize: float | None = None,
                 mask_rate: float = 0.0, decoder: str = "inner", decoder_hidden: int = 64,
                 decoder_dropout: float = 0.0, decoder_precision: str = "float32", degree_weight: float = 0.0,
                 adversarial: float = 0.0, discriminator_lr: float = 0.001, weight_decay: float = 0.0, activation: str = "relu",
                 sparsity: float = 0.05, sparsity_weight: float = 0.0, activation_l1: float = 0.0,
                 hidden_edges: float = 0.0, feature_noise: float = 0.0, encoder_dropout: float = 0.0,
                 batch_norm: bool = False, head_activation: str | None = None, lr_schedule: str | None = None,
                 clip_norm: float | None = None, mask_mode: str = "undirected", walk_length: int = 3,
                 negative_power: float = 0.0, snapshots: int = 1, device: str = "cpu"):
        # the VGAE's parameters by keyword, without the variational head (so no KL term and no beta)
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__")}, variational=False)
