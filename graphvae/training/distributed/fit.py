r"""Training on one rank: the shared :class:`graphvae.objectives.elbo.ELBO` and :func:`graphvae.training.trainer.train_elbo` over a shard.

Nothing of the loss or the loop is forked. The pieces that differ are plugged in:

- the encoder is the shared :class:`graphvae.nn.encoder.GCNEncoder`, with :class:`.halo.ShardOperator` as
  its :math:`\hat A` (halo exchange per layer) and :class:`.likelihood.ShardEncoder` around it so that the
  noise of every node is the single process's;
- the likelihood is :class:`.likelihood.DistributedLinkLikelihood` (this rank's share of the estimate);
- a post-accumulate hook on every parameter all-reduces its gradient (a sum: the loss is a sum of the
  ranks' shares), so Adam takes the same step on every rank and the parameters stay identical.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import scipy.sparse as sp
import torch

from ..._validation import InputError
from ...data.graph import as_graph
from ...nn.encoder import EncoderInput, GCNEncoder
from ...nn.operator import SparseOperator, adjacency_matrix, weighted_gcn_normalize
from ...objectives.elbo import ELBO
from ..trainer import train_elbo
from . import runtime
from .halo import AllGatherRows, ShardOperator
from .likelihood import DistributedLinkLikelihood, ShardEncoder, ShardTarget
from .partition import Partition, Shard, balanced_bounds

_HISTORY_SUMS = ("loss", "elbo", "log_likelihood", "kl", "penalty")


def fit_distributed(model, data, ordering: str | None = None, keep_group: bool = False,
                    same_on_every_rank: dict | None = None):
    """Fit a :class:`graphvae.estimators.models.VGAE` (or GAE) across the ranks of the current ``torchrun`` job.

    Every rank calls this with the same model parameters and the same ``data`` (a graph or a
    :class:`graphvae.data.split.LinkSplit`); each keeps only its partition (:class:`.partition.Partition`)
    and trains on it. ``ordering`` is the partition method (:class:`.partition.Partition`; default
    ``$GRAPHVAE_PARTITION``, else ``"rcm"``). Afterwards every rank holds the trained parameters (``objective_``), the
    embeddings of all nodes (``embedding_``, gathered), and ``history_`` with the global loss terms.

    Ranks given different model settings, graphs, features or orderings raise the same one-line
    :class:`graphvae.InputError` before training. Without a running context (:func:`.runtime.init`) the call starts
    one (and the process group from torchrun's variables, if the script has none) and ends it before returning, so
    the process is left as it was; ``keep_group=True`` keeps it for later fits of the same job (as the CLI does for
    its seeds; :func:`.runtime.shutdown` or the process's exit ends it). ``same_on_every_rank``: more values (name ->
    value) the ranks must agree on, such as a command's number of seeds (each a fit: a rank with more would wait for
    the others in the next one), checked with the graph in the same all-reduce and refused the same way.
    """
    model._check_params()
    check_supported(model)
    split = data if hasattr(data, "train_graph") else None
    graph = split.train_graph if split is not None else as_graph(data)
    graph.check_trainable(model.latent)
    n = int(graph.num_nodes)
    balanced_bounds(n, runtime.world_size_from_env())  # too many ranks: one line, before any rendezvous
    ordering = ordering or os.environ.get("GRAPHVAE_PARTITION", "rcm")
    if ordering not in ("rcm", "metis", "natural", "random"):
        raise InputError(f"GRAPHVAE_PARTITION must be rcm, metis, natural or random, got {ordering!r}")
    started = not runtime.running()  # this call's context: ended before returning unless keep_group
    ctx = runtime.init()
    try:
        weight = getattr(graph, "edge_weight", None)  # weights enter Â as in one process (models here hide no edges)
        # a rank given another graph would partition it differently: the ranks' exchanges would no longer match
        runtime.check_same_on_every_rank({"graph": (n, graph.edge_index, weight), "features": graph.x,
                                          "partition (GRAPHVAE_PARTITION)": ordering, **(same_on_every_rank or {})})
        adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
        ahat = None if weight is None else weighted_gcn_normalize(graph.edge_index.numpy(), weight, n)
        shard = Partition(adjacency, ctx.world_size, ordering, ahat=ahat).shard(ctx.rank, graph.x)
        del adjacency, ahat
        return fit_shard(model, shard)
    finally:
        if started and not keep_group:
            runtime.shutdown()


#: what :func:`check_supported` advises by default (the Python API's spelling)
SUPPORTED_ADVICE = "under torchrun train gae or vgae (or a VGAE with a normalized head) without early stopping"


def check_supported(model, advice: str = SUPPORTED_ADVICE) -> None:
    """Raise :class:`graphvae.InputError` (one line) for model options the distributed path does not have;
    ``advice`` ends the line (a command names its own flags and models)."""
    missing = [what for what, on in (
        ("early stopping (it needs every epoch's validation AUC on one rank)", model.early_stopping),
        ("edge masking", getattr(model, "mask_rate", 0) > 0),
        ("the MLP edge decoder", getattr(model, "decoder", "inner") != "inner"),
        ("the adversarial regularizer", getattr(model, "adversarial", 0) > 0),
        ("weight decay", getattr(model, "weight_decay", 0) > 0),
        ("a non-ReLU activation", getattr(model, "activation", "relu") != "relu"),
        ("sparsity penalties", getattr(model, "sparsity_weight", 0) > 0 or getattr(model, "activation_l1", 0) > 0),
        ("denoising", getattr(model, "hidden_edges", 0) > 0 or getattr(model, "feature_noise", 0) > 0),
        ("encoder dropout", getattr(model, "encoder_dropout", 0) > 0),
        ("batch norm (its statistics would be per rank)", getattr(model, "batch_norm", False)),
        ("a head activation", getattr(model, "head_activation", None) is not None),
        ("a CUDA device (the ranks train on their CPUs)", str(getattr(model, "device", "cpu")) != "cpu"),
        ("random_state=None (each rank would draw its own seed; give all the same integer)",
         model.random_state is None)) if on]
    if missing:
        raise InputError(f"not available in a distributed run: {', '.join(missing)}; {advice}")


def shard_input(x, op: ShardOperator, fold: bool = True) -> EncoderInput:
    r"""The encoder input of a shard: dense features are propagated once (:math:`(\hat A X)_r`), sparse ones
    stay sparse and the first layer computes :math:`\hat A (X W)` (the same maths either way); ``fold=False``
    never propagates (the normalized head transforms ``XW`` before :math:`\hat A`)."""
    if sp.issparse(x):
        return EncoderInput(SparseOperator(x), op, propagated=False)
    if not fold:
        return EncoderInput(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), op, propagated=False)
    with torch.no_grad():
        return EncoderInput(op @ torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), op, propagated=True)


def fit_shard(model, shard: Shard):
    """Train ``model`` (a VGAE/GAE's parameters) on this rank's ``shard``; see :func:`fit_distributed`.

    The shard's rows of Â and its features are dropped once the encoder's operator and input are built
    (:meth:`.partition.Shard.drop_setup_arrays`): they would otherwise sit in memory through training.
    """
    ctx = runtime.context()
    if shard.world_size != ctx.world_size or shard.rank != ctx.rank:
        raise InputError(f"shard of rank {shard.rank} of {shard.world_size} given to rank {ctx.rank} of {ctx.world_size}")
    # other epochs, seed or sizes on one rank: its collectives would not match the others' (a crash or a wait)
    runtime.check_same_on_every_rank({
        "model settings": model_settings(model),
        "partition": (shard.num_nodes, shard.bounds, shard.num_edges, shard.num_positive, int(shard.x.shape[1]))})
    objective, encoder, inp, target = build_objective(model, shard)
    shard.drop_setup_arrays()
    generator = torch.Generator().manual_seed(model.seed_)
    hooks = all_reduce_gradients(encoder)
    before = dict(ctx.sent_bytes)
    start = time.perf_counter()
    try:
        with runtime.guard("training"):
            history = train_elbo(objective, lambda epoch: [(inp, target)], model.epochs, model.lr, generator,
                                 model.progress and ctx.is_root, None, desc=model._progress_label(),
                                 stop_on_nan=False)  # every rank runs the same epochs
            model.train_seconds_ = time.perf_counter() - start
            model.traffic_per_epoch_ = {kind: (ctx.sent_bytes.get(kind, 0) - before.get(kind, 0)) / len(history)
                                        for kind in ctx.sent_bytes}
            sums = torch.tensor([[h[key] for key in _HISTORY_SUMS] for h in history], dtype=torch.float64)
            runtime.all_reduce_(sums, "report")
            for h, row in zip(history, sums.tolist()):
                h.update(zip(_HISTORY_SUMS, row))
            with torch.no_grad():
                mu_all = AllGatherRows.apply(encoder(inp).mu, shard.bounds)
    finally:
        for h in hooks:
            h.remove()
    # one process stops at its first epoch whose loss is NaN or inf and reports it (the ranks run every epoch)
    first_nan = next((i for i, h in enumerate(history) if not math.isfinite(h["loss"])), len(history) - 1)
    model.history_ = history[:first_nan + 1]
    model.embedding_ = mu_all[torch.from_numpy(shard.new_of_orig)]  # original node order
    model.input_ = inp
    model.objective_ = ELBO(encoder, model._likelihood(), beta=model.beta)
    model.world_size_, model.rank_ = ctx.world_size, ctx.rank
    try:  # as fit: a NaN or inf parameter or loss is an error, not a model (the same parameters and summed history on
        model._check_diverged()  # every rank: every rank raises the same line)
    except InputError:
        model._forget_fit(keep=("history_", "seed_"))
        raise
    return model


def model_settings(model) -> list:
    """The model's parameters that every rank must share: all but ``progress`` (drawn by rank 0 alone)."""
    return sorted((name, value) for name, value in model.get_params(deep=False).items() if name != "progress")


def build_objective(model, shard: Shard) -> tuple[ELBO, GCNEncoder, EncoderInput, ShardTarget]:
    """This rank's ELBO (shared module, distributed pieces plugged in), its encoder, input and target."""
    hidden = model._check_params()
    check_supported(model)
    model._record_seed()  # random_state=None was refused above: every rank takes the same seed
    normalize = getattr(model, "normalize", None)
    with runtime.guard("setup"):
        target = ShardTarget.from_shard(shard)  # first: its temporaries peak before the operator exists
        op = ShardOperator(shard.adj_indptr, shard.adj_indices, shard.adj_data, shard.lo, shard.hi, shard.bounds)
        inp = shard_input(shard.x, op, fold=normalize is None)
    with torch.random.fork_rng():  # the single process's initialization: identical on every rank
        torch.manual_seed(model.seed_)
        options = {} if normalize is None else {"normalize": normalize}
        encoder = GCNEncoder(int(shard.x.shape[1]), hidden, model.latent, variational=model.variational,
                             bias=model.bias, **options)
    objective = ELBO(ShardEncoder(encoder, target.orig_ids, shard.num_nodes),
                     DistributedLinkLikelihood.like(model._likelihood()), beta=model.beta)
    return objective, encoder, inp, target


def all_reduce_gradients(encoder: torch.nn.Module) -> list:
    """Hooks that sum every parameter's gradient over ranks as soon as backward has accumulated it."""
    return [p.register_post_accumulate_grad_hook(_all_reduce_grad) for p in encoder.parameters()]


def _all_reduce_grad(param: torch.Tensor) -> None:
    runtime.all_reduce_(param.grad, "gradients")
