"""Fifth search round for the ``classify`` model (issue 12's 0.84 probe target): a selection by a protocol fixed before
any number was computed (``docs/embeddings.md``, "Fifth round"), on 20 resplits of the Cora public training +
validation nodes instead of the one public validation split.

    python benchmarks/embedding_round5.py --seeds 5 --cache DIR

- Score: probe accuracy on 20 resplits of the 640 public training + validation nodes, drawn with
  ``numpy.random.default_rng(2026)`` (20 nodes per class train the probe, the other 500 score it), averaged over the
  embedding seeds 0-4; the test nodes are not used in the selection.
- Representations: D (``gnae-wd-denoise``, Â μ), M (``maskgae-cat``, [H₁, μ]), M3 (``maskgae-cat``, MaskGAE's latest
  Cora settings), Â²X̃ (``A2X``) and S²GC's features S (K 16, α 0.05), each alone and in the concatenations D ⊕ M,
  D ⊕ A2X, M ⊕ A2X, D ⊕ M ⊕ A2X, D ⊕ S, M ⊕ S, D ⊕ M ⊕ S.
- Probes: logistic regression on standardized columns (C in 0.003-0.1) or L2-normalized rows (C in 0.3-10) for a
  single representation; "blocks" (C in 0.003-0.1) or "L2 blocks" (C in 0.3-10) for a concatenation. 96 candidates.
- Decision: the best-scoring candidate replaces the default (D, standardized, C 0.03) only if its paired advantage (per
  split, the accuracy difference averaged over seeds; mean over splits) exceeds 2 standard errors.
- Then, once: the public-split test accuracy (140 training nodes, 1000 test nodes) of the chosen candidate and the
  default, seeds 0-4.

``--cache DIR`` keeps the trained embeddings (``{key}_{seed}.npy``, as ``embedding_combinations.py --cache`` does).
Writes ``benchmarks/results/embedding_search/round5.json``.
"""
from __future__ import annotations

import time

from _docs import machine, run_benchmark
from embedding_combinations import L2_CS, STD_CS, cora_run, trained_embeddings, write_record

from graphvae.estimators.node_embeddings import equal_variance_blocks as blocks
from graphvae.estimators.node_embeddings import l2_blocks, s2gc_features, standardized
from graphvae.estimators.node_embeddings import sgc_features as propagated_features

SPLITS = 20
SPLIT_SEED = 2026
PER_CLASS = 20
SINGLES = ("D", "M", "M3", "A2X", "S")
CONCATENATIONS = (("D", "M"), ("D", "A2X"), ("M", "A2X"), ("D", "M", "A2X"), ("D", "S"), ("M", "S"), ("D", "M", "S"))
DEFAULT = "D, standardized, C=0.03"


def resplits(pool, y, splits=SPLITS, per_class=PER_CLASS, seed=SPLIT_SEED):
    """``splits`` pairs (probe-training nodes: ``per_class`` of each class of ``pool``; the rest of ``pool``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(splits):
        fit = np.concatenate([rng.choice(pool[y[pool] == c], per_class, replace=False) for c in range(int(y.max()) + 1)])
        out.append((fit, np.setdiff1d(pool, fit)))
    return out


def candidate_grid():
    """``[(name, blocks of the representation, preprocessing, C)]`` in the protocol's order (the default first)."""
    grid = [(f"{key}, {prep}, C={C}", (key,), prep, C)
            for key in SINGLES for prep, cs in (("standardized", STD_CS), ("L2-normalized", L2_CS)) for C in cs]
    grid += [(f"{' ⊕ '.join(keys)}, {prep}, C={C}", keys, prep, C)
             for keys in CONCATENATIONS for prep, cs in (("blocks", STD_CS), ("L2 blocks", L2_CS)) for C in cs]
    assert grid[2][0] == DEFAULT
    return [grid[2]] + grid[:2] + grid[3:]


#: the decision rule of the fifth and sixth rounds
RULE = "adopt the best candidate only if its paired advantage over the default exceeds 2 s.e."


