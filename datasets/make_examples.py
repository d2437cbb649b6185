"""Write the small example graphs of the README and docs from the packages that ship them.

    python datasets/make_examples.py        # rewrites datasets/examples/*.csv

- ``karate_edges.csv``: Zachary's karate club (networkx), 34 members, 78 friendships, one
  ``source,target`` row per edge (node ids 0-33).
- ``karate_labels.csv``: ``node_id,club``: the club each member joined after the split
  (``Mr. Hi`` or ``Officer``), the classic two-community ground truth.
"""
from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx

HERE = Path(__file__).resolve().parent / "examples"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    g = nx.karate_club_graph()
    with open(HERE / "karate_edges.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "target"])
        w.writerows(sorted((min(u, v), max(u, v)) for u, v in g.edges()))
    with open(HERE / "karate_labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["node_id", "club"])
        w.writerows((node, data["club"]) for node, data in sorted(g.nodes(data=True)))


if __name__ == "__main__":
    main()
