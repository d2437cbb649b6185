"""The picture of docs/scale_out.md: which rank holds what (Cora, 2 ranks, reverse Cuthill-McKee order).

::

    GRAPHVAE_DATA=/path/to/datasets python benchmarks/scale_out_figure.py

Left: the non-zeros of Cora's normalized adjacency in the partition's order, coloured by what they
mean to the rank owning the row (its own block, or a halo column: a row it receives from the other
rank at every GCN layer). Right: what each rank holds, what is exchanged, and what is replicated.
"""
from __future__ import annotations

import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import ROOT, run_benchmark  # noqa: E402

from graphvae.files import atomic_write  # noqa: E402

FIGURE = ROOT / "docs" / "figures" / "scale_out_ranks.png"


def main() -> int:
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Writes docs/figures/scale_out_ranks.png.").parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Rectangle
    import scipy.sparse as sp

    import graphvae as gv
    from graphvae.training.distributed.partition import Partition
    from graphvae.nn.operator import adjacency_matrix

    graph = gv.load_dataset("cora", download=False)
    n = graph.num_nodes
    adjacency = adjacency_matrix(graph.edge_index.numpy(), n)
    part = Partition(adjacency, 2, "rcm")
    a = sp.coo_matrix(part.ahat)
    r, c = part.new_of_orig[a.row], part.new_of_orig[a.col]
    mid = int(part.bounds[1])
    own = (r < mid) == (c < mid)
    fig = plt.figure(figsize=(12.5, 6.2))
    ax = fig.add_axes([0.04, 0.1, 0.36, 0.8])
    ax.add_patch(Rectangle((0, 0), mid, mid, color="#dbe8f6", zorder=0))
    ax.add_patch(Rectangle((mid, mid), n - mid, n - mid, color="#fbe3cf", zorder=0))
    ax.scatter(c[own], r[own], s=0.15, color="#1f4e99", label="own block (local rows and columns)")
    ax.scatter(c[~own], r[~own], s=0.6, color="#d62728", label="halo columns (rows received each layer)")
    ax.axhline(mid, color="k", lw=0.8)
    ax.axvline(mid, color="k", lw=0.8, ls=":")
    ax.set(xlim=(0, n), ylim=(n, 0), xlabel="column (node, partition order)", ylabel="row (node, partition order)",
           title=f"Cora's Â in reverse Cuthill-McKee order, 2 ranks\n"
                 f"{(~own).sum()} of {own.size} non-zeros cross ranks")
    ax.text(mid * 0.5, mid * 0.06, "rank 0 rows", ha="center", fontsize=8.5)
    ax.text(mid + (n - mid) * 0.5, mid + (n - mid) * 0.1, "rank 1 rows", ha="center", fontsize=8.5)
    ax.legend(loc="lower left", fontsize=7, markerscale=12)

    ax = fig.add_axes([0.43, 0.02, 0.56, 0.96])
    ax.set_axis_off()
    ax.set(xlim=(0, 10), ylim=(0, 10))

    def box(x, y, w, h, text, color):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.08", fc=color, ec="0.3", lw=0.8))
        ax.text(x + 0.12, y + h - 0.15, text, va="top", fontsize=8.5, family="DejaVu Sans")

    per_rank = ("rows lo..hi of Â: local block + halo columns\n"
                "their features X_r (or Â X, dense)\n"
                "positives (i, j) of A + I with i owned (keys\n   for the membership test)\n"
                "H_r, μ_r, log σ_r, Z_r for its rows\n"
                "ε of its rows, cut from the shared stream\n"
                "its sampled pairs (i, π_t(i)), i owned, and\n   their share of the residual")
    box(0.2, 6.0, 4.5, 3.8, "rank 0\n\n" + per_rank, "#dbe8f6")
    box(5.2, 6.0, 4.5, 3.8, "rank 1\n\n" + per_rank, "#fbe3cf")
    box(0.2, 2.3, 9.5, 3.3,
        "exchanged every step (inside autograd; backward sends gradients back to the owners)\n\n"
        "halo: per GCN layer, the boundary rows of H W  (all_to_all, both ways)\n"
        "gathered Z: every rank's rows, for the sampled partners  (a broadcast per rank;\n   backward: a reduce per rank sums the gradients onto the owner)\n"
        "all-reduced: Zᵀ1 and ZᵀZ (closed-form control variate), the fit's 6k normal-equation sums,\n"
        "   the parameters' gradients, and once per run the reported loss terms", "#eeeeee")
    box(0.2, 0.4, 9.5, 1.5,
        "replicated on every rank: the parameters and Adam's state (identical: same gradients), the label\n"
        "map new_of_orig (N integers), the sampler's permutation of the N nodes, the gathered Z (N × d)",
        "#f5f0d8")
    ax.annotate("", xy=(5.15, 8.0), xytext=(4.75, 8.0), arrowprops=dict(arrowstyle="<->", color="#d62728", lw=1.5))
    ax.text(4.95, 8.15, "halo", color="#d62728", ha="center", fontsize=7)
    atomic_write(FIGURE, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    print(FIGURE)
    return 0


if __name__ == "__main__":
    run_benchmark(main)
