"""An upper bound on what a node ordering can do for the time per edge at scale.

::

    python benchmarks/locality.py --nodes 1000000 --repeats 2 --json benchmarks/results/locality.json

Generates the seeded DC-SBM of ``benchmarks/scale.py`` (:func:`graphvae.data.synthetic.degree_corrected_sbm`),
then trains the paper's ``VGAE`` for a few epochs on it twice per repeat, alternated: once in the generator's
random node order and once relabelled by the *planted* blocks (ground truth: 80 % of the edges then stay
inside a window of ``nodes / 10`` consecutive nodes, which no ordering algorithm can beat on this graph).
Each run is its own subprocess; seconds per epoch is the median after the first epoch. If even the planted
order gains little, locality orderings (reverse Cuthill-McKee, METIS) cannot close the gap in time per edge
between 100k and 1M nodes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine, run_benchmark, count  # noqa: E402

from graphvae.files import write_json  # noqa: E402


def run_one(nodes: int, order: str, epochs: int, seed: int) -> dict:
    """Train once in this process and return the epoch times (``order``: ``random`` or ``block``)."""
    import numpy as np
    import torch

    import graphvae as gv

    graph = gv.degree_corrected_sbm(nodes, seed=seed)
    if order == "block":
        perm = np.argsort(np.asarray(graph.y), kind="stable")  # new position -> old node
        new_of_old = np.empty(nodes, dtype=np.int64)
        new_of_old[perm] = np.arange(nodes)
        edges = new_of_old[graph.edge_index.numpy()]
        graph = gv.build_graph(edges[0], edges[1], nodes, x=graph.x[torch.as_tensor(perm)])
    split = gv.split_edges(graph, seed=seed)
    model = gv.VGAE(epochs=epochs, random_state=seed).fit(split)
    seconds = [h["seconds"] for h in model.history_]
    return {"order": order, "epoch_seconds": seconds, "seconds_per_epoch": statistics.median(seconds[1:])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--repeats", type=count, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="benchmarks/results/locality.json")
    p.add_argument("--one", choices=["random", "block"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(args.nodes, args.one, args.epochs, args.seed)))
        return
    runs = []
    for _ in range(args.repeats):
        for order in ("random", "block"):
            out = subprocess.run([sys.executable, __file__, "--one", order, "--nodes", str(args.nodes), "--epochs",
                                  str(args.epochs), "--seed", str(args.seed)], capture_output=True, text=True, check=True)
            runs.append({**json.loads(out.stdout.strip().splitlines()[-1]), "load_average": os.getloadavg()[0]})
            print(f"{order}: {runs[-1]['seconds_per_epoch']:.3f} s per epoch", flush=True)
    medians = {o: statistics.median(r["seconds_per_epoch"] for r in runs if r["order"] == o) for o in ("random", "block")}
    write_json(args.json, {"machine": machine(), "nodes": args.nodes, "epochs": args.epochs, "seed": args.seed,
                           "runs": runs, "median_seconds_per_epoch": medians,
                           "block_over_random": medians["block"] / medians["random"]})
    print(f"planted-block order / random order: {medians['block'] / medians['random']:.2f}")


if __name__ == "__main__":
    run_benchmark(main)
