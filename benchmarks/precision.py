"""The MLP edge decoder's first-layer products in float32 or bfloat16, on validation only.

    python benchmarks/precision.py [--model maskgae-wide] [--seeds 10] [--workers 2] [--json PATH]

Trains ``--model`` with ``decoder_precision`` float32 and bfloat16 on seeds 0..N-1 of Cora and CiteSeer (85/5/10
splits, validation-based stopping as the model defines it) and records, per fit, the best validation AUC, its
epoch and the process CPU seconds. No test edge is scored: the script decides nothing about the test set.
Writes ``benchmarks/results/decoder_precision.json`` (or ``--json``); ``docs/models.md`` reports it.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from _docs import run_benchmark, seed_study_parser

PRECISIONS = ("float32", "bfloat16")
DATASETS = ("cora", "citeseer")


def fit_one(job: tuple[str, str, str, int]) -> dict:
    import torch

    from graphvae.data.datasets import load_dataset
    from graphvae.data.split import split_edges
    from graphvae.estimators.zoo import make_model

    torch.set_num_threads(1)
    model_name, dataset, precision, seed = job
    split = split_edges(load_dataset(dataset), seed=seed)
    start = time.process_time()
    model = make_model(model_name, random_state=seed, decoder_precision=precision).fit(split)
    return {"dataset": dataset, "precision": precision, "seed": seed, "val_auc": model.best_val_auc_,
            "best_epoch": model.best_epoch_, "epochs_run": len(model.history_),
            "fit_cpu_seconds": time.process_time() - start}


def main() -> None:
    parser = seed_study_parser(__doc__.splitlines()[0], "maskgae-wide", 10, "decoder_precision.json")
    args = parser.parse_args()
    import numpy as np

    from graphvae.data.datasets import load_dataset
    from graphvae.estimators.zoo import make_model
    from graphvae.evaluation.summary import mean_std

    make_model(args.model, decoder_precision="bfloat16")  # an unknown name or a model without the option: exit 2
    for d in DATASETS:  # a missing dataset: one line and status 2 here, before any worker starts
        load_dataset(d)

    jobs = [(args.model, d, p, s) for d in DATASETS for s in range(args.seeds) for p in PRECISIONS]
    with ProcessPoolExecutor(args.workers) as pool:
        fits = list(pool.map(fit_one, jobs))
    summary = {}
    for d in DATASETS:
        rows = {p: [f for f in fits if f["dataset"] == d and f["precision"] == p] for p in PRECISIONS}
        diff = [b["val_auc"] - a["val_auc"] for a, b in zip(rows["float32"], rows["bfloat16"])]
        summary[d] = {p: {"val_auc": mean_std([f["val_auc"] for f in r]),
                          "fit_cpu_seconds": mean_std([f["fit_cpu_seconds"] for f in r]),
                          "epochs_run": mean_std([f["epochs_run"] for f in r])} for p, r in rows.items()}
        summary[d]["val_auc_bfloat16_minus_float32"] = {**mean_std(diff), "seeds_higher": int(np.sum(np.array(diff) > 0))}
        print(d, {p: round(summary[d][p]["val_auc"]["mean"], 5) for p in PRECISIONS},
              "diff %+.5f" % summary[d]["val_auc_bfloat16_minus_float32"]["mean"],
              {p: round(summary[d][p]["fit_cpu_seconds"]["mean"], 1) for p in PRECISIONS}, flush=True)
    from graphvae.files import write_json

    write_json(args.json, {"model": args.model, "seeds": list(range(args.seeds)), "workers": args.workers,
                     "summary": summary, "fits": fits})
    print("wrote", args.json)


if __name__ == "__main__":
    run_benchmark(main)
