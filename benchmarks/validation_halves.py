"""Choices about validation, judged on validation pairs the choice did not see: half the pairs choose, half score.

    python benchmarks/validation_halves.py [--model maskgae-wide] [--seeds 5] [--workers 2] [--json PATH]

Trains ``--model`` for all its epochs (no early stop) on seeds 0..N-1 of Cora and CiteSeer (85/5/10 splits) and
records, every epoch, the link probabilities of every validation pair. The validation pairs of each seed are split
at random into two halves (positives and negatives separately); one half ranks the epochs, the other scores the
outcome, then the other way round, so each seed gives two paired comparisons. Two questions are asked:

- *how often to validate*: the epoch of the best validation AUC chosen among every epoch, every 5th or every 10th
  (the patience rule of the model applied in every case);
- *snapshot ensembles*: the mean link probability of the k epochs of highest validation AUC (among the epochs up
  to where the patience rule stops), for k in 1 (the best epoch alone), 3, 5, 10, 20, 30, 50 and 100.

No test pair is scored. Writes ``benchmarks/results/validation_halves.json``; ``docs/models.md`` reports it.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

from _docs import run_benchmark, seed_study_parser

DATASETS = ("cora", "citeseer")
EVERY = (1, 5, 10)
SNAPSHOTS = (1, 3, 5, 10, 20, 30, 50, 100)


def record(job: tuple[str, str, int]) -> dict:
    """One seed's fit: every epoch's validation probabilities, and the two halves."""
    import numpy as np
    import torch

    from graphvae.data.datasets import load_dataset
    from graphvae.data.split import split_edges
    from graphvae.estimators.zoo import make_model

    torch.set_num_threads(1)
    name, dataset, seed = job
    split = split_edges(load_dataset(dataset), seed=seed)
    rng = np.random.default_rng(1000 + seed)
    npos, nneg = split.val_pos.shape[1], split.val_neg.shape[1]
    first_half = np.r_[rng.permutation(npos) < npos // 2, rng.permutation(nneg) < nneg // 2]
    model = make_model(name, random_state=seed, early_stopping=True, patience=10**9)
    probabilities = []

    def score(pos, neg):  # the fit's validation, every epoch: keep the probabilities, rank by the full set
        from graphvae.evaluation.metrics import auc_ap

        z = model.embed_tensor()
        p, q = model._probabilities(z, pos), model._probabilities(z, neg)
        probabilities.append(np.r_[p, q])
        return auc_ap(p, q)

    model.score = score
    model.fit(split)
    return {"dataset": dataset, "seed": seed, "patience": make_model(name).patience, "positives": npos,
            "first_half": first_half, "probabilities": np.array(probabilities)}


def compare(fit: dict) -> list[dict]:
    """The held-out half's AUC under each rule, both ways round."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.ones(fit["positives"]), np.zeros(len(fit["first_half"]) - fit["positives"])]
    probs, patience = fit["probabilities"], fit["patience"]
    rows = []
    for ranking in (fit["first_half"], ~fit["first_half"]):
        scoring = ~ranking
        rank_auc = np.array([roc_auc_score(labels[ranking], p[ranking]) for p in probs])
        held_out = lambda p: float(roc_auc_score(labels[scoring], p[scoring]))
        row = {}
        for every in EVERY:
            row[f"every_{every}"] = held_out(probs[_chosen(rank_auc, every, patience)[0]])
        epochs = _chosen(rank_auc, 1, patience)[1]
        order = np.argsort(-rank_auc[:epochs], kind="stable")
        for k in SNAPSHOTS:
            row[f"snapshots_{k}"] = held_out(probs[order[:k]].mean(0))
        rows.append(row)
    return rows


def _chosen(auc, every: int, patience: int) -> tuple[int, int]:
    """The epoch (0-based) of the best AUC among every ``every``-th epoch, and how many epochs run before the
    patience rule stops."""
    best, best_epoch = -1.0, None
    for epoch, value in enumerate(auc):
        if (epoch + 1) % every == 0 and value > best:
            best, best_epoch = value, epoch
        if best_epoch is not None and epoch - best_epoch >= patience:
            return best_epoch, epoch + 1
    return best_epoch, len(auc)


def main() -> None:
    parser = seed_study_parser(__doc__.splitlines()[0], "maskgae-wide", 5, "validation_halves.json")
    args = parser.parse_args()
    import numpy as np

    from graphvae.data.datasets import load_dataset
    from graphvae.estimators.zoo import make_model
    from graphvae.evaluation.summary import mean_std
    from graphvae.files import write_json

    if not make_model(args.model).early_stopping:  # an unknown name: InputError, exit 2
        parser.error(f"--model {args.model} keeps its last epoch: there is no validation to study")
    for d in DATASETS:  # a missing dataset: one line and status 2 here, before any worker starts
        load_dataset(d)
    jobs = [(args.model, d, s) for d in DATASETS for s in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = {(d, s): compare(fit) for (_, d, s), fit in zip(jobs, pool.map(record, jobs))}
    summary = {}
    for d in DATASETS:
        pairs = [row for (dataset, _), both in rows.items() if dataset == d for row in both]
        summary[d] = {}
        for key in pairs[0]:
            base = "every_1" if key.startswith("every") else "snapshots_1"
            diff = np.array([r[key] - r[base] for r in pairs])
            summary[d][key] = {"held_out_auc": mean_std([r[key] for r in pairs]),
                               f"minus_{base}": float(diff.mean()),
                               "standard_error": float(diff.std(ddof=1) / np.sqrt(len(diff))),
                               "higher": int((diff > 0).sum()), "comparisons": len(diff)}
            print(f"{d} {key}: {summary[d][key]['held_out_auc']['mean']:.5f}, minus {base} "
                  f"{diff.mean():+.5f} ± {summary[d][key]['standard_error']:.5f} (higher in "
                  f"{summary[d][key]['higher']} of {len(diff)})", flush=True)
    write_json(args.json, {"model": args.model, "seeds": list(range(args.seeds)), "summary": summary,
                           "per_seed": [{"dataset": d, "seed": s, "halves": both} for (d, s), both in rows.items()]})


if __name__ == "__main__":
    run_benchmark(main)
