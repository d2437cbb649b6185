"""``graphvae embed``: train on a whole graph and export node embeddings (posterior means)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._validation import InputError
from ._common import (
    TORCHRUN_EPILOG,
    add_graph_arguments,
    add_model_arguments,
    add_plot_format_argument,
    add_threads_argument,
    check_device,
    check_graph_arguments,
    check_inputs,
    check_output_dir,
    figure_file,
    fill_defaults,
    fit_model,
    graph_from_args,
    is_output_rank,
    model_from_args,
    model_latent,
    narrow_default_latent,
    non_negative_int,
    prepare_training,
    refuse_unused,
    release_notes,
)

#: the suffixes of graphvae.data.embedding_files.FORMATS (kept here so that --help imports no numpy)
FORMATS = (".npy", ".csv", ".emb", ".npz")


def register(sub) -> None:
    p = sub.add_parser("embed", help="train on a graph and write node embeddings (.npy, .csv, .emb or .npz)",
                       description="Train a model (--model, default vgae) on all edges of a graph and write the "
                                   "posterior means, keyed by the graph's node ids.",
                       epilog=TORCHRUN_EPILOG)
    add_graph_arguments(p, dataset_default=None)
    add_model_arguments(p, seeds=False)  # one --seed: no seeds to train one after another
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", required=True,
                   help="output file: .npy (array), .csv (node id, then the vector), .emb (word2vec text: "
                        "'N d' header, then 'id v1 ... vd') or .npz (arrays ids and embeddings)")
    p.add_argument("--plot", metavar="DIR", help="write a 2-D map of the embeddings (embedding_map.png) into DIR")
    add_plot_format_argument(p)
    p.add_argument("--labels", metavar="FILE",
                   help="colour the map by these labels (node id, label; a `graphvae cluster --out` file works too)")
    p.add_argument("--projection", choices=["tsne", "pca"], default=None,
                   help="2-D method of the --plot map of more than 2 dimensions (default: tsne, which draws at most "
                        "5,000 nodes, a random sample of a larger graph; pca draws every node)")
    add_threads_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.out).suffix.lower() not in FORMATS:
        raise InputError(f"--out must end in {', '.join(FORMATS)}; got {args.out}")
    check_graph_arguments(args)
    check_inputs(args, labels="labels file")
    check_output_dir(args.out, "embeddings file")  # --plot DIR: checked with the graph arguments
    from ..data.embedding_files import save_embeddings

    if args.labels and not args.plot:
        raise InputError("--labels colours the --plot map: give --plot DIR too")
    latent = model_latent(args)
    refuse_unused(args, [("projection", args.plot is not None and latent > 2,
                          "--projection draws the --plot map: give --plot DIR too" if args.plot is None else
                          f"--projection maps more than 2 dimensions to 2-D: the {latent}-dimensional embeddings "
                          f"are drawn as they are")])
    fill_defaults(args, {"projection": "tsne"})
    check_device(args)
    graph, name = graph_from_args(args)
    from ..data.embedding_files import check_ids

    check_ids(graph.node_ids, Path(args.out).suffix)  # before training, not after it (.emb, .npz and repeated ids)
    narrow_default_latent(args, graph, model_latent(args))
    labels = None
    if args.plot:  # read before training, so that a bad labels file fails before anything is written
        from ..evaluation.node_tasks import node_labels

        labels = node_labels(graph, args.labels)
    release_notes()  # the inputs are checked: the graph's summary, then training
    prepare_training(args.threads, int(graph.num_nodes))
    # a whole graph has no validation edges: every model trains for its full number of epochs
    model = fit_model(model_from_args(args, args.seed, early_stopping=False), graph)
    if not is_output_rank():
        return 0
    z = model.embed()
    save_embeddings(args.out, z, graph.node_ids)
    print(f"wrote {graph.num_nodes} x {z.shape[1]} embeddings to {args.out}", file=sys.stderr)
    from ..evaluation.node_tasks import collapsed

    same = collapsed(z)  # the fit has warned (graphvae.CollapseWarning, one "warning:" line)
    if same and args.plot:
        print("graphvae embed: note: no map drawn: every node has the same embedding", file=sys.stderr)
    if args.plot and not same:
        import numpy as np

        from ..estimators.zoo import display_name
        from ..evaluation.plots import plot_latent_map

        shown = None if labels is None else np.array([str(v) if v is not None else "unlabelled" for v in labels])
        legend = "label"
        if args.labels is not None:  # the file's own name for its column: "cluster" for a cluster --out file
            from ..data.graph_files import label_column_name

            legend = label_column_name(args.labels, graph.node_ids) or legend
        path = plot_latent_map(z, shown, Path(args.plot) / figure_file(args, "embedding_map"),
                               f"{display_name(args.model)} embeddings of {Path(name).name} (seed {args.seed})", method=args.projection,
                               random_state=args.seed, legend_title=legend)
        print(f"figures: {path.name} in {args.plot}", file=sys.stderr)
    return 0
