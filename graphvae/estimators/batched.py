r"""Many seeds trained as one model: the disjoint union of the seeds' training graphs.

A link-prediction table trains the same VGAE on ``C`` splits (one per seed). Each run alone is a
stream of small kernels; trained together, every step is one set of wider kernels. Seed ``c``'s
training graph becomes component ``c`` of a disjoint union on ``C n`` nodes (nodes ``c n .. (c+1) n - 1``):

* :math:`\hat A` is block diagonal, :math:`\mathrm{diag}(\hat A_1, \dots, \hat A_C)`, one CSR product;
* the encoder holds ``C`` independent copies of its weights (:class:`graphvae.nn.encoder.GCNEncoder`
  with ``copies=C``): the shared sparse features give one wide product :math:`X [W_1 \dots W_C]`,
  the later layers one batched matmul;
* the link likelihood sums the components' likelihoods, each with its own positives, its own
  reweighting, its own sampled pairs and its own control variate
  (:meth:`graphvae.objectives.likelihood.LinkTarget.disjoint_union`);
* every seed draws its noise and its pairs from its own generator, seeded as in a single run;
* with early stopping every seed is scored on its own validation pairs after every epoch and keeps the
  parameters of its own best epoch; training runs until every seed has waited ``patience`` epochs.

The loss is the sum of the seeds' losses and the parameters of different seeds never meet, so the
gradient of copy ``c`` is exactly seed ``c``'s gradient and Adam (elementwise) makes the same step:
seed ``c`` of a batched run is the model that ``VGAE(random_state=c).fit(split_c)`` trains, up to the
order of floating-point sums. The ELBO, the likelihood and the trainer are the ones a single model
uses (:func:`graphvae.training.trainer.train_elbo`).
"""
from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import torch

from .._validation import InputError, InputTypeError
from ..data.graph import has_identity_features
from ..data.split import LinkSplit, checked_split
from ..evaluation.metrics import auc_ap, link_probabilities
from ..nn.encoder import EncoderInput, GCNEncoder, _as_features, _usable
from ..nn.operator import SparseOperator, adjacency_matrix, normalized_adjacency
from ..objectives.elbo import ELBO, WeightDecay
from ..objectives.likelihood import LinkTarget
from ..training.trainer import train_elbo
from .base import evaluating, training_mode
from .models import VGAE

#: the automatic choice batches seeds while the union has at most this many nodes: beyond it a single
#: model's kernels are already large, and batching only multiplies memory
MAX_UNION_NODES = 100_000


def batchable(model: VGAE) -> bool:
    """Whether :func:`fit_seeds` can batch ``model``: a GCN encoder with the inner-product decoder (the paper's
    GAE/VGAE, optional bias), with or without early stopping (per seed), the normalized head and weight decay
    (so ``gnae``, ``vgnae`` and ``gnae-wd`` of :mod:`graphvae.estimators.zoo`), but not edge masking, learned
    decoders or adversarial terms (the zoo's ``masked-gnae``, ``maskgae``, ``maskgae-wide``, ``arga``, ``argva``),
    snapshot ensembles (``snapshots > 1``), the graph
    autoencoders' options (other activations, sparsity penalties, denoising), MaskGAE's encoder options
    (dropout, batch norm, head activation), a learning-rate schedule or gradient clipping, or a CUDA ``device``
    (the union's per-seed generators draw on the CPU)."""
    return (getattr(model, "mask_rate", 0.0) == 0 and getattr(model, "decoder", "inner") == "inner"
            and getattr(model, "adversarial", 0.0) == 0
            and getattr(model, "degree_weight", 0.0) == 0 and getattr(model, "activation", "relu") == "relu"
            and getattr(model, "sparsity_weight", 0.0) == 0 and getattr(model, "activation_l1", 0.0) == 0
            and getattr(model, "hidden_edges", 0.0) == 0 and getattr(model, "feature_noise", 0.0) == 0
            and getattr(model, "encoder_dropout", 0.0) == 0 and not getattr(model, "batch_norm", False)
            and getattr(model, "head_activation", None) is None and getattr(model, "lr_schedule", None) is None
            and getattr(model, "clip_norm", None) is None and getattr(model, "snapshots", 1) == 1
            and str(getattr(model, "device", "cpu")) == "cpu")


