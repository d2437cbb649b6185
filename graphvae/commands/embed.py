"""``graphvae embed``: train on a whole graph and export node embeddings (posterior means)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._validation import InputError
from ._common import (TORCHRUN_EPILOG, add_graph_arguments, add_model_arguments, check_graph_arguments, check_output_dir, fit_model,
                      graph_from_args, is_output_rank, model_from_args)


def register(sub) -> None:
    p = sub.add_parser("embed", help="train on a graph and write node embeddings (.npy or .csv)",
                       description="Train a model (--model, default vgae) on all edges of a graph and write the posterior means.",
                       epilog=TORCHRUN_EPILOG)
    add_graph_arguments(p, dataset_default=None)
    add_model_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--out", required=True, help="output file: .npy (array) or .csv (node id, then the vector)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.out).suffix not in (".npy", ".csv"):
        raise InputError(f"--out must end in .npy or .csv, got {args.out}")
    check_graph_arguments(args)
    check_output_dir(args.out, "embeddings file")
    from ..embeddings import save_embeddings

    graph, _ = graph_from_args(args)
    # a whole graph has no validation edges: every model trains for its full number of epochs
    model = fit_model(model_from_args(args, args.seed, early_stopping=False), graph)
    if not is_output_rank():
        return 0
    save_embeddings(args.out, model.embed(), graph.node_ids)
    print(f"wrote {graph.num_nodes} x {model.latent} embeddings to {args.out}", file=sys.stderr)
    return 0