def decide(scores: dict, default: str, fields: dict) -> tuple[list[dict], dict, bool]:
    """The rule on ``scores`` (candidate -> ``[seed, split]`` accuracies, in the protocol's order, the default first):
    ``(results, best, adopted)``. A result holds the candidate's ``fields``, its mean, its paired advantage over the
    default (per split, averaged over the seeds; mean and standard error over the splits) and its accuracies."""
    import numpy as np

    base, results = scores[default], []
    for name, score in scores.items():
        diff = (score - base).mean(axis=0)  # per split, averaged over seeds
        results.append({"candidate": name, **fields[name], "mean": float(score.mean()),
                        "minus_default": float(diff.mean()), "minus_default_se": float(diff.std(ddof=1) / np.sqrt(len(diff))),
                        "splits_better": int((diff > 0).sum()), "splits_worse": int((diff < 0).sum()),
                        "per_seed_split": score.tolist()})
    best = max(results, key=lambda r: r["mean"])  # max keeps the first of equal scores: the default first
    return results, best, best["candidate"] != default and best["minus_default"] > 2 * best["minus_default_se"]


def decision(best: dict, adopted: bool, default: str) -> dict:
    """The JSON record's ``decision``."""
    return {"best": best["candidate"], "minus_default": best["minus_default"], "minus_default_se": best["minus_default_se"],
            "adopted": adopted, "classify_default": best["candidate"] if adopted else default, "rule": RULE}


def main() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    from graphvae.evaluation.summary import mean_std

    start = time.perf_counter()
    args, graph, y, (train, val, test) = cora_run()
    seeds = list(range(args.seeds))
    splits = resplits(np.concatenate([train, val]), y)
    trained = trained_embeddings(graph, seeds, args.cache)
    a2x, s2gc = propagated_features(graph), s2gc_features(graph)
    parts = {**trained, "A2X": [a2x] * len(seeds), "S": [s2gc] * len(seeds)}
    prepare = {"standardized": standardized, "L2-normalized": normalize, "blocks": blocks, "L2 blocks": l2_blocks}

    def features(keys, prep, seed):
        return prepare[prep](*[parts[k][seed] for k in keys])

    def probe(z, fit, score, C, seed):
        return LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(z[fit], y[fit]).score(z[score], y[score])

    grid = candidate_grid()
    scores, prepared = {}, {}
    for name, keys, prep, C in grid:
        if (keys, prep) not in prepared:
            prepared = {(keys, prep): [features(keys, prep, s) for s in seeds]}  # one representation at a time
        zs = prepared[(keys, prep)]
        scores[name] = np.array([[probe(zs[s], a, b, C, s) for a, b in splits] for s in seeds])  # [seed, split]
        print(f"{name}: {scores[name].mean():.4f} ({time.perf_counter() - start:.0f} s)", flush=True)

    fields = {name: {"blocks": list(keys), "preprocessing": prep, "C": C} for name, keys, prep, C in grid}
    results, best, adopt = decide(scores, DEFAULT, fields)
    print("top 10 by resplit accuracy:")
    for r in sorted(results, key=lambda r: -r["mean"])[:10]:
        print(f"| {r['candidate']} | {r['mean']:.4f} | {r['minus_default']:+.4f} ± {r['minus_default_se']:.4f} | "
              f"{r['splits_better']}/{SPLITS} |", flush=True)
    print(f"best: {best['candidate']} ({best['minus_default']:+.4f} ± {best['minus_default_se']:.4f}); "
          f"{'adopted' if adopt else 'not adopted: the default stays'}", flush=True)

    # after the decision, once: the public split's test accuracy of the chosen candidate and the default
    tested = {}
    for name, keys, prep, C in grid:
        if name in (best["candidate"], DEFAULT):
            acc = [probe(features(keys, prep, s), train, test, C, s) for s in seeds]
            tested[name] = {**mean_std(acc), "per_seed": acc}
            print(f"test accuracy, {name}: {tested[name]['mean']:.4f} ± {tested[name]['std']:.4f}", flush=True)
    record = {
        "protocol": "docs/embeddings.md, fifth round (committed before this run)", "seeds": seeds,
        "splits": {"count": SPLITS, "rng": f"numpy.random.default_rng({SPLIT_SEED})", "per_class": PER_CLASS,
                   "probe_training_nodes": [a.tolist() for a, _ in splits]},
        "machine": machine(), "wall_seconds": time.perf_counter() - start,
        "decision": decision(best, adopt, DEFAULT),
        "test_accuracy": tested, "results": results,
    }
    write_record("round5.json", record)


if __name__ == "__main__":
    run_benchmark(main)