def batched_by_default(model: VGAE) -> bool:
    """Whether ``graphvae linkpred --seeds N`` batches ``model`` by itself: when :func:`batchable` and not with a
    normalized head. The normalized models (``gnae``, ``vgnae``, ``gnae-wd``) batch exactly but gain nothing from
    it: their 128-wide layers already make large kernels, and with early stopping every seed runs until the last
    one stops (Cora, three seeds of ``gnae-wd``: 12.5-15.3 s batched against 9.0-11.3 s one after another).
    Their training also amplifies float rounding (a 1e-7 relative change of the initial weights moves the
    embedding by 0.2 after 200 epochs of ``gnae-wd``), so a batched seed is that seed's model only up to that
    chaos, not to 1e-3 in AUC."""
    return batchable(model) and getattr(model, "normalize", None) is None


def seeds_per_batch(num_nodes: int, seeds: int, max_union_nodes: int = MAX_UNION_NODES) -> int:
    """How many seeds :func:`fit_seeds` should train together on a graph of ``num_nodes`` (1: sequential)."""
    return max(1, min(seeds, max_union_nodes // max(num_nodes, 1)))


def fit_seeds(template: VGAE, splits: Sequence[LinkSplit], seeds: Sequence[int]) -> list[VGAE]:
    """Train ``template``'s model once per ``(split, seed)`` as one batched model; return one fitted model each.

    Model ``c`` is a fitted ``VGAE`` with ``template``'s parameters and ``random_state=seeds[c]``, the
    same as ``clone.fit(splits[c])`` up to float summation order. Its ``history_`` holds the batched
    run's totals (the loss is the sum over the seeds; with early stopping each entry also has this seed's
    ``val_auc``) and ``train_seconds_`` its share of the training time. With early stopping each seed keeps its
    own best epoch (``best_epoch_``, ``best_val_auc_``), as its own fit would; the run lasts until the last seed
    stops, so ``history_`` may be longer than that fit's. Like ``fit``, it leaves the caller's global torch
    random state as it was.

    A seed whose own fit would fail (training diverged) fails here too, and only that seed: the blocks never
    meet, so the other seeds train as they would alone. The summed loss does not say which seed's part became
    NaN, so a batch whose loss did (checked on the history, nothing per epoch) trains its seeds once more one at a
    time, each ``clone.fit(splits[c])`` with its own errors and warnings. One or more failed seeds raise
    :class:`SeedsFailed` (an :class:`graphvae.InputError`) naming the first (``seed 3: training diverged: ...``),
    with every other seed's fitted model in its ``models``.
    """
    with torch.random.fork_rng(devices=[]), training_mode():  # building the stacked encoder and its copies draws
        return _fit_seeds(template, splits, seeds)  # throwaway weights


def _fit_seeds(template: VGAE, splits: Sequence[LinkSplit], seeds: Sequence[int]) -> list[VGAE]:
    if not isinstance(template, VGAE):
        raise InputTypeError(f"fit_seeds trains a graph autoencoder (graphvae.VGAE or GAE), got {type(template).__name__}")
    splits, seeds = _as_list(splits, "splits"), _as_list(seeds, "seeds")
    if len(splits) != len(seeds) or not splits:
        raise InputError(f"need one seed per split, got {len(splits)} splits and {len(seeds)} seeds")
    if not all(isinstance(s, LinkSplit) for s in splits):
        raise InputError("fit_seeds trains on LinkSplits (graphvae.split_edges), one per seed")
    splits = [checked_split(s) for s in splits]  # pairs of another graph met torch's IndexError
    if not batchable(template):
        raise InputError("this model is not batched (edge masking, a learned decoder, a CUDA device or another "
                         "option of graphvae.estimators.batched.batchable): fit the seeds one at a time")
    template._check_params()
    graphs = [s.train_graph for s in splits]
    n = int(graphs[0].num_nodes)
    if any(int(g.num_nodes) != n for g in graphs):
        raise InputError("batched seeds need splits of the same graph (equal node counts)")
    other = next((k for k, s in enumerate(splits) if not _same_features(s.graph.x, splits[0].graph.x)), None)
    if other is not None:  # the union shares one feature matrix: another graph's would be trained on the wrong one
        raise InputError(f"batched seeds need splits of the same graph: split {other} has other node features than split 0")
    weighted = [s.train_edge_weight is not None for s in splits]
    if any(weighted) and not all(weighted):
        raise InputError(f"batched seeds need splits of the same graph: split {weighted.index(not weighted[0])} is "
                         f"{'un' if weighted[0] else ''}weighted, split 0 is {'' if weighted[0] else 'un'}weighted")
    for g in graphs:
        g.check_trainable(template.latent)
    x = graphs[0].x
    models = [_clone(template, seed) for seed in seeds]
    for model in models:
        model._check_params_table()  # each seed as fit checks it (an integer from 0 to 2**63 - 1)
        if model.random_state is None:  # fit would draw one; here the seeds are the caller's record of the run
            raise InputError("fit_seeds needs an integer seed per split, got None")
        model._record_seed()
    if len(models) == 1:  # nothing to batch: the model fit trains (a batch of one has no stacked encoder)
        return _one_at_a_time(models, splits, seeds)
    adjacencies = [adjacency_matrix(g.edge_index.numpy(), n) for g in graphs]
    likelihood = template._likelihood()
    target = LinkTarget.disjoint_union(adjacencies)
    try:
        likelihood.check_union(target)
    except ValueError as e:
        raise InputError(f"these splits cannot be batched ({e}): fit them one at a time") from None
    weights = [(g.edge_index.numpy(), g.edge_weight) for g in graphs] if all(weighted) else None
    inp = union_input(x, adjacencies, fold=template._fold, weighted_edges=weights)
    encoder = GCNEncoder.stack([m._initial_encoder(int(x.shape[1])) for m in models])
    penalties = [WeightDecay(template.weight_decay)] if template.weight_decay > 0 else []
    objective = ELBO(encoder, likelihood, beta=template.beta, penalties=penalties)
    generators = [torch.Generator().manual_seed(m.seed_) for m in models]
    selection = SeedSelection(objective, inp, splits, template.patience) if template.early_stopping else None
    start = time.perf_counter()
    history = train_elbo(objective, lambda epoch: [(inp, target)], template.epochs, template.lr, generators,
                         template.progress, selection,
                         desc=f"{template._progress_label()} x{len(models)}", stop_on_nan=False)
    seconds = time.perf_counter() - start
    if not all(math.isfinite(entry["loss"]) for entry in history):  # some seed's loss became NaN or inf, and the
        # sum does not say whose: each seed's own fit stops there and reports it; the blocks never met, so training
        # each seed alone gives every seed its own fit's outcome (the healthy ones the same models)
        return _one_at_a_time([_clone(template, seed) for seed in seeds], splits, seeds)
    for index, (model, graph, adjacency) in enumerate(zip(models, graphs, adjacencies)):
        model.input_ = model._encoder_input(graph, adjacency)
        model.node_ids_ = list(graph.node_ids)
        model.identity_features_ = has_identity_features(graph)
        single = encoder.copy(index)
        model.history_ = history
        if selection is not None:
            selection.restore(single, index)
            model.history_ = [dict(entry, val_auc=auc) for entry, auc in zip(history, selection.val_auc[index])]
            model.best_epoch_, model.best_val_auc_ = selection.best_epoch[index], selection.best_auc[index]
        model.objective_ = ELBO(single, template._likelihood(), beta=template.beta, penalties=penalties).eval()
        model.train_seconds_ = seconds / len(models)
        model.batched_seeds_ = len(models)
    errors = [_fit_error(model._check_diverged) for model in models]  # a NaN or inf parameter: that seed's alone
    if any(error is not None for error in errors):
        raise SeedsFailed.of(seeds, errors, [None if e is not None else m for m, e in zip(models, errors)])
    for model in models:
        model._warn_if_collapsed()  # (the loss-rise warning needs a model's own loss: the union's is every seed's)
    return models


class SeedsFailed(InputError):
    """:func:`fit_seeds`: the fits of some seeds failed (training diverged), as those seeds' own fits do.

    The message names the first failed seed and that seed's own error (``seed 3: training diverged: ...``), and how
    many others failed. ``seeds``: the failed seeds, in the order given; ``errors``: per split, the error of its seed's
    fit or ``None``; ``models``: per split, its fitted model (the one ``fit_seeds`` would have returned) or ``None``.
    """

    def __init__(self, message: str, seeds: Sequence[int] = (), errors: Sequence[str | None] = (),
                 models: Sequence[VGAE | None] = ()) -> None:
        super().__init__(message)
        self.seeds, self.errors, self.models = list(seeds), list(errors), list(models)

    @classmethod
    def of(cls, seeds: Sequence[int], errors: Sequence[str | None], models: Sequence[VGAE | None]) -> "SeedsFailed":
        failed = [seed for seed, error in zip(seeds, errors) if error is not None]
        first = next(error for error in errors if error is not None)
        others = f" ({len(failed) - 1} more of the {len(seeds)} seeds failed: seed" \
                 f"{'s' if len(failed) > 2 else ''} {', '.join(map(str, failed[1:]))})" if len(failed) > 1 else ""
        return cls(f"seed {failed[0]}: {first}{others}", failed, errors, models)


def _fit_error(call) -> str | None:
    """The one-line message of the :class:`graphvae.InputError` that ``call()`` raises, or ``None``."""
    try:
        call()
    except InputError as error:
        return str(error)
    return None


def _one_at_a_time(models: list[VGAE], splits: Sequence[LinkSplit], seeds: Sequence[int]) -> list[VGAE]:
    """``models[c].fit(splits[c])`` for every seed (each with its own errors and warnings), or :class:`SeedsFailed`
    with the others' fitted models when some fail."""
    errors = [_fit_error(lambda: model.fit(split)) for model, split in zip(models, splits)]
    fitted = [None if error is not None else model for model, error in zip(models, errors)]
    for model in fitted:
        if model is not None:
            model.batched_seeds_ = 1
    if any(error is not None for error in errors):
        raise SeedsFailed.of(seeds, errors, fitted)
    return models


class SeedSelection:
    """Early stopping of every seed of a batched run on its own validation pairs (``train_elbo``'s ``on_epoch``).

    After each epoch the union is encoded once in evaluation mode; seed ``c``'s validation AUC is that of its
    rows, scored as ``VGAE.score`` scores a single model. A seed that improves keeps a copy of its slice of the
    parameters. A seed that has gone ``patience`` epochs without improving has stopped, as its single fit does:
    it is no longer scored, and its choice stays; training ends once every seed has stopped.
    """

    def __init__(self, objective: ELBO, inp: EncoderInput, splits: Sequence[LinkSplit], patience: int) -> None:
        self.objective, self.inp, self.patience = objective, inp, patience
        self.n, count = int(splits[0].num_nodes), len(splits)
        self.pairs = [(s.val_pos, s.val_neg) for s in splits]
        self.best_auc, self.best_epoch = [-1.0] * count, [-1] * count
        self.best_state: list[dict | None] = [None] * count
        self.val_auc: list[list[float]] = [[] for _ in splits]  # NaN after a seed has stopped
        self.stopped = [False] * count

    def __call__(self, epoch: int, entry: dict) -> bool:
        encoder = self.objective.encoder
        self.objective.eval()
        with evaluating():
            z = encoder(self.inp).mu
        self.objective.train()
        for c, (pos, neg) in enumerate(self.pairs):
            if self.stopped[c]:  # its own fit has ended: later epochs must not change its choice
                self.val_auc[c].append(float("nan"))
                continue
            z_c = z[c * self.n:(c + 1) * self.n]
            if not bool(torch.isfinite(z_c).all()):  # this seed diverged: it stops, as its own fit does, keeping
                self.stopped[c] = True               # its best epoch (its NaN loss makes fit_seeds refit alone)
                self.val_auc[c].append(float("nan"))
                continue
            auc = auc_ap(link_probabilities(z_c, pos), link_probabilities(z_c, neg))["auc"]
            self.val_auc[c].append(auc)
            if auc > self.best_auc[c]:
                self.best_auc[c], self.best_epoch[c] = auc, epoch
                with evaluating():
                    self.best_state[c] = {name: p[c].clone() for name, p in encoder.named_parameters()}
            self.stopped[c] = epoch - self.best_epoch[c] >= self.patience
        return all(self.stopped)

    def restore(self, single: GCNEncoder, index: int) -> None:
        """Load seed ``index``'s best parameters into its single encoder (``encoder.copy(index)``)."""
        state = self.best_state[index]
        if state is None:  # no finite validation score at all: the divergence check reports it
            return
        with evaluating():
            for name, p in single.named_parameters():
                p.copy_(state[name])


def _same_features(a, b) -> bool:
    """Whether two feature matrices (dense or sparse tensors) hold the same values."""
    if a is b:
        return True
    if tuple(a.shape) != tuple(b.shape):
        return False
    dense = lambda t: _usable(t).to_dense() if t.layout != torch.strided else t  # _usable: made in inference mode
    return bool(torch.equal(dense(a), dense(b)))


def union_input(x, adjacencies, fold: bool = True, weighted_edges=None) -> EncoderInput:
    r"""Encoder input of the disjoint union: block-diagonal :math:`\hat A`; dense features propagated per
    component (:math:`\hat A_c X` stacked) when ``fold``, else (and always for sparse features) kept once and
    shared by the copies (a normalized head needs them unpropagated). ``weighted_edges``: each component's
    ``(edge_index, edge_weight)``, whose weights then enter its block (each block the component's own weighted
    :math:`\hat A`: the union has no edge between components)."""
    n, count = adjacencies[0].shape[0], len(adjacencies)
    import scipy.sparse as sp

    if weighted_edges is None:
        adj = normalized_adjacency(sp.block_diag(adjacencies, format="csr"), n * count)
    else:
        edge_index = np.concatenate([np.asarray(e) + c * n for c, (e, _) in enumerate(weighted_edges)], axis=1)
        adj = normalized_adjacency(edge_index, n * count,
                                   edge_weight=np.concatenate([np.asarray(w) for _, w in weighted_edges]))
    if fold and isinstance(x, torch.Tensor) and x.layout == torch.strided:
        return EncoderInput(adj @ x.detach().repeat(count, 1), adj, propagated=True)
    # the same Â with column c n + i moved to i C + c: it propagates the first layer's [n, C out] product as it is
    matrix = adj.to_scipy()
    node_major = sp.csr_matrix((matrix.data, matrix.indices % n * count + matrix.indices // n, matrix.indptr),
                               shape=matrix.shape)
    return EncoderInput(_as_features(x), adj, propagated=False, shared_adj=SparseOperator(node_major))


def _as_list(items, name: str) -> list:
    """``items`` (a list, tuple, array, generator, ...) as a list, or :class:`InputTypeError` when not iterable."""
    if isinstance(items, (str, bytes, LinkSplit)):
        raise InputTypeError(f"{name} must be a sequence (one entry per seed), got {type(items).__name__}")
    try:
        return list(items)
    except TypeError:
        raise InputTypeError(f"{name} must be a sequence (one entry per seed), got {type(items).__name__}") from None


def _clone(template: VGAE, seed: int) -> VGAE:
    """An unfitted copy of ``template``'s parameters with ``random_state=seed`` (scikit-learn's ``clone``)."""
    from sklearn.base import clone

    return clone(template).set_params(random_state=seed)
