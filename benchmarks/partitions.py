"""Partition quality: how many nodes another rank needs (the halo) under each node ordering, and METIS.

::

    PYTHONPATH=/path/with/pymetis python benchmarks/partitions.py --json benchmarks/results/partitions.json

For Cora, CiteSeer and the 100k-node DC-SBM of the scale benchmarks, and 2 and 8 ranks, it reports the
fraction of nodes on the boundary (adjacent to a node owned by another rank: the rows the halo exchange
sends) and the fraction of edges cut, for contiguous ranges of the natural, a random and the reverse
Cuthill-McKee order (what :mod:`graphvae.training.distributed.partition` uses), and for METIS (``pymetis``, if
importable: it is not a dependency; this script measures whether it should become one). Cora and CiteSeer are
read from ``$GRAPHVAE_DATA`` or the cache, never downloaded: if one is missing the script stops with one line
(exit status 2) before measuring anything.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine, run_benchmark  # noqa: E402

from graphvae.files import write_json  # noqa: E402
from graphvae.training.distributed.partition import balanced_bounds, locality_order  # noqa: E402
from graphvae.nn.operator import adjacency_matrix  # noqa: E402


def quality(adjacency: sp.csr_matrix, owner: np.ndarray) -> dict:
    a = sp.coo_matrix(adjacency)
    cut = owner[a.row] != owner[a.col]
    return {"boundary_fraction": float(np.unique(a.row[cut]).size / adjacency.shape[0]),
            "edge_cut_fraction": float(cut.mean()),
            "largest_part_fraction": float(np.bincount(owner).max() / adjacency.shape[0])}


def owners_from_order(order: np.ndarray, parts: int) -> np.ndarray:
    n = order.size
    bounds = balanced_bounds(n, parts)
    owner = np.empty(n, dtype=np.int64)
    owner[order] = np.searchsorted(bounds, np.arange(n), side="right") - 1
    return owner


def graphs():
    import graphvae as gv
    from graphvae.data.synthetic import degree_corrected_sbm

    loaded = [(name, gv.load_dataset(name, download=False)) for name in ("cora", "citeseer")]  # all, before any work
    for name, g in loaded:
        yield name, adjacency_matrix(g.edge_index.numpy(), g.num_nodes)
    g = degree_corrected_sbm(100_000, num_features=1, seed=0)
    yield "dcsbm-100k", adjacency_matrix(g.edge_index.numpy(), g.num_nodes)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, required=True)
    args = p.parse_args()
    try:
        import pymetis
    except ImportError:
        pymetis = None
    rows = []
    for name, adjacency in graphs():
        for parts in (2, 8):
            for method in ("natural", "random", "rcm", "metis"):
                start = time.perf_counter()
                if method == "metis":
                    if pymetis is None:
                        continue
                    a = sp.csr_matrix(adjacency)
                    _, membership = pymetis.part_graph(parts, xadj=a.indptr, adjncy=a.indices)
                    owner = np.asarray(membership, dtype=np.int64)
                else:
                    owner = owners_from_order(locality_order(adjacency, method), parts)
                rows.append({"graph": name, "nodes": adjacency.shape[0], "parts": parts, "method": method,
                             "seconds": time.perf_counter() - start, **quality(adjacency, owner)})
                print(json.dumps(rows[-1]), flush=True)
    write_json(args.json, {"command": "python benchmarks/partitions.py " + " ".join(sys.argv[1:]),
                           "machine": machine(), "pymetis": getattr(pymetis, "__version__", None) if pymetis else None,
                           "rows": rows})
    return 0


if __name__ == "__main__":
    run_benchmark(main)
