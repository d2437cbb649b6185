"""Sixth search round for the ``classify`` model (issue 12's 0.84 probe target): the default's two trainings from
several initializations, concatenated, chosen by the fifth round's rule (``docs/embeddings.md``, "Sixth round",
committed before this script ran).

    python benchmarks/embedding_round6.py --seeds 5 --cache DIR

- Members: member 0 of seed ``s`` is the fit with ``random_state=s``; member ``j >= 1`` the fit with
  ``numpy.random.SeedSequence([s, j]).generate_state(1)[0]`` (:func:`member_seed`).
- Representations, all as L2 blocks: the default D ⊕ M ⊕ S of member 0; "2 inits" D₀ ⊕ M₀ ⊕ D₁ ⊕ M₁ ⊕ S; "3 inits"
  D₀ ⊕ M₀ ⊕ D₁ ⊕ M₁ ⊕ D₂ ⊕ M₂ ⊕ S.
- Candidates: the default (C 3), then 2 and 3 inits with C in {1, 3, 10}.
- Score and rule: the fifth round's 20 resplits of the 640 public training + validation nodes, seeds 0-4; the best
  candidate is adopted only if its paired advantage over the default exceeds 2 standard errors.
- Then, once: the public-split test accuracy of the chosen candidate and of the default, seeds 0-4.

``--cache DIR`` keeps the trained embeddings (``{D|M}_{member seed}.npy``, as ``embedding_combinations.py`` does).
Writes ``benchmarks/results/embedding_search/round6.json``.
"""
from __future__ import annotations

import time

from _docs import machine, run_benchmark
from embedding_combinations import cora_run, trained_embeddings, write_record
from embedding_round5 import SPLIT_SEED, SPLITS, decide, decision, resplits

from graphvae.estimators.node_embeddings import l2_blocks, s2gc_features

MEMBERS = 3
CS = (1, 3, 10)
DEFAULT = "D ⊕ M ⊕ S, L2 blocks, C=3"


def member_seed(seed: int, member: int) -> int:
    """The ``random_state`` of member ``member`` of seed ``seed``: the seed itself for member 0, else a seed drawn from
    ``numpy.random.SeedSequence([seed, member])`` (no two seeds share a member)."""
    import numpy as np

    return seed if member == 0 else int(np.random.SeedSequence([seed, member]).generate_state(1)[0])


def candidate_grid():
    """``[(name, members, C)]`` in the protocol's order (the default first)."""
    return [(DEFAULT, 1, 3)] + [(f"{m} inits, L2 blocks, C={C}", m, C) for m in (2, 3) for C in CS]


def main() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from graphvae.evaluation.summary import mean_std

    start = time.perf_counter()
    args, graph, y, (train, val, test) = cora_run()
    seeds = list(range(args.seeds))
    splits = resplits(np.concatenate([train, val]), y)
    members = {s: [member_seed(s, j) for j in range(MEMBERS)] for s in seeds}
    wanted = sorted({m for s in seeds for m in members[s]})
    trained = trained_embeddings(graph, wanted, args.cache, keys=("D", "M"))
    by_seed = {key: dict(zip(wanted, trained[key])) for key in ("D", "M")}
    s2gc = s2gc_features(graph)

    def features(count, seed):
        blocks = [by_seed[key][m] for m in members[seed][:count] for key in ("D", "M")]
        return l2_blocks(*blocks, s2gc)

    def probe(z, fit, score, C, seed):
        return LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(z[fit], y[fit]).score(z[score], y[score])

    grid = candidate_grid()
    scores = {}
    for name, count, C in grid:
        zs = [features(count, s) for s in seeds]
        scores[name] = np.array([[probe(zs[s], a, b, C, s) for a, b in splits] for s in seeds])  # [seed, split]
        print(f"{name}: {scores[name].mean():.4f} ({time.perf_counter() - start:.0f} s)", flush=True)

    results, best, adopt = decide(scores, DEFAULT, {name: {"members": count, "C": C} for name, count, C in grid})
    for r in results:
        print(f"| {r['candidate']} | {r['mean']:.4f} | {r['minus_default']:+.4f} ± {r['minus_default_se']:.4f} | "
              f"{r['splits_better']} / {r['splits_worse']} |", flush=True)
    print(f"best: {best['candidate']} ({best['minus_default']:+.4f} ± {best['minus_default_se']:.4f}); "
          f"{'adopted' if adopt else 'not adopted: the default stays'}", flush=True)

    # after the decision, once: the public split's test accuracy of the chosen candidate and the default
    tested = {}
    for name, count, C in grid:
        if name in (best["candidate"], DEFAULT):
            acc = [probe(features(count, s), train, test, C, s) for s in seeds]
            tested[name] = {**mean_std(acc), "per_seed": acc}
            print(f"test accuracy, {name}: {tested[name]['mean']:.4f} ± {tested[name]['std']:.4f}", flush=True)
    record = {
        "protocol": "docs/embeddings.md, sixth round (committed before this run)", "seeds": seeds,
        "members": {str(s): members[s] for s in seeds},
        "splits": {"count": SPLITS, "rng": f"numpy.random.default_rng({SPLIT_SEED})"},
        "machine": machine(), "wall_seconds": time.perf_counter() - start,
        "decision": decision(best, adopt, DEFAULT),
        "test_accuracy": tested, "results": results,
    }
    write_record("round6.json", record)


if __name__ == "__main__":
    run_benchmark(main)
