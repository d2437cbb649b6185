"""Graph files and graph objects in: weighted edge lists, GraphML, GML, GEXF, Pajek, scipy ``.npz``, networkx.

Every reader returns a :class:`RawEdges` -- edge endpoints as indices into the caller's node ids and,
when the input carries them, non-negative edge weights -- that :func:`to_graph` cleans into a
graphvae graph (symmetrized, no self-loops, no duplicates; see :func:`graphvae.data.graph.build_graph`).

Weights. An undirected edge listed more than once (both directions, or repeated) keeps its largest
weight. The weights enter the GCN operator :math:`\\hat A = \\tilde D^{-1/2}(W + I)\\tilde D^{-1/2}`
with :math:`\\tilde D_{ii} = 1 + \\sum_j W_{ij}` (:func:`graphvae.nn.operator.normalized_adjacency`), so a
heavy edge pulls its endpoints' encodings together more than a light one. The inner-product decoder
models the *presence* of an edge, :math:`p(A_{ij} = 1 \\mid z) = \\sigma(z_i^\\top z_j)`, not its weight:
every listed edge (weight > 0) is a positive of the likelihood, whatever its weight, and an edge of
weight 0 is no edge.

Node ids are kept as the file has them: strings for GraphML, GML, GEXF and Pajek; for edge lists,
integers when every id is an integer (sorted numerically), else strings in order of appearance;
``0..N-1`` for a scipy matrix.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from .._keys import unique_inverse
from .._validation import InputError, check_optional_bool, readable_file

#: suffixes read with networkx, and the reader's name
NETWORKX_SUFFIXES = {".graphml": "GraphML", ".gml": "GML", ".gexf": "GEXF", ".net": "Pajek", ".pajek": "Pajek"}


@dataclass
class RawEdges:
    """Edges as read: ``src``/``dst`` index ``node_ids``; ``weight`` is ``None`` for an unweighted graph."""

    src: np.ndarray
    dst: np.ndarray
    node_ids: list
    weight: np.ndarray | None = None
    #: the first line, when it was detected as a header and skipped (said in the graph's ``cleaning``)
    header: str | None = None
    #: the first line, read as an edge, when it may be an undetected header: its two string ids appear on no other line
    possible_header: str | None = None
    #: the source declares its edges undirected (a networkx ``Graph``): none is counted as one-way
    undirected: bool = False
    #: the file's first column was skipped as pandas' row index (a header ``,source,target``)
    index_column: bool = False


def check_weights(weight: Any, what: str, lines: Sequence[int] | None = None) -> np.ndarray:
    """Edge weights as float64, or :class:`InputError` if any is not a finite non-negative number that the float32
    operator can hold (a larger one would become inf in Â and zero its nodes' embeddings; a positive one below
    float32's smallest, 1.4e-45, would become 0 there). ``lines``: each weight's line in a text file, named in the
    error (``what, line 7: ...``); without, the edge's position (``(edge 3)``)."""
    def at(k: int, message: str) -> str:
        return f"{what}, line {lines[k]}: {message}" if lines is not None else f"{what}: {message} (edge {k + 1})"

    if np.iscomplexobj(weight):
        raise InputError(f"{what}: edge weights must be real numbers, got complex values")
    try:
        w = np.asarray(weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what}: edge weights must be numbers") from None
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(at(k, f"edge weights must be finite and non-negative, got {float(w[k])}"))
    big = w > _FLOAT32_MAX
    if big.any():
        k = int(np.flatnonzero(big)[0])
        raise InputError(at(k, f"edge weights must be at most {_FLOAT32_MAX:.3g} (float32), got {float(w[k]):g}")
                         + ": rescale them")
    tiny = (w > 0) & (w.astype(np.float32) == 0)  # 1e-50 became weight 0 in Â while its edge stayed a positive
    if tiny.any():
        k = int(np.flatnonzero(tiny)[0])
        raise InputError(at(k, f"edge weights must be 0 (no edge) or at least {_FLOAT32_TINY:.3g} (float32), got "
                               f"{float(w[k]):g}") + ": rescale them")
    return w


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FLOAT32_TINY = float(np.finfo(np.float32).smallest_subnormal)


# --------------------------------------------------------------------------- files

def read_graph_file(path: str | os.PathLike, header: bool | None = None) -> RawEdges:
    """Read any supported graph file; the format follows the suffix (edge list for anything unknown)."""
    header = check_optional_bool(header, "header")
    p = readable_file(path, "graph file")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return read_npz(p)
    if suffix in NETWORKX_SUFFIXES:
        return read_networkx_file(p)
    from .graph import read_edge_list  # the edge-list parser lives with the feature reader

    return read_edge_list(p, header, weighted=True)


def read_npz(path: str | os.PathLike) -> RawEdges:
    """A square scipy sparse adjacency saved by ``scipy.sparse.save_npz``; its values are edge weights."""
    p = readable_file(path, "graph file")
    try:
        a = sp.load_npz(p)
    except Exception as e:  # noqa: BLE001 - zip, pickle and format errors all mean "not a save_npz file"
        raise InputError(f"{p}: not a scipy sparse matrix saved with scipy.sparse.save_npz ({type(e).__name__})") from None
    return from_scipy(a, str(p))


def read_networkx_file(path: str | os.PathLike) -> RawEdges:
    """GraphML, GML, GEXF or Pajek through networkx's readers; node ids as strings, ``weight`` attributes used."""
    import networkx as nx

    p = readable_file(path, "graph file")
    fmt = NETWORKX_SUFFIXES[p.suffix.lower()]
    try:
        if fmt == "GraphML":
            g = nx.read_graphml(p, node_type=str)
        elif fmt == "GEXF":
            g = nx.read_gexf(p, node_type=str)
        elif fmt == "Pajek":
            g = nx.read_pajek(p)
        else:
            g = nx.read_gml(p, label=None)  # keyed by GML id, each node's label kept as an attribute
    except Exception as e:  # noqa: BLE001 - parse errors of every kind: one line for the user
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{p}: not a readable {fmt} file ({detail[:200]})") from None
    if fmt == "GML":
        g = _gml_named(g, p)
    if fmt == "Pajek":
        _check_pajek_vertices(g, p)
    return from_networkx(g, str(p), string_ids=True)


def _check_pajek_vertices(g: Any, p: Any) -> None:
    """:class:`InputError` where networkx's Pajek reader, which names each node by its label, silently changed the
    graph: two vertices of one label merged into one node, or an edge's vertex number missing from ``*vertices`` added
    as a node of its own."""
    undeclared = next((node for node, number in g.nodes(data="id") if number is None), None)
    if undeclared is not None:
        raise InputError(f"{p}: an edge names vertex {undeclared!r}, which the *vertices list does not hold")
    with open(p, encoding="utf-8", errors="replace") as f:
        heads = [line.split() for line in f if line.lower().startswith("*vertices")]
    declared = sum(int(head[1]) for head in heads if len(head) > 1 and head[1].isdigit())
    if g.number_of_nodes() < declared:
        raise InputError(f"{p}: *vertices lists {declared} vertices but their labels name only {g.number_of_nodes()} "
                         f"nodes: two vertices share a label (the labels name the nodes, so they must be unique)")


def _gml_named(g: Any, p: Any) -> Any:
    """A GML graph keyed by its node labels (as text), or by its GML ids when no node has a label; a file where some
    nodes have a label and others none, or two nodes share one, is refused (it used to fall back to the ids for
    every node, silently)."""
    import networkx as nx

    labels = {node: data.get("label") for node, data in g.nodes(data=True)}
    if all(v is None for v in labels.values()):
        return g
    missing = [node for node, v in labels.items() if v is None]
    if missing:
        raise InputError(f"{p}: node with GML id {missing[0]} has no label while others have one: label every node "
                         f"or none (then the GML ids name them)")
    names = {node: str(v) for node, v in labels.items()}
    if len(set(names.values())) < len(names):
        seen, repeated = set(), None
        for v in names.values():
            if v in seen:
                repeated = v
                break
            seen.add(v)
        raise InputError(f"{p}: two nodes have the label {repeated!r}: node labels must be unique")
    return nx.relabel_nodes(g, names)


# --------------------------------------------------------------------------- Python objects

def from_networkx(g: Any, what: str = "networkx graph", string_ids: bool = False) -> RawEdges:
    """Edges of a networkx (di/multi)graph; ids are its nodes (``str``-ed with ``string_ids``)."""
    ids = list(g.nodes)
    position = {node: k for k, node in enumerate(ids)}
    edges = list(g.edges(data="weight"))
    pairs = np.array([(position[u], position[v]) for u, v, _ in edges], dtype=np.int64).reshape(-1, 2)
    weight = None
    if any(w is not None for _, _, w in edges):
        weight = check_weights([1.0 if w is None else _number(w, what) for _, _, w in edges], what)
    if string_ids:
        ids = [str(i) for i in ids]
    return RawEdges(pairs[:, 0], pairs[:, 1], ids, weight, undirected=not g.is_directed())


def _number(w: Any, what: str) -> float:
    try:
        return float(w)
    except (TypeError, ValueError):
        raise InputError(f"{what}: edge weight {w!r} is not a number") from None


def from_scipy(a: Any, what: str = "adjacency matrix") -> RawEdges:
    """Non-zero entries of a square sparse matrix; values other than 0/1 make a weighted graph."""
    if not sp.issparse(a) or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(f"{what}: an adjacency matrix must be a square sparse matrix, got shape {getattr(a, 'shape', None)}")
    coo = sp.coo_matrix(a)
    coo.sum_duplicates()
    w = check_weights(coo.data, what)
    nz = w != 0
    w = w[nz]
    weight = None if np.all(w == 1) else w
    return RawEdges(coo.row[nz].astype(np.int64), coo.col[nz].astype(np.int64), list(range(a.shape[0])), weight)


# --------------------------------------------------------------------------- cleaning

def to_graph(raw: RawEdges, x: Any = None):
    """Clean ``raw`` into a graph (:func:`graphvae.data.graph.build_graph`) and attach ``edge_weight`` if weighted.

    ``edge_weight`` (float32, aligned with ``edge_index``) holds each undirected edge's largest listed
    weight in both directions; self-loops are dropped with their weights, and edges of weight 0 (counted in the
    graph's ``cleaning`` as ``zero_weight``).
    """
    from .graph import build_graph

    n = len(raw.node_ids)
    src, dst = np.asarray(raw.src, dtype=np.int64), np.asarray(raw.dst, dtype=np.int64)
    zero_weight = 0
    if raw.weight is not None:  # weight 0 is no edge
        listed = np.asarray(raw.weight) > 0
        zero_weight = int(listed.size - listed.sum())
        src, dst = src[listed], dst[listed]
        raw = dataclasses.replace(raw, src=src, dst=dst, weight=raw.weight[listed])
    graph = build_graph(src, dst, n, x=x, node_ids=raw.node_ids)
    if raw.undirected:  # each edge listed once because the graph is undirected, not because it is directed
        graph.cleaning["one_way"] = 0
    if raw.weight is not None:
        graph.cleaning["zero_weight"] = zero_weight
    for key in ("header", "possible_header"):
        if getattr(raw, key) is not None:
            graph.cleaning[key] = getattr(raw, key)
    if raw.index_column:
        graph.cleaning["index_column"] = True
    graph.edge_weight = None
    if raw.weight is not None:
        graph.edge_weight = edge_weights(src, dst, raw.weight, graph.edge_index, n)
    return graph


def edge_weights(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, edge_index: Any, n: int):
    """Weights aligned with a cleaned ``edge_index``: the largest weight listed for each undirected pair."""
    import torch

    keep = src != dst
    lo, hi, w = np.minimum(src, dst)[keep], np.maximum(src, dst)[keep], np.asarray(weight, np.float64)[keep]
    keys, inverse = unique_inverse(lo * n + hi)
    best = np.full(keys.size, -np.inf)
    np.maximum.at(best, inverse, w)
    ei = np.asarray(edge_index, dtype=np.int64)
    wanted = np.minimum(ei[0], ei[1]) * n + np.maximum(ei[0], ei[1])
    return torch.from_numpy(best[np.searchsorted(keys, wanted)].astype(np.float32))


def weights_or_none(graph: Any) -> np.ndarray | None:
    """The graph's edge weights as numpy (``None`` when unweighted)."""
    w = getattr(graph, "edge_weight", None)
    return None if w is None else np.asarray(w, dtype=np.float32)


#: why a node of a labels or features file may be missing from a graph: an edge list names only nodes with edges
NOT_IN_EDGE_LIST = " (a graph read from an edge list has only the nodes that have an edge)"


def node_positions(node_ids: Sequence, wanted: Sequence, what: str) -> np.ndarray:
    """Row index of each id of ``wanted`` among ``node_ids`` (compared as strings)."""
    position = {str(i): k for k, i in enumerate(node_ids)}
    out = np.empty(len(wanted), dtype=np.int64)
    for k, i in enumerate(wanted):
        j = position.get(str(i))
        if j is None:
            raise InputError(f"{what}: node id {i!r} is not in the graph")
        out[k] = j
    return out


def read_labels(path: str | os.PathLike, node_ids: Sequence) -> np.ndarray:
    """Node labels from a CSV/TSV keyed by node id (``id,label`` rows, optional header).

    Columns after the second are ignored when a header names the second one as the label (one of
    :data:`LABEL_COLUMNS`), so the output of ``graphvae cluster --out`` reads as labels; without such a header a
    file of more than two columns is refused.
    Returns one label string per graph node, ``None`` for nodes without a row. Raises
    :class:`InputError` for ids not in the graph, repeated ids or rows without exactly two fields.
    """
    return _read_label_file(path, node_ids)[0]


def _read_label_file(path: str | os.PathLike, node_ids: Sequence) -> tuple[np.ndarray, list[str] | None]:
    """:func:`read_labels`' labels, and the file's header (``None`` without one; pandas' row index left out)."""
    from .graph import _pandas_row_index, _read_rows

    p = readable_file(path, "labels file")
    lines, rows = _read_rows(p, "labels file")
    position = {str(i): k for k, i in enumerate(node_ids)}
    header = None
    if rows and _label_header(rows, position):
        header, rows = rows[0][1], rows[1:]
    if not rows:
        raise InputError(f"{p}: no label rows")
    if header is not None and len(header) == 3 and _pandas_row_index(header, rows, spaced=False) \
            and header[2].strip().lower() in LABEL_COLUMNS:
        header, rows = header[1:], [(n, fields[1:]) for n, fields in rows]  # pandas' row index (",id,label"): skipped
    from .graph import _separator

    sep = _separator(lines[n - 1] for n, _ in rows)
    for n, fields in rows:  # extra columns (a `cluster --out` file) only where they cannot be part of a label
        if sep is None and len(fields) > 2:
            raise InputError(f"{p}, line {n}: {len(fields)} fields separated by spaces: a label with spaces needs a "
                             f"comma- or tab-separated file")
        if len(fields) != len(rows[0][1]):
            raise InputError(f"{p}, line {n}: {len(fields)} fields where line {rows[0][0]} has {len(rows[0][1])} "
                             f"(quote a label that contains the separator)")
    if len(rows[0][1]) > 2 and (header is None or len(header) < 2 or header[1].strip().lower() not in LABEL_COLUMNS):
        raise InputError(f"{p}: {len(rows[0][1])} columns: the label is read from the second, so give two columns "
                         f"(node id, label) or a header naming the second column 'label'")
    labels = np.full(len(node_ids), None, dtype=object)
    for n, fields in rows:
        if len(fields) < 2 or not all(fields[:2]):
            raise InputError(f"{p}, line {n}: expected a node id and a label, got {lines[n - 1]!r}")
        k = position.get(fields[0])
        if k is None:
            raise InputError(f"{p}, line {n}: node id {fields[0]!r} is not in the graph{NOT_IN_EDGE_LIST}")
        if labels[k] is not None:
            raise InputError(f"{p}, line {n}: node id {fields[0]!r} has a second label")
        if fields[1].lower() in MISSING_LABELS:
            raise InputError(f"{p}, line {n}: label {fields[1]!r} of node {fields[0]!r} reads as a missing value: leave "
                             f"unlabelled nodes out of the labels file")
        labels[k] = fields[1]
    return labels, header


def label_column_name(path: str | os.PathLike, node_ids: Sequence) -> str | None:
    """The name a labels file's header gives its label column (``cluster`` in a ``graphvae cluster --out`` file),
    ``None`` without a header or for a number (``,0``: an unnamed pandas Series); the file read as
    :func:`read_labels` reads it."""
    from .graph import _is_number

    header = _read_label_file(path, node_ids)[1]
    name = header[1].strip() if header is not None and len(header) > 1 else ""
    return None if not name or _is_number(name) else name


#: header names of a labels file's second column under which further columns are ignored (``cluster --out`` writes
#: ``node_id,cluster,r0,...``); without one, a file of more than two columns is refused (which column is the label?)
LABEL_COLUMNS = ("label", "labels", "class", "cluster", "community", "category", "group", "y", "target")

#: label texts that mean "no label" in the files people export (pandas' missing values): refused, not a class
MISSING_LABELS = ("nan", "na", "n/a", "null", "none", "#n/a")


def _label_header(rows: list, position: dict) -> bool:
    """Whether the first row is a header:

    - a first field that is no graph node and one of :data:`ID_COLUMNS`, or empty (pandas' unnamed row index);
    - a first field that is a graph node, when the row looks like column names: its first field no number, and one of
      :data:`ID_COLUMNS` or its second one of :data:`LABEL_COLUMNS` (but ``y``), and its second no number nor any
      other row's label (``node,label`` in a graph with a node ``node`` was read as that node's label, a class
      ``label`` of its own);
    - else a first field and a second that are not numbers, the second no other row's label (a header names the label
      column; a row with a mistyped id has a real class; ``alcie,2``, a mistyped id whose numeric class no other row
      has, was skipped as a header, the node left unlabelled)."""
    from .graph import _is_number

    first = rows[0][1]
    named_id = first[0].lower() in ID_COLUMNS
    if first[0] not in position and (named_id or (first[0] == "" and len(rows) > 1)):
        return True  # an empty first name: pandas' row index (``Series.to_csv``: ",0" or ",target"); no id is empty
    if len(first) < 2 or _is_number(first[1]) or first[1] in {f[1] for _, f in rows[1:] if len(f) > 1}:
        return False
    if first[0] in position:  # "y" is as often a class ("y"/"n") as a column; a number names no column
        return not _is_number(first[0]) and (named_id or first[1].lower() in set(LABEL_COLUMNS) - {"y"})
    # an id spelt otherwise than the graph's ("007" for node 7) is no column name: an error, where it was skipped as a
    # header when its label was unique (and the node left unlabelled)
    return len(rows) > 1 and not _is_number(first[0])


#: header names of a labels file's first column
ID_COLUMNS = ("id", "node", "node_id", "nodeid", "name", "source", "vertex")
