"""A dense re-implementation of Kipf & Welling's reference GAE/VGAE (full N x N loss), on graphvae's splits.

    python benchmarks/reference_gae.py --dataset cora --model vgae --seeds 10 [--json PATH]

Independent of graphvae's model code (plain torch, dense Â and dense logits, ``pos_weight``/``norm``
and KL as in the reference TensorFlow code); only the data loader and ``split_edges`` are shared, so
the test pairs are exactly those of ``graphvae linkpred``. It separates the effect of graphvae's
sampled likelihood from everything else. O(N²) memory: for Cora/CiteSeer-sized graphs only.
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from _docs import ROOT, run_benchmark, count  # noqa: F401  (puts the repository on sys.path)
from sklearn.metrics import average_precision_score, roc_auc_score

import graphvae as gv
from graphvae.evaluation.summary import mean_std
from graphvae.files import write_json


def glorot(rows: int, cols: int) -> torch.nn.Parameter:
    bound = np.sqrt(6.0 / (rows + cols))
    return torch.nn.Parameter(torch.rand(rows, cols) * 2 * bound - bound)


def run(graph, seed: int, variational: bool, epochs: int = 200) -> tuple[float, float]:
    split = gv.split_edges(graph, seed=seed)
    n, ei = graph.num_nodes, split.train_edge_index.numpy()
    adj = sp.csr_matrix((np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
    adj_loops = adj + sp.eye(n)
    d = np.power(np.asarray(adj_loops.sum(1)).ravel(), -0.5)
    a_hat = torch.tensor((sp.diags(d) @ adj_loops @ sp.diags(d)).toarray(), dtype=torch.float32)
    label = torch.tensor(adj_loops.toarray(), dtype=torch.float32)
    pos_weight = torch.tensor(float(n * n - adj.sum()) / adj.sum())
    norm = n * n / float((n * n - adj.sum()) * 2)
    torch.manual_seed(seed)
    w0, w_mu, w_sigma = glorot(graph.x.shape[1], 32), glorot(32, 16), glorot(32, 16)
    optimizer = torch.optim.Adam([w0, w_mu, w_sigma], lr=0.01)
    ax = a_hat @ graph.x.to_dense()
    for _ in range(epochs):
        optimizer.zero_grad()
        h = torch.relu(ax @ w0)
        mu, logstd = a_hat @ (h @ w_mu), a_hat @ (h @ w_sigma)
        z = mu + torch.randn_like(mu) * logstd.exp() if variational else mu
        cost = norm * F.binary_cross_entropy_with_logits(z @ z.T, label, pos_weight=pos_weight)
        if variational:
            cost = cost - (0.5 / n) * torch.mean(torch.sum(1 + 2 * logstd - mu ** 2 - logstd.exp() ** 2, 1))
        cost.backward()
        optimizer.step()
    with torch.no_grad():
        emb = a_hat @ (torch.relu(ax @ w0) @ w_mu)
    score = lambda pairs: torch.sigmoid((emb[pairs[0]] * emb[pairs[1]]).sum(1)).numpy()
    pos, neg = score(split.test_pos), score(split.test_neg)
    y, s = np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--model", choices=["gae", "vgae"], default="vgae")
    parser.add_argument("--seeds", type=count, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    graph = gv.load_dataset(args.dataset)
    runs = [run(graph, seed, args.model == "vgae") for seed in range(args.seeds)]
    auc, ap = np.array(runs).T
    out = {"dataset": args.dataset, "model": args.model, "implementation": "dense reference port",
           "seeds": [{"seed": i, "auc": a, "ap": p} for i, (a, p) in enumerate(runs)],
           "auc": mean_std(auc), "ap": mean_std(ap)}
    print(f"{args.model.upper()} on {args.dataset}, dense reference port, {args.seeds} seeds: "
          f"AUC {auc.mean():.4f} ± {auc.std():.4f}  AP {ap.mean():.4f} ± {ap.std():.4f}")
    if args.json:
        write_json(args.json, out)


if __name__ == "__main__":
    run_benchmark(main)
