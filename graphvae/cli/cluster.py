"""``graphvae cluster``: embed, then cluster the nodes by EM on a Gaussian mixture (or k-means)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .._validation import InputError
from ..evaluation.summary import mean_std
from ..files import write_json
from ._common import (
    add_embedding_arguments,
    add_graph_arguments,
    check_device,
    check_graph_arguments,
    check_inputs,
    check_output_dir,
    embedding_overrides,
    figure_file,
    fill_defaults,
    graph_from_args,
    narrow_default_latent,
    prepare_workers,
    refuse_unused,
    release_notes,
    task_embeddings,
)
from ._workers import SeedLines, map_in_workers

DEFAULT_MODEL = "gnae-wd-smooth"  # graphvae.estimators.node_embeddings.CLUSTER_DEFAULT_MODEL (--help imports no torch)


#: the error of a graph without labels (said before the graph is read when it is a graph file)
NEEDS_CLUSTERS = "--clusters K is required for a graph without labels"


def register(sub) -> None:
    p = sub.add_parser("cluster", help="cluster nodes by EM on a Gaussian mixture (or k-means); ACC, NMI, ARI",
                       description="Train an embedding model, cluster the PCA-whitened embeddings with a Gaussian "
                                   "mixture fitted by EM (or k-means) and, with labels, report ACC (Hungarian "
                                   "matching), NMI and ARI over seeds. --out writes id, cluster and the mixture's "
                                   "responsibilities (first seed).")
    add_graph_arguments(p, dataset_default=None)
    p.add_argument("--labels", metavar="FILE", help="CSV/TSV of node id, label for every node (for the scores)")
    p.add_argument("--clusters", type=int, help="number of clusters K (default: the number of label classes; "
                                                "required without labels)")
    p.add_argument("--method", choices=["gmm", "kmeans"], default="gmm",
                   help="gmm: EM on a Gaussian mixture (default); kmeans")
    p.add_argument("--covariance", choices=["full", "tied", "diag", "spherical"], default=None,
                   help="covariance type of the mixture components (--method gmm) (default: tied, one covariance "
                        "shared by all components; chosen on the Cora validation nodes)")
    p.add_argument("--restarts", type=int, default=10,
                   help="EM (or k-means) runs from different initializations; the highest likelihood is kept "
                        "(default: 10)")
    p.add_argument("--out", metavar="FILE", help="CSV (.csv) of node id, cluster and responsibilities r0..r(K-1)")
    add_embedding_arguments(p, DEFAULT_MODEL)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.clusters is not None and args.clusters < 2:
        raise InputError(f"--clusters must be at least 2, got {args.clusters}")
    if args.restarts < 1:
        raise InputError(f"--restarts must be at least 1, got {args.restarts}")
    if args.out is not None and not args.out.lower().endswith(".csv"):
        raise InputError(f"--out must end in .csv (the clusters are written as CSV); got {args.out}")
    check_graph_arguments(args)
    check_device(args)
    refuse_unused(args, [("covariance", args.method == "gmm", "--covariance is that of the Gaussian mixture "
                                                               "(--method gmm): k-means has none")])
    fill_defaults(args, {"covariance": "tied"})
    if args.clusters is None and args.edges is not None and args.labels is None:  # before loading the graph
        raise InputError(NEEDS_CLUSTERS)
    check_inputs(args, labels="labels file")
    check_output_dir(args.out, "clusters file")
    check_output_dir(args.json, "JSON file")
    import numpy as np

    from ..estimators.node_embeddings import (
        embedding_config,
        embedding_latent,
    )
    from ..evaluation.node_tasks import (
        check_clusters,
        cluster,
        cluster_scores,
        encode_labels,
        node_labels,
        require_all_labelled,
    )

    graph, name = graph_from_args(args)
    workers, _ = prepare_workers(args.workers, args.threads, args.seeds, int(graph.num_nodes), args.device)
    max_latent = narrow_default_latent(args, graph, embedding_latent(args.model, **embedding_overrides(args)),
                                       set_latent=False)
    labels = node_labels(graph, args.labels)
    y = None
    if labels is not None:
        require_all_labelled(labels, graph.node_ids, args.labels or name)
        _, y, classes = encode_labels(labels, args.labels or name)
    if args.clusters is None and y is None:
        raise InputError(NEEDS_CLUSTERS)
    k = check_clusters(args.clusters if args.clusters is not None else len(classes), int(graph.num_nodes))
    results, start, first = [], time.perf_counter(), None
    progress = not args.no_progress

    def train(seed: int) -> tuple[dict, dict | None]:
        """Embed with ``seed`` and cluster; with seed 0's clustering for ``--out`` and ``--plot``."""
        z, model = task_embeddings(graph, args.model, seed, progress and workers == 1, max_latent, args.device,
                                   **embedding_overrides(args))
        c = cluster(z, k, args.method, args.covariance, random_state=seed, n_init=args.restarts,
                    progress=progress and workers == 1)
        r = {"seed": seed, "train_seconds": model.train_seconds_,
             "sizes": np.bincount(c["labels"], minlength=k).tolist()}
        if y is not None:
            r.update(cluster_scores(y, c["labels"]))
        return r, (c if seed == 0 else None)

    release_notes()  # the inputs are checked: the graph's summary, then training
    outcomes = map_in_workers(train, range(args.seeds), workers)  # forks now: before the bar starts its thread
    with SeedLines(args.seeds, workers, progress) as report:
        for r, c in outcomes:
            first = first or c
            if y is not None:
                report(f"seed {r['seed']}: ACC {r['acc']:.4f}  NMI {r['nmi']:.4f}  ARI {r['ari']:.4f}")
            elif args.seeds > 1:
                report(f"seed {r['seed']}: clusters of sizes {', '.join(map(str, r['sizes']))}")
            results.append(r)
    summary = {m: mean_std([r[m] for r in results]) for m in ("acc", "nmi", "ari")} if y is not None else {}
    how = "EM on a Gaussian mixture" if args.method == "gmm" else "k-means"
    if summary:
        s = summary
        print(f"{args.model} + {how} (K={k}) on {name}, {args.seeds} seed(s): ACC {s['acc']['mean']:.4f} ± "
              f"{s['acc']['std']:.4f}  NMI {s['nmi']['mean']:.4f} ± {s['nmi']['std']:.4f}  "
              f"ARI {s['ari']['mean']:.4f} ± {s['ari']['std']:.4f}")
    else:
        sizes = np.bincount(first["labels"], minlength=k)
        print(f"{args.model} + {how} on {name}: {k} clusters of sizes {', '.join(map(str, sizes))} (seed 0)")
    if args.out:
        from ..files import atomic_write, write_csv_rows

        def write(tmp):
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                write_csv_rows(f, ["node_id", "cluster", *(f"r{j}" for j in range(k))],
                               ([node, int(cl), *(f"{v:.6g}" for v in resp)] for node, cl, resp
                                in zip(graph.node_ids, first["labels"], first["responsibilities"])))
        atomic_write(args.out, write)
        print(f"wrote the clusters of {graph.num_nodes} nodes (seed 0) to {args.out}", file=sys.stderr)
    figures = []
    if args.plot:
        from pathlib import Path

        from ..evaluation.plots import plot_cluster_map

        mixture = first["model"] if args.method == "gmm" else None
        figures.append(plot_cluster_map(first["points"], first["labels"], Path(args.plot) / figure_file(args, "cluster_map"),
                                        f"{args.model} embeddings of {Path(name).name}: {how}, K={k} (seed 0)", mixture).name)
        print(f"figures: {', '.join(figures)} in {args.plot}", file=sys.stderr)
    if args.json:
        write_json(args.json, {
            "dataset": name, "model": args.model, "method": args.method,
            "covariance": args.covariance if args.method == "gmm" else None,
            "clusters": k, "restarts": args.restarts, **summary, "seeds": results,
            "config": {**embedding_config(args.model, **embedding_overrides(args)), "max_latent": max_latent},
            "figures": figures, "workers": workers,
            "total_seconds": time.perf_counter() - start,
        })
    return 0
