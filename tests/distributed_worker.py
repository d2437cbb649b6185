"""One rank of a distributed test (run by tests/test_distributed.py in 2 processes with torchrun's variables).

``python tests/distributed_worker.py MODE OUT_JSON``: rank 0 writes what the test checks to ``OUT_JSON``.
Modes: ``step`` (one ELBO step vs the single process), ``halo`` (halo exchange and all-gather backward
vs single-process autograd), ``fit`` (a small end-to-end fit vs the single process), ``die`` (rank 1
dies at its first training step).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import graphvae.objectives.likelihood as lik  # noqa: E402
from graphvae.data.graph import build_graph  # noqa: E402
from graphvae.training.distributed import runtime  # noqa: E402


def small_graph(n: int = 80, seed: int = 0, sparse: bool = False):
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 3, n)
    p = np.where(blocks[:, None] == blocks[None, :], 0.15, 0.02)
    u, v = np.nonzero(np.triu(rng.random((n, n)) < p, 1))
    x = rng.standard_normal((n, 6)).astype(np.float32)
    if sparse:
        x = (x > 0.8).astype(np.float32)
        import scipy.sparse as sp
        x = sp.csr_matrix(x)
    return build_graph(u, v, n, x=x)


def single_step(graph, model):
    from graphvae.objectives.elbo import ELBO
    from graphvae.nn.encoder import GCNEncoder
    from graphvae.nn.operator import adjacency_matrix

    n = graph.num_nodes
    adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
    inp = model._encoder_input(graph, adjacency)
    target = lik.LinkTarget.from_edges(adjacency, n)
    with torch.random.fork_rng():
        torch.manual_seed(model.random_state)
        options = {} if model.normalize is None else {"normalize": model.normalize}
        encoder = GCNEncoder(int(graph.x.shape[1]), (model.hidden,), model.latent, variational=model.variational,
                             bias=model.bias, **options)
    objective = ELBO(encoder, model._likelihood(), beta=model.beta)
    terms = objective(inp, target, torch.Generator().manual_seed(model.random_state))
    terms.loss.backward()
    return float(terms.loss.detach()), [p.grad.clone() for p in encoder.parameters()]


def mode_step(ctx, out):
    from graphvae.training.distributed.fit import all_reduce_gradients, build_objective
    from graphvae.training.distributed.partition import Partition
    from graphvae.estimators.models import VGAE
    from graphvae.nn.operator import adjacency_matrix

    class PlainVGAE(VGAE):  # the other estimator settings: no control variate, no reweighting
        def _likelihood(self):
            return lik.LinkLikelihood(self.negatives_per_positive, reweight=False, control_variate=False)

    import graphvae.training.distributed.likelihood as dlik

    saved, lik._FIT_ROWS = lik._FIT_ROWS, 30  # the fit uses a subset of the rows, as on large graphs
    dlik.ROW_BLOCK_ENTRIES = 50  # several blocks of rows in the sampler and the residual
    report = []
    for sparse, variational, cls, options in ((False, True, VGAE, {}), (True, True, VGAE, {}),
                                              (False, False, VGAE, {}), (False, True, PlainVGAE, {}),
                                              (False, True, VGAE, {"normalize": 1.8, "bias": True})):
        graph = small_graph(sparse=sparse)
        model = cls(hidden=8, latent=4, variational=variational, random_state=5, **options)
        ref_loss, ref_grads = single_step(graph, model)
        adjacency = adjacency_matrix(graph.edge_index.numpy(), graph.num_nodes)
        shard = Partition(adjacency, ctx.world_size).shard(ctx.rank, graph.x)
        objective, encoder, inp, target = build_objective(model, shard)
        hooks = all_reduce_gradients(encoder)
        terms = objective(inp, target, torch.Generator().manual_seed(model.random_state))
        terms.loss.backward()
        loss = runtime.all_reduce_(terms.loss.detach().double().clone(), "test")
        for h in hooks:
            h.remove()
        grads = [p.grad for p in encoder.parameters()]
        report.append({"sparse": sparse, "variational": variational, "estimator": cls.__name__, **options,
                       "loss": float(loss), "ref_loss": ref_loss,
                       "max_grad_diff": max(float((g - r).abs().max()) for g, r in zip(grads, ref_grads)),
                       "max_grad": max(float(r.abs().max()) for r in ref_grads),
                       "local_rows": shard.num_local})
    lik._FIT_ROWS = saved
    return report


def mode_halo(ctx, out):
    """f(H) = sum(W * (Â H)) and g(H) = sum(V * gather(H)): distributed gradients vs single-process autograd."""
    from graphvae.training.distributed.halo import AllGatherRows, ShardOperator
    from graphvae.training.distributed.partition import Partition
    from graphvae.nn.operator import adjacency_matrix, normalized_adjacency

    graph = small_graph(n=50, seed=3)
    n = graph.num_nodes
    adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
    part = Partition(adjacency, ctx.world_size)
    shard = part.shard(ctx.rank, graph.x)
    gen = torch.Generator().manual_seed(0)
    h_full = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    w_full = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    v_full = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    # single process, original labels
    h_ref = h_full.clone().requires_grad_()
    adj = normalized_adjacency(adjacency, n)
    a = torch.from_numpy(adj.to_scipy().toarray()).double()
    ((w_full * (a @ h_ref)).sum() + ctx.world_size * (v_full * h_full * h_ref).sum()).backward()
    # distributed: rows of this rank in partition order
    rows = torch.from_numpy(shard.orig_ids)
    new_order = torch.from_numpy(part.order)
    op = ShardOperator(shard.adj_indptr, shard.adj_indices, shard.adj_data.astype(np.float64), shard.lo, shard.hi,
                       shard.bounds)
    op.local.csr = op.local.csr.double()
    op.local.csr_t = op.local.csr_t.double()
    h = h_full[rows].clone().requires_grad_()
    f = (w_full[rows] * (op @ h)).sum()
    g = (v_full[new_order] * AllGatherRows.apply(h, shard.bounds) * h_full[new_order]).sum()
    (f + g).backward()  # every rank adds the all-gather term once: its gradient is summed over the ranks
    grad = h.grad
    full = torch.zeros(n, 5, dtype=torch.float64)
    full[rows] = grad
    runtime.all_reduce_(full, "test")
    expected = h_ref.grad
    return {"max_diff": float((full - expected).abs().max()), "max_grad": float(expected.abs().max()),
            "halo_rows": op.plan.num_halo, "local_rows": shard.num_local}


def mode_fit(ctx, out):
    from graphvae.training.distributed.fit import fit_distributed
    from graphvae.estimators.models import VGAE
    from graphvae.data.split import split_edges

    graph = small_graph(n=300, seed=1)
    split = split_edges(graph, seed=0)
    model = fit_distributed(VGAE(hidden=16, latent=8, epochs=40, random_state=0), split)
    auc = model.score(split.test_pos, split.test_neg)["auc"]
    return {"auc": auc, "loss": model.history_[-1]["loss"], "embedding_shape": list(model.embedding_.shape),
            "traffic": model.traffic_per_epoch_}


def main() -> int:
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "die":  # rank 1 dies when training starts; the CLI runs with the remaining arguments
        from graphvae import cli
        import graphvae.training.distributed.fit as fit
        if int(os.environ["RANK"]) == 1:
            fit.train_elbo = lambda *a, **k: os._exit(3)
        return cli.main(sys.argv[3:])
    ctx = runtime.init()
    modes = {"step": mode_step, "halo": mode_halo, "fit": mode_fit}
    if mode == "all":
        result = {name: run(ctx, out) for name, run in modes.items()}
    else:
        result = modes[mode](ctx, out)
    if ctx.is_root:
        with open(out, "w") as f:
            json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
