"""``graphvae linkpred``: the paper's link-prediction experiment, mean ± std over seeds."""
from __future__ import annotations

import argparse
import time

from ._common import (TORCHRUN_EPILOG, add_graph_arguments, add_model_arguments, check_graph_arguments,
                      check_output_dir, fit_model, graph_from_args, is_output_rank, mean_std, model_from_args,
                      model_latent, positive_int, say, write_json)


def register(sub) -> None:
    p = sub.add_parser("linkpred", help="link prediction: train on a split, report test AUC and AP",
                       description="Split the graph (85/5/10), train GAE/VGAE, report test AUC/AP over seeds.",
                       epilog=TORCHRUN_EPILOG)
    add_graph_arguments(p, dataset_default="cora")
    add_model_arguments(p)
    p.add_argument("--seeds", type=positive_int, default=1, help="number of seeds K..K+N-1 (default: 1)")
    p.add_argument("--first-seed", type=int, default=0, help="first seed K (default: 0)")
    p.add_argument("--early-stopping", action="store_true", default=None,
                   help="keep the epoch with the best validation AUC (on by default for all but gae/vgae)")
    p.add_argument("--patience", type=positive_int, help="early-stopping patience in epochs (default: 50; 100 "
                                                          "for the models beyond gae/vgae)")
    p.add_argument("--json", help="write the results as JSON to this path")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_graph_arguments(args)
    check_output_dir(args.json, "JSON file")
    from ..split import split_edges

    graph, name = graph_from_args(args)
    graph.check_trainable(model_latent(args))  # before splitting: the root cause, not "too few to split"
    results, train_seconds = [], 0.0
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        split = split_edges(graph, seed=seed)
        model = fit_model(model_from_args(args, seed, early_stopping=args.early_stopping, patience=args.patience), split)
        train_seconds += model.train_seconds_
        scores = model.score(split.test_pos, split.test_neg)
        results.append({"seed": seed, **scores, "train_seconds": model.train_seconds_,
                        **({"best_epoch": model.best_epoch_, "val_auc": model.best_val_auc_}
                           if model.early_stopping else {})})
        say(f"seed {seed}: test AUC {scores['auc']:.4f}  AP {scores['ap']:.4f}", flush=True)
    auc, ap = mean_std([r["auc"] for r in results]), mean_std([r["ap"] for r in results])
    say(f"{args.model.upper()} on {name}, {args.seeds} seed(s): AUC {auc['mean']:.4f} ± {auc['std']:.4f}  "
          f"AP {ap['mean']:.4f} ± {ap['std']:.4f}  (training {train_seconds:.1f} s)")
    if args.json and is_output_rank():
        write_json(args.json, {
            "dataset": name, "model": args.model, "seeds": results, "auc": auc, "ap": ap,
            "train_seconds": train_seconds, "total_seconds": time.perf_counter() - start,
            "config": {k: v for k, v in model.get_params().items() if k not in ("random_state", "progress")},
        })
    return 0
