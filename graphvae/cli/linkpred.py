"""``graphvae linkpred``: the paper's link-prediction experiment, mean ± std over seeds."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .._validation import InputError
from ..evaluation.summary import mean_std
from ..estimators.zoo import display_name, model_config
from ..files import write_json
from ._common import (
    MAX_SEED,
    TORCHRUN_EPILOG,
    add_graph_arguments,
    add_model_arguments,
    add_plot_format_argument,
    add_threads_argument,
    add_workers_argument,
    check_device,
    check_graph_arguments,
    check_output_dir,
    figure_file,
    fit_model,
    graph_from_args,
    is_output_rank,
    model_from_args,
    model_latent,
    narrow_default_latent,
    non_negative_int,
    positive_int,
    prepare_workers,
    refuse_unused,
    release_notes,
    say,
    seed_count,
    under_torchrun,
)
from ._workers import SeedLines, map_in_workers


#: what an unsupported model under torchrun is told (:func:`graphvae.training.distributed.fit.check_supported`)
TORCHRUN_ADVICE = "under torchrun use --model gae or vgae, or --model gnae or vgnae with --no-early-stopping"


#: how a diverged fit's error begins (:meth:`graphvae.estimators.base.Estimator._check_diverged`, the early-stopping
#: validation): such an error belongs to one seed, and a multi-seed run names it
DIVERGED = "training diverged"


def seed_error(seed: int, error: str) -> str:
    """The line for ``error`` met by ``seed``'s fit: named by its seed when training diverged (which depends on the
    seed), as it is (bad settings, mismatched ranks) otherwise. The same whether the seed was fit alone or batched."""
    return f"seed {seed}: {error}" if error.startswith(DIVERGED) else error


def register(sub) -> None:
    p = sub.add_parser("linkpred", help="link prediction: train on a split, report test AUC and AP",
                       description="Split the graph (85/5/10), train the chosen model (default: the paper's VGAE), report test "
                                   "AUC/AP over seeds.",
                       epilog=TORCHRUN_EPILOG)
    add_graph_arguments(p, dataset_default="cora")
    add_model_arguments(p)
    p.add_argument("--seeds", type=seed_count, default=1, help="number of seeds K..K+N-1 (default: 1)")
    p.add_argument("--first-seed", type=non_negative_int, default=0, help="first seed K (default: 0)")
    p.add_argument("--sequential", action="store_true",
                   help="train every seed as a model of its own, so that seed k's numbers are bit for bit those of "
                        "--seeds 1 --first-seed k (default: seeds of a small graph are trained together as one batched "
                        "model where the model allows it: the same models faster, up to float rounding, which can move "
                        "a seed's AUC/AP in the 5th decimal with the number of seeds and workers)")
    add_threads_argument(p)
    add_workers_argument(p)
    stopping = p.add_mutually_exclusive_group()
    stopping.add_argument("--early-stopping", action="store_true", default=None,
                          help="keep the epoch with the best validation AUC (on by default for all but gae, vgae, "
                               "arga and argva)")
    stopping.add_argument("--no-early-stopping", dest="early_stopping", action="store_false",
                          help="train every epoch and keep the last (also for the models that stop early by default; "
                               "needed for gnae and vgnae under torchrun)")
    p.add_argument("--patience", type=positive_int,
                   help="early-stopping patience in epochs, for a run that stops early (--early-stopping, or a model "
                        "that does by default) (default: the model's: 100 for the named models that stop early by "
                        "default, else 50)")
    p.add_argument("--json", help="write the results as JSON to this path")
    p.add_argument("--plot", metavar="DIR", help="write ROC and precision-recall curves of the test edges "
                                                 "(first seed, link_curves.png) into DIR")
    add_plot_format_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_graph_arguments(args)
    check_device(args)
    check_output_dir(args.json, "JSON file")
    stops = args.early_stopping if args.early_stopping is not None else bool(
        model_config(args.model).get("early_stopping", False))
    refuse_unused(args, [("patience", stops, "--patience is the early-stopping patience: " + (
        "--no-early-stopping trains every epoch" if args.early_stopping is False else
        f"--model {args.model} trains every epoch unless --early-stopping is given"))])
    from ..data.split import check_splittable, split_edges
    from ..evaluation.metrics import auc_ap
    from ..estimators.batched import SeedsFailed, batched_by_default, fit_seeds, seeds_per_batch

    if args.first_seed + args.seeds - 1 > MAX_SEED:
        raise InputError(f"the last seed, --first-seed + --seeds - 1 = {args.first_seed + args.seeds - 1}, exceeds 2**63 - 1")
    if under_torchrun():  # the options the ranks do not have, before the graph is loaded
        from ..training.distributed.fit import check_supported

        check_supported(model_from_args(args, args.first_seed, early_stopping=args.early_stopping,
                                        patience=args.patience), TORCHRUN_ADVICE)

    def fit_seed(model, split):
        """One seed's fit: ``model.fit``, or under torchrun the distributed fit, whose check that every rank was
        given the same settings and graph also covers the number of seeds (a rank that runs more fits than the others
        would wait in a collective they never join, and the others would leave with a result)."""
        if not under_torchrun():
            return fit_model(model, split)
        from ..training.distributed.fit import fit_distributed

        return fit_distributed(model, split, keep_group=True,  # for the later seeds; runtime.leave ends it at exit
                               same_on_every_rank={"number of seeds (--seeds)": args.seeds})

    def usable(g) -> None:  # the root cause first: a --latent above the node count, then too few edges to split
        if args.latent is not None:
            g.check_trainable(args.latent)
        check_splittable(g.num_edges)

    graph, name = graph_from_args(args, check=usable)
    narrow_default_latent(args, graph, model_latent(args))
    graph.check_trainable(model_latent(args))  # before splitting: the root cause, not "too few to split"
    results, train_seconds = [], 0.0
    start = time.perf_counter()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    template = model_from_args(args, seeds[0], early_stopping=args.early_stopping, patience=args.patience)
    # under torchrun every seed is one distributed fit (graphvae.training.distributed), never a batch of seeds
    sequential = args.sequential or under_torchrun() or not batched_by_default(template)
    most = 1 if sequential else seeds_per_batch(int(graph.num_nodes), args.seeds)
    workers, threads = prepare_workers(args.workers, args.threads, len(seeds), most * int(graph.num_nodes),
                                       args.device)
    batch = min(most, -(-len(seeds) // workers))  # the seeds shared out over the workers
    progress = not args.no_progress and is_output_rank()
    if workers > 1:  # one bar over the seeds instead of one per worker
        template.set_params(progress=False)

    def train(chunk: list[int]) -> list[tuple[dict, tuple | None]]:
        """Split, train and score the seeds of ``chunk`` (together when more than one); with the first seed's
        test-pair probabilities for ``--plot``. A seed whose training failed (diverged) ends the chunk with a row
        holding its ``error``: the seeds before it are reported, then the error, as when each seed is its own fit."""
        splits = [split_edges(graph, seed=seed) for seed in chunk]
        errors = [None] * len(chunk)
        if len(chunk) > 1:
            try:
                models = fit_seeds(template, splits, chunk)
            except SeedsFailed as failed:  # each seed as its own fit: the others' models, this seed's own error
                models, errors = failed.models, failed.errors
        else:
            model = model_from_args(args, chunk[0], early_stopping=args.early_stopping,
                                    patience=args.patience).set_params(progress=template.progress)
            try:
                models = [fit_seed(model, splits[0])]
            except InputError as error:
                if not str(error).startswith(DIVERGED):
                    raise
                models, errors = [None], [str(error)]
        out = []
        for seed, split, model, error in zip(chunk, splits, models, errors):
            if error is not None:  # the seeds before it are reported; the ones after it are not, as one at a time
                out.append(({"seed": seed, "error": seed_error(seed, error)}, None))
                break
            # the test pairs' probabilities once: the reported AUC/AP and the --plot curves are of these very scores
            # (scoring the pairs again as one array could round a probability differently in its last bit)
            pos, neg = model._pair_probabilities(split.test_pos, split.test_neg)
            row = {"seed": seed, **auc_ap(pos, neg), "train_seconds": model.train_seconds_,
                   **({"best_epoch": model.best_epoch_, "val_auc": model.best_val_auc_} if model.early_stopping else {})}
            curves = None
            if args.plot and seed == args.first_seed and is_output_rank():
                import numpy as np

                curves = (np.r_[np.ones(pos.size), np.zeros(neg.size)], np.concatenate([pos, neg]))
            out.append((row, curves))
        return out

    chunks = [seeds[first:first + batch] for first in range(0, len(seeds), batch)]
    release_notes()  # the inputs are checked: the graph's summary, then training
    outcomes = map_in_workers(train, chunks, workers)  # forks now: before the bar starts its thread
    figure = None  # the first seed's curves, drawn once every seed has trained: a failed run leaves --plot as it was
    with SeedLines(len(seeds), workers, progress, say) as report:
        for done in outcomes:
            for row, curves in done:
                if "error" in row:
                    raise InputError(row["error"])
                train_seconds += row["train_seconds"]
                results.append(row)
                report(f"seed {row['seed']}: test AUC {row['auc']:.4f}  AP {row['ap']:.4f}")
                if curves is not None:
                    figure = (row["seed"], curves)
    if figure is not None:
        from ..evaluation.plots import plot_link_curves

        path = plot_link_curves(*figure[1], Path(args.plot) / figure_file(args, "link_curves"),
                                f"{display_name(args.model)} on {Path(name).name}: test edges vs sampled non-edges "
                                f"(seed {figure[0]})")
        print(f"figures: {path.name} in {args.plot}", file=sys.stderr)
    auc, ap = mean_std([r["auc"] for r in results]), mean_std([r["ap"] for r in results])
    say(f"{display_name(args.model)} on {name}, {args.seeds} seed(s): AUC {auc['mean']:.4f} ± {auc['std']:.4f}  "
          f"AP {ap['mean']:.4f} ± {ap['std']:.4f}  (training {train_seconds:.1f} s)")
    if args.json and is_output_rank():
        write_json(args.json, {
            "dataset": name, "model": args.model, "seeds": results, "auc": auc, "ap": ap,
            "train_seconds": train_seconds, "total_seconds": time.perf_counter() - start,
            "config": {k: v for k, v in template.get_params().items() if k not in ("random_state", "progress")},
            "seeds_trained_together": batch, "workers": workers, "threads": threads,
        })
    return 0
