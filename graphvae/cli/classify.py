"""``graphvae classify``: embed without labels, then score a logistic-regression probe on the embeddings."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .._validation import InputError, counted
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
    hold_note,
    narrow_default_latent,
    positive_int,
    prepare_workers,
    refuse_unused,
    release_notes,
    task_embeddings,
    unit_fraction,
)
from ._workers import SeedLines, map_in_workers

DEFAULT_MODEL = "gnae-maskgae-s2gc"  # graphvae.estimators.node_embeddings.DEFAULT_MODEL (kept here so --help imports no torch)


#: the error of a graph without labels (said before the graph is read when it is a graph file)
NEEDS_LABELS = "classify needs labels: give --labels FILE (node id, label) or a bundled --dataset"


def register(sub) -> None:
    p = sub.add_parser("classify", help="node classification probe on unsupervised embeddings (accuracy, macro-F1)",
                       description="Train an embedding model without labels, then fit a logistic regression on the "
                                   "embeddings of labelled training nodes and report test accuracy and macro-F1 over "
                                   "seeds. Cora/CiteSeer use the Planetoid public split (140/500/1000 on Cora); a "
                                   "user graph needs --labels with a stratified split or --folds.")
    add_graph_arguments(p, dataset_default=None)
    p.add_argument("--labels", metavar="FILE", help="CSV/TSV of node id, label (nodes without a row are unlabelled)")
    p.add_argument("--folds", type=positive_int, help="stratified k-fold over the labelled nodes instead of one split")
    p.add_argument("--test-size", type=unit_fraction, default=None,
                   help="test fraction of the stratified split of --labels (not with --folds) (default: 0.5)")
    p.add_argument("--C", type=float,
                   help="inverse L2 strength of the probe (default: the model's: 3 for the default model, whose "
                        "L2-normalized blocks the probe takes as they are; 0.03 for gnae-wd-denoise and maskgae-cat, "
                        "0.01 for the others, on standardized embeddings)")
    add_embedding_arguments(p, DEFAULT_MODEL)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.folds is not None and args.folds < 2:
        raise InputError(f"--folds must be at least 2, got {args.folds}")
    if args.C is not None and not 0 < args.C < float("inf"):
        raise InputError(f"--C must be a positive finite number, got {args.C}")
    check_graph_arguments(args)
    check_device(args)
    # a registered --dataset without --labels is scored on its public split (a graph file needs --labels: said below)
    refuse_unused(args, [("test_size", args.folds is None and (args.labels is not None or args.edges is not None),
                          "--test-size is the test fraction of the stratified split of --labels: "
                          + ("--folds splits into folds instead" if args.folds is not None else
                             f"--dataset {args.dataset} without --labels is scored on its public split"))])
    fill_defaults(args, {"test_size": 0.5})
    if args.edges is not None and args.labels is None:  # before loading: a graph file carries no labels
        raise InputError(NEEDS_LABELS)
    check_inputs(args, labels="labels file")
    check_output_dir(args.json, "JSON file")
    import numpy as np

    from ..estimators.node_embeddings import (
        embedding_config,
        embedding_latent,
        probe_c,
        probe_standardizes,
    )
    from ..evaluation.node_tasks import (
        encode_labels,
        label_splits,
        node_labels,
        probe_scores,
        public_split,
    )

    graph, name = graph_from_args(args)
    workers, _ = prepare_workers(args.workers, args.threads, args.seeds, int(graph.num_nodes), args.device)
    max_latent = narrow_default_latent(args, graph, embedding_latent(args.model, **embedding_overrides(args)),
                                       set_latent=False)
    if args.C is None:
        args.C = probe_c(args.model)
    standardize = probe_standardizes(args.model)
    labels = node_labels(graph, args.labels)
    if labels is None:
        raise InputError(NEEDS_LABELS)
    labelled, y, classes = encode_labels(labels, args.labels or name)
    if args.labels is not None and len(labelled) < len(labels):  # the rest are embedded, never probed
        hold_note(f"graphvae classify: note: {len(labelled):,} of the {counted(len(labels), 'node')} have a label "
                  f"({counted(len(classes), 'class', 'classes')}): the probe is trained and scored on those")
    public = public_split(graph) if args.labels is None and args.folds is None else None
    if public is None:
        splits_of = {seed: label_splits(y, args.folds, args.test_size, seed) for seed in range(args.seeds)}
        protocol = f"{args.folds}-fold" if args.folds else f"stratified {1 - args.test_size:.0%}/{args.test_size:.0%} split"
    else:
        position = -np.ones(len(labels), dtype=np.int64)
        position[labelled] = np.arange(len(labelled))
        train_nodes, val, test = (position[i] for i in public)
        protocol = f"public split ({len(train_nodes)}/{len(val)}/{len(test)})"
    results, start, z0 = [], time.perf_counter(), None
    progress = not args.no_progress

    def train(seed: int) -> tuple[dict, np.ndarray | None]:
        """Embed with ``seed`` and probe; with seed 0's embeddings for ``--plot``."""
        z, model = task_embeddings(graph, args.model, seed, progress and workers == 1, max_latent, args.device,
                                   **embedding_overrides(args))
        zl = z[labelled]
        if public is None:
            folds = [probe_scores(zl, y, tr, te, args.C, seed, standardize) for tr, te in splits_of[seed]]
            r = {"seed": seed, **{k: float(np.mean([f[k] for f in folds])) for k in ("accuracy", "macro_f1")}}
        else:
            r = {"seed": seed, **probe_scores(zl, y, train_nodes, test, args.C, seed, standardize),
                 "val_accuracy": probe_scores(zl, y, train_nodes, val, args.C, seed, standardize)["accuracy"]}
        r["train_seconds"] = model.train_seconds_
        return r, (z if seed == 0 and args.plot else None)

    release_notes()  # the inputs are checked: the graph's summary, then training
    outcomes = map_in_workers(train, range(args.seeds), workers)  # forks now: before the bar starts its thread
    with SeedLines(args.seeds, workers, progress) as report:
        for r, z in outcomes:
            results.append(r)
            z0 = z if z0 is None else z0
            report(f"seed {r['seed']}: test accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}")
    acc, f1 = mean_std([r["accuracy"] for r in results]), mean_std([r["macro_f1"] for r in results])
    print(f"{args.model} on {name}, {protocol}, {args.seeds} seed(s): accuracy {acc['mean']:.4f} ± {acc['std']:.4f}  "
          f"macro-F1 {f1['mean']:.4f} ± {f1['std']:.4f}")
    figures = []
    if args.plot:
        from pathlib import Path

        from ..evaluation.plots import plot_latent_map

        shown = np.array([str(v) if v is not None else "unlabelled" for v in labels])
        figures.append(plot_latent_map(z0, shown, Path(args.plot) / figure_file(args, "label_map"),
                                       f"{args.model} embeddings of {Path(name).name} (seed 0) by label", method="tsne",
                                       what="embeddings").name)
        print(f"figures: {', '.join(figures)} in {args.plot}", file=sys.stderr)
    if args.json:
        write_json(args.json, {
            "dataset": name, "model": args.model, "protocol": protocol, "classes": classes,
            "labelled_nodes": int(len(labelled)), "accuracy": acc, "macro_f1": f1, "seeds": results,
            "config": {**embedding_config(args.model, **embedding_overrides(args)), "max_latent": max_latent,
                       "probe_C": args.C,
                       "probe_standardize": standardize,
                       "folds": args.folds,  # the fraction applies to the stratified split only
                       "test_size": args.test_size if public is None and args.folds is None else None},
            "figures": figures, "workers": workers, "total_seconds": time.perf_counter() - start,
        })
    return 0
