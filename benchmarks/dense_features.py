"""A VGAE fitted on PyTorch Geometric's form of Cora (dense ``x``): features kept dense against stored sparse.

::

    python benchmarks/dense_features.py [--epochs 200] [--repeats 2] [--json benchmarks/results/dense_features.json]

``gv.load_dataset("cora").to_pyg()`` is the ``Data`` PyG's ``Planetoid`` gives (dense 0/1 bag-of-words ``x``, 1.3 %
non-zero). graphvae stores dense features of at most ``graphvae.data.graph.SPARSE_FEATURES_DENSITY`` non-zeros as
CSR; this script fits ``VGAE(epochs=...)`` on that ``Data`` with the threshold as shipped ("sparse") and set to 0,
which keeps the features dense as graphvae did before ("dense"), alternated in one process at one torch thread.
Reports the median milliseconds per epoch after 10 warm-up epochs and the test AUC of each fit (seed 0's split).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import ROOT, count, machine  # noqa: E402

WARMUP = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=count, default=200)
    parser.add_argument("--repeats", type=count, default=2)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "dense_features.json"))
    args = parser.parse_args()
    if args.epochs <= WARMUP + 1:
        parser.error(f"--epochs must exceed the {WARMUP} warm-up epochs by at least 2, got {args.epochs}")
    import torch

    import graphvae as gv
    import graphvae.data.graph as graph_module
    from graphvae.files import write_json

    torch.set_num_threads(1)
    data = gv.load_dataset("cora").to_pyg()
    split = None
    shipped, rows = graph_module.SPARSE_FEATURES_DENSITY, []
    for repeat in range(args.repeats):
        for form, threshold in (("dense", 0.0), ("sparse", shipped)):
            graph_module.SPARSE_FEATURES_DENSITY = threshold
            try:
                graph = gv.as_graph(data)
                split = gv.split_edges(graph, seed=0)
                model = gv.VGAE(epochs=args.epochs, random_state=0).fit(split)
            finally:
                graph_module.SPARSE_FEATURES_DENSITY = shipped
            ms = statistics.median(1e3 * h["seconds"] for h in model.history_[WARMUP:])
            auc = model.score(split.test_pos, split.test_neg)["auc"]
            rows.append({"repeat": repeat, "features": form, "layout": str(graph.x.layout), "ms_per_epoch": ms,
                         "test_auc": auc})
            print(f"repeat {repeat}: {form} features ({graph.x.layout}): {ms:.2f} ms per epoch, test AUC {auc:.4f}",
                  flush=True)
    medians = {form: statistics.median(r["ms_per_epoch"] for r in rows if r["features"] == form)
               for form in ("dense", "sparse")}
    print(f"dense / sparse: {medians['dense'] / medians['sparse']:.2f}x")
    write_json(args.json, {"command": " ".join(["python", "benchmarks/dense_features.py", *sys.argv[1:]]),
                           "machine": machine(), "threads": 1, "epochs": args.epochs, "runs": rows,
                           "median_ms_per_epoch": medians, "dense_over_sparse": medians["dense"] / medians["sparse"]})


if __name__ == "__main__":
    main()
