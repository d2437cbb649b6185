"""A less noisy label-only check of the fourth round's leading Cora probe candidates: instead of the one public split,
10 random resplits of the 640 public training + validation nodes (20 per class to train the probe, the other 500 to
score it); the test nodes are not used.

    python benchmarks/embedding_combinations.py --seeds 5 --cache DIR   # trains and keeps the embeddings
    python benchmarks/embedding_resplits.py DIR

Uses the embeddings that ``embedding_combinations.py --cache DIR`` kept (D, M per seed 0-4), the same ``blocks``
concatenation and the candidates' best settings of that round. This criterion was set up *after* the fourth round's
test numbers were seen (see ``docs/embeddings.md``), so it is an analysis, not a selection. Writes
``benchmarks/results/embedding_search/resplits.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

from _docs import ROOT, atomic_write, run_benchmark
from embedding_combinations import blocks, propagated_features, standardized


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("cache", help="the folder of embeddings that embedding_combinations.py --cache DIR kept")
    args = parser.parse_args()
    if not Path(args.cache).is_dir():
        parser.error(f"no such folder: {args.cache}")

    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    import graphvae as gv
    from graphvae.evaluation.node_tasks import node_labels, public_split

    torch.set_num_threads(1)
    cache = Path(args.cache)
    graph = gv.load_dataset("cora")
    y = np.asarray(node_labels(graph), dtype=np.int64)
    train, val, _ = public_split(graph)  # the test nodes are not used
    a2x = propagated_features(graph)

    def load(key, seed):
        return np.load(cache / f"{key}_{seed}.npy").astype(np.float64)

    std = standardized

    candidates = {"D (default), standardized, C 0.03": (lambda s: std(load("D", s)), 0.03),
                  "M, standardized, C 0.03": (lambda s: std(load("M", s)), 0.03),
                  "D ⊕ M, blocks, C 0.01": (lambda s: blocks(load("D", s), load("M", s)), 0.01),
                  "D ⊕ A2X, blocks, C 0.03": (lambda s: blocks(load("D", s), a2x), 0.03),
                  "D ⊕ M ⊕ A2X, blocks, C 0.01": (lambda s: blocks(load("D", s), load("M", s), a2x), 0.01)}
    pool = np.concatenate([train, val])
    rng = np.random.default_rng(0)
    splits = []
    for _ in range(10):
        fit = np.concatenate([rng.choice(pool[y[pool] == c], 20, replace=False) for c in range(int(y.max()) + 1)])
        splits.append((fit, np.setdiff1d(pool, fit)))
    scores = {}
    for name, (build, C) in candidates.items():
        acc = []
        for seed in range(5):
            z = build(seed)
            acc.append([LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(z[a], y[a]).score(z[b], y[b])
                        for a, b in splits])
        scores[name] = np.array(acc)  # [seed, split]
    base = scores["D (default), standardized, C 0.03"]
    results = []
    for name, acc in scores.items():
        diff = (acc - base).mean(axis=0)  # per split, averaged over seeds
        row = {"candidate": name, "mean": float(acc.mean()), "per_seed_split": acc.tolist(),
               "minus_default": float(diff.mean()),
               "minus_default_se": float(diff.std(ddof=1) / np.sqrt(len(diff))) if name != "D (default), standardized, C 0.03" else 0.0,
               "splits_better": int((diff > 0).sum())}
        results.append(row)
        print(f"| {name} | {row['mean']:.3f} | {row['minus_default']:+.3f} ± {row['minus_default_se']:.3f} | "
              f"{row['splits_better']}/10 |", flush=True)
    text = json.dumps({"splits": 10, "seeds": 5, "results": results}, indent=2) + "\n"
    out = ROOT / "benchmarks" / "results" / "embedding_search"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "resplits.json", lambda tmp: tmp.write_text(text))


if __name__ == "__main__":
    run_benchmark(main)
