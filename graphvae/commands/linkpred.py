"""``graphvae linkpred``: the paper's link-prediction experiment, mean ± std over seeds."""
from __future__ import annotations

import argparse
import sys
import time

from .._validation import InputError
from ..data import load_dataset, load_graph
from ..models import VGAE
from ..split import split_edges
from ._common import mean_std, positive_float, positive_int, write_json


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=["vgae", "gae"], default="vgae", help="VGAE or GAE (default: vgae)")
    p.add_argument("--epochs", type=positive_int, default=200, help="training epochs (default: 200)")
    p.add_argument("--lr", type=positive_float, default=0.01, help="Adam learning rate (default: 0.01)")
    p.add_argument("--hidden", type=positive_int, default=32, help="hidden GCN width (default: 32)")
    p.add_argument("--latent", type=positive_int, default=16, help="latent dimension (default: 16)")
    p.add_argument("--negatives", type=positive_float, default=1.0,
                   help="sampled pairs per positive pair and epoch (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_graph_arguments(p: argparse.ArgumentParser, dataset_default: str | None) -> None:
    p.add_argument("--dataset", default=dataset_default, help="bundled dataset: cora or citeseer")
    p.add_argument("--edges", help="graph file instead of --dataset: edge list (CSV/TSV: source, target[, weight]), "
                                   ".graphml, .gml, .gexf, .net (Pajek) or .npz (scipy sparse adjacency)")
    p.add_argument("--features", help="node features: .npy (one row per node) or CSV keyed by node id")
    header = p.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None, help="the edge list has a header row")
    header.add_argument("--no-header", dest="header", action="store_false", help="the edge list has no header row")


def graph_from_args(args: argparse.Namespace):
    if args.edges:
        graph = load_graph(args.edges, args.features, args.header)
        c = graph.cleaning
        print(f"graph: {graph.num_nodes} nodes, {c['undirected_edges']} undirected edges "
              f"(dropped {c['self_loops']} self-loops and {c['duplicates']} duplicate edges; "
              f"symmetrized {c['one_way']} one-way edges)"
              + ("; edge weights enter Â" if getattr(graph, "edge_weight", None) is not None else ""), file=sys.stderr)
        return graph, str(args.edges)
    if args.dataset is None:
        raise InputError("give --dataset NAME or --edges FILE")
    if args.features:
        raise InputError("--features goes with --edges, not with a bundled --dataset")
    return load_dataset(args.dataset), args.dataset.lower()


def model_from_args(args: argparse.Namespace, seed: int, **extra) -> VGAE:
    return VGAE(hidden=args.hidden, latent=args.latent, variational=args.model == "vgae", epochs=args.epochs,
                lr=args.lr, negatives_per_positive=args.negatives, random_state=seed,
                progress=not args.no_progress, **extra)


def register(sub) -> None:
    p = sub.add_parser("linkpred", help="link prediction: train on a split, report test AUC and AP",
                       description="Split the graph (85/5/10), train GAE/VGAE, report test AUC/AP over seeds.")
    add_graph_arguments(p, dataset_default="cora")
    add_model_arguments(p)
    p.add_argument("--seeds", type=positive_int, default=1, help="number of seeds 0..N-1 (default: 1)")
    p.add_argument("--early-stopping", action="store_true", help="keep the epoch with the best validation AUC")
    p.add_argument("--patience", type=positive_int, default=50, help="early-stopping patience in epochs")
    p.add_argument("--json", help="write the results as JSON to this path")
    p.add_argument("--plot", metavar="DIR", help="write ROC and precision-recall curves of the test edges "
                                                 "(first seed, link_curves.png) into DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ._common import check_writable_dir

    check_writable_dir(args.plot, "--plot")
    graph, name = graph_from_args(args)
    results, train_seconds = [], 0.0
    start = time.perf_counter()
    for seed in range(args.seeds):
        split = split_edges(graph, seed=seed)
        model = model_from_args(args, seed, early_stopping=args.early_stopping, patience=args.patience).fit(split)
        train_seconds += model.train_seconds_
        scores = model.score(split.test_pos, split.test_neg)
        results.append({"seed": seed, **scores})
        print(f"seed {seed}: test AUC {scores['auc']:.4f}  AP {scores['ap']:.4f}", flush=True)
        if args.plot and seed == 0:
            import numpy as np
            import torch

            from ..plots import plot_link_curves

            pairs = torch.cat([split.test_pos, split.test_neg], dim=1)
            truth = np.r_[np.ones(split.test_pos.shape[1]), np.zeros(split.test_neg.shape[1])]
            path = plot_link_curves(truth, model.predict_proba(pairs), f"{args.plot}/link_curves.png",
                                    f"{args.model.upper()} on {name}: test edges vs sampled non-edges (seed 0)")
            print(f"figures: {path.name} in {args.plot}", file=sys.stderr)
    auc, ap = mean_std([r["auc"] for r in results]), mean_std([r["ap"] for r in results])
    print(f"{args.model.upper()} on {name}, {args.seeds} seed(s): AUC {auc['mean']:.4f} ± {auc['std']:.4f}  "
          f"AP {ap['mean']:.4f} ± {ap['std']:.4f}  (training {train_seconds:.1f} s)")
    if args.json:
        write_json(args.json, {
            "dataset": name, "model": args.model, "seeds": results, "auc": auc, "ap": ap,
            "train_seconds": train_seconds, "total_seconds": time.perf_counter() - start,
            "config": {k: getattr(args, k) for k in ("epochs", "lr", "hidden", "latent", "negatives", "early_stopping")},
        })
    return 0
