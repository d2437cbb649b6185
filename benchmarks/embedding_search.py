"""Validation-only search for the ``classify`` embedding model: one candidate's Cora probe accuracy on the 500 public
validation nodes (never the test nodes), over seeds, for every probe preprocessing and C.

    python benchmarks/embedding_search.py NAME SEEDS '{"hidden": [128], "latent": 64, ...}'

The JSON holds keyword arguments of :class:`graphvae.VGAE` (the model trains on the whole graph) plus
``"representation"`` (``latent``, ``hidden+latent`` or ``layers``) and ``"hops"``. Each seed trains once; the
embedding is probed standardized (``std``), L2-normalized (``l2``) or both (``l2std``) with
C in {0.01, 0.03, 0.1, 0.3, 1, 3, 10}. Prints the six best (preprocessing, C) by mean validation accuracy and
writes ``benchmarks/results/embedding_search/NAME.json``. ``docs/embeddings.md`` lists the
candidates of the third search round with the command that produced each number.
"""
from __future__ import annotations

import json
import time

from _docs import ROOT, atomic_write, run_benchmark

PREPROCESSING = ("std", "l2", "l2std")
CS = (0.01, 0.03, 0.1, 0.3, 1, 3, 10)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("name", help="the candidate's name (the JSON file's name)")
    parser.add_argument("seeds", type=int, help="number of seeds 0..N-1")
    parser.add_argument("config", help="JSON object: keyword arguments of graphvae.VGAE, plus representation and hops")
    args = parser.parse_args()
    try:
        config = json.loads(args.config)
    except json.JSONDecodeError as e:
        parser.error(f"config is not JSON: {e}")
    if not isinstance(config, dict) or args.seeds < 1:
        parser.error("config must be a JSON object and seeds at least 1")

    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler, normalize

    import graphvae as gv
    from graphvae.estimators.node_embeddings import REPRESENTATIONS, representation
    from graphvae.evaluation.node_tasks import node_labels, public_split

    kind, hops = config.pop("representation", "hidden+latent"), config.pop("hops", 0)
    unknown = sorted(set(config) - (set(gv.VGAE().get_params()) - {"random_state"}))  # random_state: the seed
    if unknown:  # before Cora is loaded and the first seed trained
        parser.error(f"config: unknown key(s) {', '.join(unknown)} (keyword arguments of graphvae.VGAE except "
                     "random_state, which is the seed, plus representation and hops)")
    if kind not in REPRESENTATIONS:
        parser.error(f"config: unknown representation {kind!r} (choose from: {', '.join(REPRESENTATIONS)})")
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        parser.error(f"config: hops must be a non-negative integer, got {hops!r}")

    torch.set_num_threads(1)
    name, seeds = args.name, args.seeds
    graph = gv.load_dataset("cora")
    y = np.asarray(node_labels(graph), dtype=np.int64)
    train, val, _ = public_split(graph)  # the test nodes are not used
    scores: dict[tuple[str, float], list[float]] = {}
    seconds = []
    for seed in range(seeds):
        start = time.perf_counter()
        model = gv.VGAE(**config, random_state=seed).fit(graph)
        seconds.append(time.perf_counter() - start)
        z = representation(model, kind, hops)
        for prep in PREPROCESSING:
            zz = normalize(z) if prep.startswith("l2") else z
            if prep.endswith("std"):
                zz = StandardScaler().fit(zz).transform(zz)
            for C in CS:
                probe = LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(zz[train], y[train])
                scores.setdefault((prep, C), []).append(float(probe.score(zz[val], y[val])))
        print(f"seed {seed}: {seconds[-1]:.1f} s", flush=True)
    ranked = sorted(scores.items(), key=lambda kv: -np.mean(kv[1]))
    print(name)
    for (prep, C), v in ranked[:6]:
        print(f"  {prep:6s} C={C:<5} val {np.mean(v):.4f} ± {np.std(v):.4f}  {np.round(v, 3).tolist()}")
    (prep, C), best = ranked[0]
    record = {"name": name, "seeds": seeds, "config": json.loads(args.config), "best": {
        "preprocessing": prep, "C": C, "val_accuracy": float(np.mean(best)), "std": float(np.std(best)), "per_seed": best},
        "train_seconds": float(np.mean(seconds))}
    out = ROOT / "benchmarks" / "results" / "embedding_search"
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=2) + "\n"
    atomic_write(out / f"{name}.json", lambda tmp: tmp.write_text(text))


if __name__ == "__main__":
    run_benchmark(main)
