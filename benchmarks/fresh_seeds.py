"""Two configurations of a named model on seeds 10-19, whose test pairs no choice used: mean validation AUC decides, test is recorded.

    python benchmarks/fresh_seeds.py [--model best] [--option degree_weight] [--values 0.01 0.003]
                                     [--first-seed 10] [--seeds 10] [--jobs 2] [--json PATH]

Fits ``--model`` with ``--option`` set to each of ``--values`` on Cora and CiteSeer, seeds ``--first-seed`` ..
(85/5/10 split and initialization from the seed, the model's own validation-based epoch selection), in ``--jobs``
worker processes of one torch thread each. Prints, per dataset and value, the mean validation AUC (what a choice
between the values may use) and the mean test AUC / AP (for the record only). Writes the per-seed rows as JSON
(default ``benchmarks/results/fresh_seeds_10_19/<model>_<option>.json``); ``docs/models.md`` reports it.
"""
from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _docs import ROOT, count, machine, run_benchmark

DATASETS = ("cora", "citeseer")


def fit(job: tuple[str, str, str, float, int]) -> dict:
    """One seed's fit, as every cell of ``benchmarks/models.py`` is (:func:`models.run_seed`)."""
    from models import run_seed

    model, option, dataset, value, seed = job
    return {"dataset": dataset, option: value, **run_seed(dataset, model, {option: value}, seed)["result"]}


def main() -> None:
    import json

    import numpy as np

    from graphvae.files import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="best")
    parser.add_argument("--option", default="degree_weight")
    parser.add_argument("--values", type=float, nargs="+", default=[0.01, 0.003])
    parser.add_argument("--first-seed", type=int, default=10)
    parser.add_argument("--seeds", type=count, default=10)
    parser.add_argument("--jobs", type=count, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from graphvae import InputError
    from graphvae.estimators.zoo import make_model

    options = make_model(args.model).get_params()  # an unknown model: InputError, one line
    if args.option not in options:
        raise InputError(f"--option: {args.option!r} is not an option of {args.model} (e.g. {', '.join(sorted(options)[:5])})")
    jobs = [(args.model, args.option, d, v, s) for d in DATASETS for v in args.values
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(fit, jobs))
    summary = []
    for d in DATASETS:
        for v in args.values:
            r = [x for x in rows if x["dataset"] == d and x[args.option] == v]
            means = {k: float(np.mean([x[k] for x in r])) for k in ("val_auc", "auc", "ap", "train_seconds")}
            summary.append({"dataset": d, args.option: v, **means})
            print(f"{d} {args.option}={v:g}: validation AUC {means['val_auc']:.5f}  (test AUC {means['auc']:.4f} / "
                  f"AP {means['ap']:.4f}, for the record)  {means['train_seconds']:.1f} s per fit", flush=True)
    path = args.json or ROOT / "benchmarks" / "results" / "fresh_seeds_10_19" / f"{args.model}_{args.option}.json"
    write_json(path, {"command": "python benchmarks/fresh_seeds.py " + json.dumps(vars(args), default=str),
                      "machine": machine(), "summary": summary, "seeds": rows})


if __name__ == "__main__":
    run_benchmark(main)
