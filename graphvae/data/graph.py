"""Graphs in: a user's own graph (edge-list files, networkx, scipy, PyG) as a cleaned :class:`Graph`.

Every graph comes out as a :class:`Graph` (``graph.to_pyg()`` gives a PyG ``Data``) with

- ``x``: node features, a float32 tensor, sparse CSR where the input was sparse (identity if none given);
- ``edge_index``: ``[2, 2E]``, every undirected edge once in each direction, no self-loops, no duplicates;
- ``node_ids``: the user's id of each node (row ``i`` of ``x`` is node ``node_ids[i]``);
- ``cleaning``: how many self-loops, duplicate and one-way (directed) edges (and, if weighted, edges of weight 0)
  the input held. An edge list, matrix or PyG ``Data`` cannot say whether it is directed, so an edge listed in one
  direction only counts as one-way; an undirected networkx graph (``nx.Graph``, and the GraphML/GML/GEXF files networkx
  reads as one) has none.
"""
from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from .._keys import unique_inverse, unique_sorted
from ..allocator import collection_paused
from .._sparse import deepcopy_through_pickle, to_torch_csr
from .._validation import (InputError, InputTypeError, as_float32, check_optional_bool, counted, plain_ids,
                           readable_file)

_HEADER_WORDS = {"source", "target", "src", "dst", "from", "to", "u", "v", "node1", "node2", "head", "tail",
                 "id1", "id2", "source_id", "target_id", "node", "id", "node_id", "weight", "w", "value"}


class Graph:
    """A cleaned, undirected graph: what every reader returns and every graph estimator takes.

    Attributes: ``x`` (features ``[N, F]``, float32, sparse CSR where the input was sparse),
    ``edge_index`` (``[2, 2E]`` int64, each undirected edge once in each direction, no self-loops or
    duplicates), ``num_nodes``, ``node_ids`` (the user's id of each node), ``cleaning`` (what the
    readers dropped or symmetrized); optional ``y`` (labels), ``name`` and, for Planetoid datasets,
    the public split's ``train_mask``, ``val_mask`` and ``test_mask``. Further attributes may be set
    freely, as on a PyG ``Data``; :meth:`to_pyg` converts (and :func:`as_graph` converts back).
    ``positional_ids`` is true where the input named no nodes (a scipy matrix, a PyG ``Data`` without ids): the ids
    ``0..N-1`` are then row positions, not names.
    """

    positional_ids = False

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, num_nodes: int, node_ids: Sequence | None = None,
                 cleaning: dict | None = None, **attributes: Any):
        self.x = x
        self.edge_index = edge_index
        self.num_nodes = int(num_nodes)
        self.node_ids = list(range(self.num_nodes)) if node_ids is None else plain_ids(node_ids)
        self.cleaning = dict(cleaning or {})
        self.y: torch.Tensor | None = None
        self.name: str | None = None
        for key, value in attributes.items():
            setattr(self, key, value)

    def __deepcopy__(self, memo: dict) -> "Graph":
        return deepcopy_through_pickle(self, memo)  # sparse CSR features: torch pickles them, cannot deep-copy them

    def check_trainable(self, latent: int) -> None:
        """Raise :class:`InputError` if a graph auto-encoder with ``latent`` dimensions cannot learn from this graph."""
        n = self.num_nodes
        if n < 2:
            raise InputError(f"the graph has {counted(n, 'node')}: at least 2 are needed to learn links")
        if self.num_edges == 0:
            counts = [(count, one, many) for count, one, many in (
                (self.cleaning.get("self_loops", 0), "self-loop", "self-loops"),
                (self.cleaning.get("zero_weight", 0), "edge of weight 0", "edges of weight 0")) if count]
            dropped = " and ".join(counted(count, one, many) for count, one, many in counts)
            were = "was" if sum(count for count, _, _ in counts) == 1 else "were"
            why = f" ({dropped} {were} dropped)" if counts else ""
            raise InputError(f"the graph has no edges between distinct nodes{why}: there is nothing to reconstruct")
        if latent > n:
            raise InputError(f"the latent dimension ({latent}) exceeds the number of nodes ({n}): "
                             f"choose a latent dimension of at most {n}")

    def check_features(self, num_features: int) -> None:
        """Raise :class:`InputError` unless the graph has ``num_features`` features per node (a fitted encoder's input)."""
        if int(self.x.shape[1]) != num_features:
            raise InputError(f"the graph has {int(self.x.shape[1])} features per node but the model was fitted "
                             f"with {num_features}")

    @property
    def num_edges(self) -> int:
        """Undirected edges (each counted once)."""
        return int(self.edge_index.shape[1]) // 2

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return (f"Graph({name}num_nodes={self.num_nodes}, num_edges={self.num_edges}, "
                f"num_features={int(self.x.shape[1])})")

    def to_pyg(self):
        """The graph as a :class:`torch_geometric.data.Data`: dense features, the same edges, ``edge_weight`` if
        weighted, labels, masks and ``name``, and the node ids as a list attribute ``node_ids`` (so that :func:`as_graph`
        gives this graph back; none for :attr:`positional_ids`)."""
        from torch_geometric.data import Data

        x = self.x.to_dense() if self.x.layout != torch.strided else self.x
        data = Data(x=x, edge_index=self.edge_index, num_nodes=self.num_nodes)
        if not self.positional_ids:
            data.node_ids = list(self.node_ids)
        for key in ("edge_weight", "y", "train_mask", "val_mask", "test_mask", "name"):
            if getattr(self, key, None) is not None:
                data[key] = getattr(self, key)
        return data


def build_graph(src: np.ndarray, dst: np.ndarray, num_nodes: int, x: Any = None,
                node_ids: Sequence | None = None) -> Graph:
    """Clean an edge list (symmetrize, drop self-loops and duplicates) and attach validated features."""
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_nodes):
        raise InputError(f"edge endpoints must lie in 0..{num_nodes - 1}")
    loops = src == dst
    src, dst = src[~loops], dst[~loops]
    directed_keys = unique_sorted(src * num_nodes + dst)
    duplicates = src.size - directed_keys.size
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    undirected = unique_sorted(lo * num_nodes + hi)
    # an undirected edge is one-way if only one of its two directions was listed
    one_way = 2 * undirected.size - directed_keys.size
    u, v = undirected // num_nodes, undirected % num_nodes
    edge_index = torch.from_numpy(np.stack([np.concatenate([u, v]), np.concatenate([v, u])]))
    cleaning = dict(self_loops=int(loops.sum()), duplicates=int(duplicates), one_way=int(one_way),
                    undirected_edges=int(undirected.size))
    if node_ids is not None:
        node_ids = plain_ids(node_ids)
        _check_node_ids(node_ids, num_nodes, "node_ids")
    return Graph(_features(x, num_nodes), edge_index, num_nodes, node_ids, cleaning)


def _features(x: Any, num_nodes: int) -> torch.Tensor:
    """Validate features into a float32 tensor (CSR if sparse); ``None`` gives sparse identity features."""
    if x is None:
        return to_torch_csr(sp.identity(num_nodes, dtype=np.float32, format="csr"))
    if isinstance(x, torch.Tensor):
        x = numpy_ready(x)
        if x.layout == torch.strided:
            x = x.numpy()
        else:  # sparse stays sparse (a dense copy of a large bag-of-words matrix could not fit in memory)
            coo = x.to_sparse_coo().coalesce()
            if coo.dim() != 2:
                raise InputError(f"node features must be a 2-D matrix, got shape {tuple(coo.shape)}")
            i = coo.indices().numpy()
            x = sp.csr_matrix((coo.values().numpy(), (i[0], i[1])), shape=tuple(coo.shape))
    if sp.issparse(x):
        x = sp.csr_matrix(x)
        values = sp.csr_matrix((as_float32(x.data, "node features"), x.indices, x.indptr), shape=x.shape)
    else:
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)
            except (TypeError, ValueError):
                raise InputError("node features must be numbers") from None
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise InputError(f"node features must be numbers, got dtype {x.dtype}")
        values = as_float32(x, "node features")
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise InputError(f"node features must be a 2-D matrix, got shape {values.shape}")
    if values.shape[1] == 0:
        raise InputError("node features have no columns (leave them out for identity features)")
    if values.shape[0] != num_nodes:
        raise InputError(f"node features have {values.shape[0]} rows but the graph has {num_nodes} nodes")
    if not sp.issparse(values) and np.count_nonzero(values) <= SPARSE_FEATURES_DENSITY * values.size:
        values = sp.csr_matrix(values)  # bag-of-words features in a dense array (PyG's Planetoid x): stored sparse
    return to_torch_csr(values) if sp.issparse(values) else torch.from_numpy(np.ascontiguousarray(values))


def has_identity_features(graph: Any) -> bool:
    """Whether ``graph.x`` is the identity that stands in for missing node features (sparse, as graphvae builds it,
    or dense, as :meth:`Graph.to_pyg` writes it for PyG)."""
    return is_identity(graph.x, int(graph.num_nodes))


def is_identity(x: torch.Tensor, n: int) -> bool:
    """Whether the feature matrix ``x`` (dense or CSR, on any device) is the ``n x n`` identity."""
    if tuple(x.shape) != (n, n):
        return False
    if x.layout == torch.strided:
        return bool(torch.count_nonzero(x) == n and torch.all(torch.diagonal(x) == 1))
    if x.values().numel() != n:
        return False
    return bool(torch.equal(x.col_indices().cpu(), torch.arange(n, dtype=x.col_indices().dtype))
                and torch.all(x.values() == 1))


def align_identity_features(graph: Graph, fitted_ids: Sequence) -> Graph:
    """``graph`` with its identity features re-indexed to the nodes a featureless model was fitted on.

    Without node features, node ``v``'s feature is the one-hot vector of its *row* in the fitted graph, so a
    graph given later (the same nodes in another order, or a subgraph) must give each node the row of its id
    there, not of its own position: else every node is embedded as another one. A node id the model was not
    fitted on has no feature row: :class:`InputError`. ``graph`` itself when its ids are the fitted ones, in order.
    """
    ids = list(graph.node_ids)
    if ids == list(fitted_ids):
        return graph
    if graph.positional_ids:
        import warnings

        warnings.warn(f"the model was fitted without node features on {len(fitted_ids)} nodes, and this graph's "
                      f"{len(ids)} nodes have no ids: node k is embedded as the fitted node of id k. For a subgraph, "
                      "give each node's id in the fitted graph (node_ids; a PyG Data's n_id)",
                      UserWarning, stacklevel=4)  # the caller of VGAE.transform and the like
    try:
        position = {node: k for k, node in enumerate(fitted_ids)}
        columns = [position.get(node, -1) for node in ids]
    except TypeError:  # unhashable ids: compared by their text, as _distinct counts them
        position = {str(node): k for k, node in enumerate(fitted_ids)}
        columns = [position.get(str(node), -1) for node in ids]
    missing = [node for node, c in zip(ids, columns) if c < 0]
    if missing:
        raise InputError(f"the model was fitted without node features, so it can embed only the nodes it was fitted on: "
                         f"{len(missing)} node(s) of this graph are new, e.g. {missing[0]!r}")
    import copy

    n, width = len(ids), len(position)
    out = copy.copy(graph)
    out.x = to_torch_csr(sp.csr_matrix((np.ones(n, np.float32), np.asarray(columns, np.int64), np.arange(n + 1)),
                                       shape=(n, width)))
    return out


#: dense feature matrices with at most this share of non-zero entries are stored as CSR, as graphvae's own loaders
#: store bag-of-words features: the first layer's X W and its gradient Xᵀ G then cost O(nnz) (at Cora's size and 1.3 %
#: density, one thread: 0.23 against 9.4 ms for the two dense products; 1.3 against 9.5 ms at 10 %), and a model
#: fitted on PyG's Planetoid ``Data`` (dense ``x``) is the one fitted on ``load_dataset`` (the same dropout draws)
SPARSE_FEATURES_DENSITY = 0.1


def numpy_ready(t: torch.Tensor) -> torch.Tensor:
    """``t`` detached on the CPU, in a dtype numpy has (bfloat16 and the like become float64)."""
    t = t.detach().cpu()
    return t.double() if t.is_floating_point() and t.dtype not in (torch.float16, torch.float32, torch.float64) else t


# --------------------------------------------------------------------------- user files

def read_edge_list(path: str | os.PathLike, header: bool | None = None, weighted: bool = False):
    """Read a two-column edge list (CSV, TSV or whitespace; ``#`` comments; ids may be strings).

    ``header=None`` detects a header row (known column names, or a non-numeric first row above
    numeric rows). A header of three or four fields whose first is empty and the others not (``,source,target``,
    ``,source,target,weight``: pandas' ``to_csv`` with its row index) is skipped with its whole first column, unless
    ``header=False``; so is the first column 0..R-1 below a header one name short after a leading space (the same,
    written with ``sep=" "``; another increasing integer first column there, a filtered frame's index, is refused:
    :class:`InputError`). Gzip-compressed files are read decompressed. Returns ``(src, dst, node_ids)`` with
    ``src``/``dst`` indices into ``node_ids``: integer ids sorted numerically when every id is an integer, else in
    order of first appearance. With ``weighted=True`` an optional third column of edge weights is accepted (finite,
    non-negative) and a :class:`graphvae.data.graph_files.RawEdges` is returned.
    """
    with collection_paused():  # millions of rows, lists and ids: see _read_rows
        return _read_edge_list(path, header, weighted)


def _read_edge_list(path: str | os.PathLike, header: bool | None, weighted: bool):
    header = check_optional_bool(header, "header")
    p = readable_file(path, "edge-list file")
    text = _read_text(p, "edge list")
    fast = _plain_edge_list(p, text, header, weighted)
    if fast is not None:
        return fast
    lines, rows = _text_rows(p, text, "edge list")
    other = _other_graph_format([lines[n - 1] for n, _ in rows[:5]])
    if other is not None:
        name, suffix = other
        if p.suffix.lower() == ".gz":
            raise InputError(f"{p}: this is a gzip-compressed {name} file, read as an edge list because of its name: "
                             f"graphvae reads {name} uncompressed (gunzip it, and give the {suffix} file)")
        raise InputError(f"{p}: this is a {name} file, read as an edge list because of its name: graphvae picks the "
                         f"reader by the suffix (name it {p.stem}{suffix})")
    detected, guessed = None, header is None
    first = rows[0][1] if rows else []
    # pandas' DataFrame.to_csv(path) writes its row index first, under a header field with no name (",source,target"):
    # that column names no node (read as edges, every row number became a source and every target a weight)
    index_column = _pandas_index_header(first, header)
    if index_column:
        rows, header, guessed = [(n, fields[1:]) for n, fields in rows], True, False
        detected = lines[rows[0][0] - 1].strip()
    if header is None:
        header = bool(rows) and _looks_like_header(rows)
        detected = lines[rows[0][0] - 1].strip() if header else None
    # pandas' to_csv(sep=" ") with its row index: the header's empty first field is lost to the leading space
    # (" source target"), so the header has one name fewer than the rows have fields
    spaced_index = bool(header) and not index_column and len(rows) > 1 and lines[rows[0][0] - 1][:1].isspace() \
        and len(rows[1][1]) == len(first) + 1
    if header:
        rows = rows[1:]
    if spaced_index and len(first) in (2, 3) and all(len(fields) == len(first) + 1 and fields[0] == str(k)
                                                     for k, (_, fields) in enumerate(rows)):
        # the first column is pandas' default index 0..R-1: skipped, as under the ",source,target" header above
        rows, index_column, spaced_index = [(n, fields[1:]) for n, fields in rows], True, False
    elif spaced_index and len(first) in (2, 3) and len(rows) > 1 \
            and _increasing_integers([fields[0] for _, fields in rows]):
        # another index (a filtered frame's, or one from 1): read as edges, it became the sources and the targets
        # the weights. A first column that is no such index is read as a source (a header without the weight's name)
        raise InputError(f"{p}, line {rows[0][0]}: {len(first) + 1} fields below a header of {len(first)} names, "
                         f"and the first column is no row index 0..{len(rows) - 1} to skip{_SPACED_INDEX}")
    if not rows:
        raise InputError(f"{p}: no edges")
    width = len(rows[0][1]) if weighted and len(rows[0][1]) == 3 else 2
    for n, fields in rows:
        if len(fields) != width or not all(fields):
            expected = "3 columns (source, target, weight)" if width == 3 else "2 columns (source, target)"
            got = f"{len(fields)}" if len(fields) != width else "an empty field"
            hint = _NETWORKX_DICTS if len(fields) > 2 and fields[2].startswith("{") else ""
            raise InputError(f"{p}, line {n}: expected {expected}, got {got}: {lines[n - 1]!r}{hint}")
    ends = np.array([f[:2] for _, f in rows], dtype=object)
    ids, index = _index_ids(ends.ravel())
    index = index.reshape(-1, 2)
    lonely = lines[rows[0][0] - 1].strip() if guessed and _lonely_first_row(ids, index) else None
    if not weighted:
        return index[:, 0], index[:, 1], ids
    from .graph_files import RawEdges, check_weights

    weight = None
    if width == 3:
        for n, fields in rows:
            if not _is_number(fields[2]):
                hint = (_NETWORKX_DICTS if fields[2].startswith("{") else _SPACED_INDEX if spaced_index else
                        " (if it is a header, give --header)" if guessed and not header and n == rows[0][0] else "")
                raise InputError(f"{p}, line {n}: edge weight {fields[2]!r} is not a number{hint}")
        weight = check_weights([float(f[2]) for _, f in rows], str(p), [n for n, _ in rows])
    return RawEdges(index[:, 0], index[:, 1], ids, weight, header=detected, possible_header=lonely,
                    index_column=index_column)


#: the advice for networkx's default ``write_edgelist`` output, ``0 1 {}`` or ``0 1 {'weight': 4}``
_SPACED_INDEX = (" (the header has one name fewer than the rows have fields, after a leading space: pandas' "
                 "to_csv(sep=' ') writes its row index so; write it with index=False)")
_NETWORKX_DICTS = (" (networkx's write_edgelist writes each edge's attributes as a {...} dict: write with data=False, "
                   "or data=['weight'] for a weight column)")


def _other_graph_format(head: list[str]) -> tuple[str, str] | None:
    """``(format, suffix)`` when the first lines ``head`` of a file read as an edge list open a GraphML, GEXF, GML or
    Pajek file (saved under another suffix: ``g.xml``, ``g.txt``), else ``None``."""
    text = "\n".join(head).lstrip().lower()
    if text.startswith("<"):  # <?xml ...>, <graphml>, <gexf>
        return ("GEXF", ".gexf") if "<gexf" in text else ("GraphML", ".graphml") if "<graphml" in text else None
    if re.match(r"(creator\s.*\n\s*)?graph\s*\[", text):
        return "GML", ".gml"
    if re.match(r"\*(vertices|network|arcs|edges)\b", text):
        return "Pajek", ".net"
    return None


def _lonely_first_row(ids: list, index: np.ndarray) -> bool:
    """Whether the first row, read as an edge, joins two string ids that no other row has (an isolated 2-node
    component): a header of column names that are not known ones, such as ``gene1,gene2``, reads so."""
    if len(index) < 2 or isinstance(ids[0], int) or index[0, 0] == index[0, 1]:
        return False
    counts = np.bincount(index.ravel(), minlength=len(ids))
    return bool(counts[index[0, 0]] == 1 and counts[index[0, 1]] == 1)


def _read_rows(p: Path, what: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The file's lines and its data rows ``(line number, fields)``, skipping blank and ``#`` lines."""
    with collection_paused():  # a row is a list and a tuple: millions of them, which collections would walk again
        return _read_rows_of(p, what)


def _read_rows_of(p: Path, what: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    return _text_rows(p, _read_text(p, what), what)


def _read_text(p: Path, what: str) -> str:
    """The file's text (UTF-8; every line ending made ``\\n``; a gzip file decompressed, as SNAP ships its edge
    lists: ``web-Google.txt.gz``; a byte-order mark at the start of a line dropped, as files joined with ``cat``
    hold one where each began: it made the line's first id another node), or :class:`InputError` naming a binary
    format."""
    text = _decoded_text(p, what)
    return text.replace("\n\ufeff", "\n") if "\ufeff" in text else text


def _decoded_text(p: Path, what: str) -> str:
    with open(p, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return _gunzipped_text(p, what)
    try:  # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first node id
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        kind = ("a numpy .npy array" if magic.startswith(b"\x93NUMPY") else
                "a zip archive (such as .npz)" if magic.startswith(b"PK\x03\x04") else None)
        raise InputError(f"{p}: not a text {what} (cannot decode as UTF-8)" + (
            f"; it is {kind}: {_BINARY_HINTS[what]}" if kind and what in _BINARY_HINTS else "")) from None


def _gunzipped_text(p: Path, what: str) -> str:
    """The text of the gzip file ``p``, line endings made ``\\n`` as ``Path.read_text`` makes them."""
    import gzip
    import zlib

    try:
        data = gzip.decompress(p.read_bytes())
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError; a cut file ends early
        raise InputError(f"{p}: a damaged gzip file ({e or 'it ends early'})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{p}: the gzip file does not hold a text {what} (cannot decode as UTF-8)") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _text_rows(p: Path, text: str, what: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The lines of ``text`` and its data rows ``(line number, fields)``, as :func:`_read_rows` gives them."""
    # read_text made every line end "\n"; str.splitlines would also break lines at form feeds, \x1c-\x1e, \x85 and
    # \u2028, which a node id may hold (and graphvae's CSV writer quotes)
    lines, hashed = text.split("\n"), "#" in text  # no '#' anywhere (most large files): no comment to look for
    data = [(n, line) for n, line in enumerate(lines, 1)
            if line and not line.isspace() and not (hashed and line.lstrip().startswith("#"))]
    sep = _separator(line for _, line in data)
    if sep != "\t" and data and all(";" in line for _, line in data):  # a European CSV: ';' fields, ',' decimals
        raise InputError(f"{p}: every line holds ';': graphvae reads comma-, tab- or space-separated {what}s "
                         f"(replace the ';' separators, and decimal commas by points)")
    if "\x00" in text and sys.version_info < (3, 11):
        nul = next((n for n, line in data if "\x00" in line), None)
        if nul is not None:
            raise InputError(f"{p}, line {nul}: a NUL character, which Python 3.10's CSV reader cannot read (Python 3.11 "
                             f"and later can)")
    rows = list(zip((n for n, _ in data), _split_lines([line for _, line in data], sep)))
    if hashed:
        _check_comments(p, lines, rows, sep)
    return lines, rows


def _split_lines(lines: list[str], sep: str | None) -> list[list[str]]:
    """The fields of each line, as :func:`_split` gives them: split at ``sep`` where no line holds a quote (or a NUL,
    which the CSV reader refuses), else one CSV reader for all the lines (a reader per line cost 4 of the 8 s of
    reading a million-edge list), or each line on its own where a quote left open made the reader join lines."""
    if sep is None:
        return [line.split() for line in lines]
    if not any('"' in line or "\x00" in line for line in lines):  # no quoting: the CSV reader's fields, 3x faster
        return [[f.strip() for f in line.split(sep)] for line in lines]
    reader = csv.reader(lines, delimiter=sep)
    rows = [[f.strip() for f in fields] for fields in reader]
    if len(rows) == len(lines) and reader.line_num == len(lines):
        return rows
    return [_split(line, sep) for line in lines]


def _check_comments(p: Path, lines: list[str], rows: list[tuple[int, list[str]]], sep: str | None) -> None:
    """:class:`InputError` if a ``#`` line, read as a comment, names a field that other lines hold (``#python,#ml``
    beside ``user1,#python``: hashtag ids, whose edges were silently lost). Quoted (``"#ml"``) it is data."""
    comments = {f: n for n, line in enumerate(lines, 1) if line.lstrip().startswith("#")
                for f in _split(line.strip(), sep) if f.startswith("#")}
    if not comments:  # most files: no comment line, nothing to scan
        return
    shared = next((f for _, fields in rows for f in fields if f in comments), None)
    if shared is not None:
        raise InputError(f"{p}: line {comments[shared]} starts with '#', so it is read as a comment, but {shared!r} is "
                         f"a field of other lines: quote the fields that start with '#' (\"{shared}\")")


#: what a binary file given where graphvae reads text should be instead
_BINARY_HINTS = {
    "edge list": "a graph is read from .npz (scipy.sparse.save_npz of the adjacency), GraphML, GML, GEXF, Pajek or a "
                 "CSV/TSV edge list",
    "feature file": "features are read from .npy (numpy.save), a scipy.sparse .npz (save_npz), the .emb/.npz of "
                    "graphvae embed --out, or a CSV/TSV keyed by node id",
    "labels file": "labels are read from a CSV/TSV of node id and label",
}


def _separator(lines) -> str | None:
    """One field separator for the whole file: a tab if any data line has one outside double quotes (TSV, whose ids
    may contain commas), else a comma if any has one (CSV), else ``None`` (runs of whitespace). A tab inside a quoted
    CSV field (``"a<TAB>b",c``, as graphvae's CSV writer quotes such an id) does not make the file TSV."""
    found = None
    for line in lines:
        if "\t" in line and ('"' not in line or "\t" in _QUOTED.sub("", line)):
            return "\t"
        if found is None and "," in line:
            found = ","
    return found


#: a double-quoted CSV field (doubled quotes inside it included)
_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _split(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=sep))]


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _looks_like_header(rows: list) -> bool:
    first = rows[0][1]
    if all(f.strip().lower() in _HEADER_WORDS for f in first):
        return True
    return len(rows) > 1 and not any(map(_is_number, first)) and all(map(_is_number, rows[1][1]))


def _pandas_index_header(first: list[str], header: bool | None) -> bool:
    """Whether the first row's fields ``first`` are pandas' ``to_csv`` header with its row index (``,source,target``,
    the index column unnamed), unless the caller said there is no header."""
    return header is not False and len(first) in (3, 4) and first[0] == "" and all(first[1:])


def _increasing_integers(fields: list[str]) -> bool:
    """Whether ``fields`` are integers written canonically in increasing order (as a pandas row index)."""
    try:
        values = [int(f) for f in fields]
    except ValueError:
        return False
    return all(str(v) == f for v, f in zip(values, fields)) and all(a < b for a, b in zip(values, values[1:]))


def _plain_edge_list(p: Path, text: str, header: bool | None, weighted: bool):
    """What :func:`_read_edge_list` returns for ``text``, when the file is a plain edge list (``#`` comment lines
    only above the data, no quotes, rows of one width, an optional weight column); else ``None``, and the general
    reader (every layout, every error message) reads it.

    Canonical integer ids are parsed by numpy's C reader (30x faster than the general reader, whose Python loops cost
    about 2 µs per edge: a 2M-edge CSV in 0.3 against 4.3 s); other ids are split by ``str`` methods mapped over the
    lines, without a list per row, and indexed as the general reader indexes them. Anything this path does not read
    exactly as the general reader would falls back to it: a row of another width, an empty field, a ``#`` or ``;``
    among the data, a weight that is no number or that :func:`check_weights` refuses, a pandas index column.
    """
    if '"' in text or "\x00" in text:
        return None
    heads: list[tuple[int, str]] = []  # the first two data lines, (line number, line)
    start, number, data_start = 0, 0, None
    while len(heads) < 2 and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line, number = text[start:end], number + 1
        if line.lstrip().startswith("#"):
            if heads:  # a comment below the first data line: the general reader checks it (hashtag ids)
                return None
        elif line and not line.isspace():
            heads.append((number, line))
            data_start = start if data_start is None else data_start
        start = end + 1
    if not heads or _other_graph_format([line for _, line in heads]) is not None:
        return None
    body = text[data_start:]
    sep = "\t" if "\t" in body else "," if "," in body else None  # _separator's choice for lines without quotes
    rows = list(zip((n for n, _ in heads), _split_lines([line for _, line in heads], sep)))
    first = rows[0][1]
    if _pandas_index_header(first, header):
        return None  # pandas' index column (",source,target"): the general reader skips it
    guessed = header is None
    detected = heads[0][1].strip() if guessed and _looks_like_header(rows) else None  # said in cleaning
    if header or detected is not None:
        if heads[0][1][:1].isspace() or len(rows) < 2:  # possibly pandas' to_csv(sep=" ") index; or no edge
            return None
        body, heads, rows = body[len(heads[0][1]) + 1:], heads[1:], rows[1:]
    width = 3 if weighted and len(rows[0][1]) == 3 else 2
    if len(rows[0][1]) != width:
        return None
    parsed = _integer_ends(body, sep, width)
    if parsed is not None:
        (ids, index), weight = unique_inverse(parsed[0].ravel()), parsed[1]
        ids = ids.tolist()
    else:
        parsed = _split_ends(body, sep, width)
        if parsed is None:
            return None
        (ids, index), weight = _index_ids(parsed[0]), parsed[1]
    index = index.reshape(-1, 2)
    if not weighted:
        return index[:, 0], index[:, 1], ids
    from .graph_files import RawEdges, check_weights

    if weight is not None:
        try:
            weight = check_weights(weight, str(p))
        except InputError:  # said again with its line number
            return None
    lonely = heads[0][1].strip() if guessed and _lonely_first_row(ids, index) else None
    return RawEdges(index[:, 0], index[:, 1], ids, weight, header=detected, possible_header=lonely)


def _integer_ends(body: str, sep: str | None, width: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The ``[E, 2]`` int64 ends and the float64 weights (width 3) of ``body``'s rows when numpy's C reader parses
    every id as an integer written canonically, else ``None``."""
    import io
    import warnings

    dtype = np.dtype([("ends", np.int64, (2,)), ("weight", np.float64)]) if width == 3 else np.int64
    try:
        with warnings.catch_warnings():
            # numpy < 2.3 (the newest on Python 3.10) reads an integer field that int() refuses ("1.5", "1e3", one
            # beyond int64) through a float, with only a DeprecationWarning: 1.5 became node 1. Later numpy refuses.
            warnings.simplefilter("error", DeprecationWarning)
            table = np.loadtxt(io.StringIO(body), dtype=dtype, delimiter=sep, comments=None, ndmin=4 - width)
    except (ValueError, OverflowError, TypeError, DeprecationWarning):
        return None
    ends, weight = (table["ends"], table["weight"]) if width == 3 else (table, None)
    if len(ends) == 0 or ends.shape[1] != 2 or not _canonical_integers(body):
        return None
    return ends, weight


def _split_ends(body: str, sep: str | None, width: int) -> tuple[np.ndarray, list[float] | None] | None:
    """The ends ``[e0 src, e0 dst, e1 src, ...]`` (an object array of the fields, stripped as :func:`_split_lines`
    strips them) and the weights (width 3) of ``body``'s rows, when every row has ``width`` non-empty fields and no
    ``#`` or ``;`` is among them; else ``None``."""
    from itertools import chain
    from operator import methodcaller

    if "#" in body or ";" in body:  # a comment or hashtag id below the data; a European CSV: the general reader's
        return None
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines or "" in lines:  # blank lines: the general reader skips them
        return None
    if sep is None:
        rows = list(map(str.split, lines))
        if set(map(len, rows)) != {width}:
            return None
        fields = list(chain.from_iterable(rows))
    else:
        if set(map(methodcaller("count", sep), lines)) != {width - 1}:
            return None
        fields = list(map(str.strip, sep.join(lines).split(sep)))
    if "" in fields:
        return None
    ends = np.empty(2 * len(lines), dtype=object)
    ends[0::2], ends[1::2] = fields[0::width], fields[1::width]
    if width == 2:
        return ends, None
    try:
        return ends, list(map(float, fields[2::width]))
    except ValueError:
        return None


def _canonical_integers(text: str) -> bool:
    """Whether no field of ``text`` that numpy read as an integer is written other than ``str(int(field))`` would
    write it: no ``+`` or ``-0`` at a field's start and no ``0`` followed by a digit there (``0.5`` and ``1e+05``,
    weights, pass). The general reader keeps such ids as strings (``007`` and ``7`` are two nodes)."""
    b = np.frombuffer(text.encode() + b"\n", dtype=np.uint8)  # a last byte that starts no field
    starts = np.flatnonzero(~_IN_NUMBER[b[:-1]]) + 1  # after a byte that cannot sit inside a number, a field starts
    starts = np.r_[0, starts[starts < b.size - 1]]
    first, second = b[starts], b[starts + 1]
    return not ((first == ord("+")) | ((first == ord("0")) & _IN_NUMBER[second] & (second >= ord("0")))
                | ((first == ord("-")) & (second == ord("0")))).any()  # +1; 07, 00; -0, -07


#: the bytes a number's text may hold (digits, point, exponent, signs), as a lookup table
_IN_NUMBER = np.zeros(256, dtype=bool)
_IN_NUMBER[np.frombuffer(b"0123456789.eE+-", dtype=np.uint8)] = True


def _index_ids(raw: np.ndarray) -> tuple[list, np.ndarray]:
    """Map raw string ids to 0..N-1 (numeric order for integer ids, else first appearance)."""
    # integers only when every id is one written canonically ("7", "-3"; not "007", "+1", "1_000", "١" or a number
    # beyond int64): str(int(s)) == s, so that no two distinct ids merge and every id is written back as it was read
    try:
        values = [int(s) for s in raw]
    except ValueError:
        values = None
    as_int = None
    if values and all(str(v) == s for v, s in zip(values, raw)) and -2**63 <= min(values) and max(values) < 2**63:
        as_int = np.array(values, dtype=np.int64)
    if as_int is not None:
        ids, index = unique_inverse(as_int)
        return ids.tolist(), index.astype(np.int64)
    # a dict in first-appearance order: memory O(total id length). np.unique(raw.astype(str)) made a fixed-width
    # array of (2 x edges) x (longest id) characters: 17 GB for 2M edges with URL ids of up to 345 characters
    values = raw.tolist()
    ids = list(dict.fromkeys(values))
    position = dict(zip(ids, range(len(ids))))
    return ids, np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))


def read_features(path: str | os.PathLike, node_ids: Sequence) -> np.ndarray | sp.csr_matrix:
    """Node features from ``.npy`` or a scipy.sparse ``.npz`` (row ``i`` = node ``node_ids[i]``; the latter returned
    sparse), CSV/TSV keyed by node id (first column), or graphvae's own ``.emb``/``.npz`` embedding files keyed by
    node id (``embed --out``: embeddings as features)."""
    p = readable_file(path, "feature file")
    if p.suffix.lower() in (".emb", ".npz"):
        return _embedding_features(p, node_ids)
    if p.suffix.lower() == ".npy":  # X.NPY too, as .emb/.npz above and the graph readers' suffixes
        try:
            x = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:  # EOFError: an empty file
            raise InputError(f"{p}: not a readable .npy array ({e or 'empty file'})") from None
        if not np.issubdtype(x.dtype, np.number):
            raise InputError(f"{p}: features must be numeric, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[0] != len(node_ids):
            raise InputError(f"{p}: feature matrix has shape {x.shape} but the graph has {len(node_ids)} nodes "
                             f"(expected a 2-D array of {len(node_ids)} rows)")
        return as_float32(x, f"{p}: features")
    lines, rows = _read_rows(p, "feature file")
    position = {str(i): k for k, i in enumerate(node_ids)}
    # a header: column names, or numbered columns under an empty or id-like name (pandas' to_csv with the index:
    # ",0,1,2", or "id,0,1,2" with index_label="id"). A first row of feature values under an unknown node id is
    # data, refused below as every other row with an unknown id.
    id_column = "first column is the node id"
    if rows and _feature_header(rows[0][1], position):
        (line, header), rows = rows[0], rows[1:]
        if rows and _pandas_row_index(header, rows, lines[line - 1][:1].isspace()):  # ids in the second column
            rows = [(n, fields[1:]) for n, fields in rows]
            id_column = "second column is the node id, after pandas' index"
        elif _ids_beside_pandas_index(header, rows, position):
            raise InputError(f"{p}: the first column is pandas' row index (the header starts with an empty name) and "
                             f"the second, {header[1]!r}, holds a different node id on every row: name that column "
                             f"'id' to read the ids from it, or write the file with DataFrame.to_csv(path, "
                             f"index=False), the ids first")
    if not rows:
        raise InputError(f"{p}: no feature rows")
    width = len(rows[0][1]) - 1
    x = np.full((len(node_ids), width), np.nan, dtype=np.float64)
    seen = np.zeros(len(node_ids), dtype=bool)
    for n, fields in rows:
        if len(fields) - 1 != width or width < 1:
            raise InputError(f"{p}, line {n}: expected a node id and {width} feature values, got {len(fields)} fields")
        k = position.get(fields[0])
        if k is None:
            from .graph_files import NOT_IN_EDGE_LIST

            raise InputError(f"{p}, line {n}: node id {fields[0]!r} is not in the graph (a feature CSV's "
                             f"{id_column}; {NOT_IN_EDGE_LIST[2:]}")
        if seen[k]:
            raise InputError(f"{p}, line {n}: node id {fields[0]!r} has a second feature row")
        try:
            x[k] = [float(v) for v in fields[1:]]
        except ValueError:
            raise InputError(f"{p}, line {n}: non-numeric feature value") from None
        if not np.isfinite(x[k]).all() or (np.abs(x[k]) > np.finfo(np.float32).max).any():
            raise InputError(f"{p}, line {n}: features contain NaN or inf, or a magnitude above float32's 3.4e+38")
        seen[k] = True
    if not seen.all():
        missing = [node_ids[i] for i in np.flatnonzero(~seen)[:3]]
        raise InputError(f"{p}: {int((~seen).sum())} graph nodes have no feature row (e.g. {missing})")
    return x.astype(np.float32)


def _embedding_features(p: Path, node_ids: Sequence) -> np.ndarray | sp.csr_matrix:
    """The rows of a ``.emb``/``.npz`` embedding file, in the graph's node order (each node exactly one row); a
    scipy.sparse ``.npz`` (``save_npz``: bag-of-words features) holds one row per node in the graph's order, as
    ``.npy``, and stays sparse."""
    from .embedding_files import load_embeddings
    from .graph_files import NOT_IN_EDGE_LIST

    if p.suffix.lower() == ".npz" and _scipy_npz(p):
        try:
            x = sp.load_npz(p).tocsr()
        except (ValueError, OSError, KeyError) as e:
            raise InputError(f"{p}: not a readable scipy.sparse .npz ({str(e).splitlines()[0] if str(e) else e!r})") \
                from None
        if x.ndim != 2 or x.shape[0] != len(node_ids):
            raise InputError(f"{p}: sparse feature matrix has shape {x.shape} but the graph has {len(node_ids)} "
                             f"nodes (expected {len(node_ids)} rows, in the graph's node order)")
        return x
    ids, z = load_embeddings(p)
    position = {str(i): k for k, i in enumerate(node_ids)}
    unknown = next((i for i in ids if i not in position), None)
    if unknown is not None:
        raise InputError(f"{p}: node id {unknown!r} is not in the graph{NOT_IN_EDGE_LIST}")
    if len(ids) < len(node_ids):
        rows = set(ids)
        missing = [node for node in node_ids if str(node) not in rows][:3]
        raise InputError(f"{p}: {len(node_ids) - len(ids)} graph nodes have no feature row (e.g. {missing})")
    x = np.empty(z.shape, dtype=np.float64)
    x[[position[i] for i in ids]] = z
    return as_float32(x, f"{p}: features")


def _scipy_npz(p: Path) -> bool:
    """Whether the ``.npz`` archive ``p`` holds a scipy.sparse matrix (``save_npz`` writes ``format`` and ``shape``)."""
    import zipfile

    try:
        with zipfile.ZipFile(p) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False  # said by the embedding reader
    return {"format.npy", "shape.npy"} <= names


def _feature_header(first: list[str], position: dict) -> bool:
    """Whether a feature file's first row ``first`` is a header: a non-numeric column name, or numbered columns
    (``0,1,2``: pandas' default names) under a name that is empty, id-like or no node's; a row of numbers under a
    node of the graph is that node's features."""
    from .graph_files import ID_COLUMNS

    if not all(map(_is_number, first[1:])):
        return True
    if first[0] in position:
        return False
    return first[0].strip() == "" or first[0].strip().lower() in ID_COLUMNS or _increasing_integers(first[1:])


def _pandas_row_index(header: list[str], rows: list[tuple[int, list[str]]], spaced: bool) -> bool:
    """Whether a feature file's first column is pandas' row index above an id column (``DataFrame.to_csv(path)`` of
    a frame with an ``id`` column): a header ``,id,f1,...`` (or, written with ``sep=" "``, `` id f1 ...`` one name
    short after a leading space, ``spaced``, above an increasing integer column; without that space, ``id,features``
    above ``0,0.1,0.2`` is a hand-written header, keyed by its first column). Keyed by that index, each node got
    another row's features, its id among them."""
    from .graph_files import ID_COLUMNS

    first = rows[0][1]
    if len(header) == len(first) > 2 and header[0] == "":
        return header[1].strip().lower() in ID_COLUMNS
    return (spaced and len(header) + 1 == len(first) > 2 and header[0].strip().lower() in ID_COLUMNS
            and _increasing_integers([fields[0] for _, fields in rows]))


def _ids_beside_pandas_index(header: list[str], rows: list[tuple[int, list[str]]], position: dict) -> bool:
    """Whether a feature file's first column is pandas' row index beside a column of ids under a name
    :func:`_pandas_row_index` does not know (``,user,f1,...`` from ``DataFrame.to_csv(path)``): every row's second
    field a different node of the graph. Keyed by the row index, each node got another row's features, its id among
    them (no error where the ids are 0..n-1), so the file is refused with how to name the column."""
    from .graph_files import ID_COLUMNS

    if not (len(rows) > 1 and len(header) == len(rows[0][1]) > 2 and header[0] == ""
            and not _is_number(header[1]) and header[1].strip().lower() not in ID_COLUMNS):
        return False
    second = [fields[1] for _, fields in rows if len(fields) > 1]
    return len(second) == len(rows) and all(v in position for v in second) and len(set(second)) == len(second)


def load_graph(edges: str | os.PathLike, features: str | os.PathLike | None = None,
               header: bool | None = None) -> Graph:
    """A user's graph from a graph file and an optional feature file.

    The format follows the suffix (:func:`graphvae.data.graph_files.read_graph_file`): ``.graphml``, ``.gml``,
    ``.gexf``, ``.net``/``.pajek``, ``.npz`` (scipy sparse adjacency), anything else an edge list with an
    optional third column of weights (see :func:`read_edge_list`). Weighted graphs carry ``edge_weight``.
    """
    from .graph_files import read_graph_file, to_graph

    raw = read_graph_file(edges, header)
    x = read_features(features, raw.node_ids) if features is not None else None
    return to_graph(raw, x)


# --------------------------------------------------------------------------- Python objects

def as_graph(obj: Any, features: Any = None) -> Graph:
    """Convert a networkx graph, a scipy sparse adjacency matrix, a PyG ``Data`` or the path of a graph file
    (read by :func:`load_graph`, as ``--edges`` of the CLI) into a cleaned :class:`Graph`.

    A :class:`Graph` is returned as it is (with ``features``, if given, replacing its own). ``features``: an
    ``[N, F]`` array, or for a graph file also the path of a feature file (as ``--features``), or for a networkx
    graph the name of a node attribute (or a list of names) holding each node's features: a number or a
    sequence of numbers per node, the names' values concatenated in order (PyG's ``from_networkx(G,
    group_node_attrs=...)``).
    """
    if isinstance(obj, (str, os.PathLike)):
        if isinstance(features, (str, os.PathLike)):
            return load_graph(obj, features)
        graph = load_graph(obj)
        return graph if features is None else as_graph(graph, features)
    if isinstance(obj, Graph):
        return _checked_graph(obj, features)
    if _is_pyg_data(obj):
        if obj.edge_index is None or obj.num_nodes is None:
            sparse = obj.edge_index is None and getattr(obj, "adj_t", None) is not None  # T.ToSparseTensor's output
            raise InputError("PyG Data needs edge_index and num_nodes" + (
                " (this one holds adj_t: data.edge_index = torch_geometric.utils.to_edge_index(data.adj_t)[0].flip(0))"
                if sparse else ""))
        # on the CPU first: a PyG user's Data may live on a GPU (``data.to("cuda")``)
        ei = np.asarray(numpy_ready(obj.edge_index) if isinstance(obj.edge_index, torch.Tensor) else obj.edge_index)
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise InputError(f"PyG Data: edge_index must have shape [2, E], got {list(ei.shape)}")
        if not np.issubdtype(ei.dtype, np.integer):
            raise InputError(f"PyG Data: edge_index must hold integer node indices, got dtype {obj.edge_index.dtype}")
        n = int(obj.num_nodes)
        if ei.size and (int(ei.min()) < 0 or int(ei.max()) >= n):
            counted = ("num_nodes" if "num_nodes" in obj else
                       f"PyG counts them from the {n} rows of x" if getattr(obj, "x", None) is not None else "edge_index")
            raise InputError(f"PyG Data: edge_index names node {int(ei.max()) if int(ei.min()) >= 0 else int(ei.min())} "
                             f"but the graph has {n} nodes ({counted}): endpoints must lie in 0..{n - 1}")
        x = features if features is not None else obj.x
        from .graph_files import RawEdges, check_weights, to_graph

        w = _pyg_edge_weight(obj)
        if isinstance(w, torch.Tensor):  # learned weights may require grad; bfloat16 has no numpy dtype
            w = numpy_ready(w)
        weight = None if w is None else check_weights(w, "edge_weight")
        if weight is not None and weight.shape != (ei.shape[1],):
            raise InputError(f"PyG Data: edge_weight must hold one weight per edge, shape [{ei.shape[1]}], "
                             f"got {list(weight.shape)}")
        key, ids = _pyg_node_ids(obj)
        if ids is not None and (len(ids) != int(obj.num_nodes) or _distinct(ids) != len(ids)):
            raise InputError(f"PyG Data: {key} must name each of the {int(obj.num_nodes)} nodes once, got "
                             f"{len(ids)} ids of which {_distinct(ids)} distinct")
        graph = to_graph(RawEdges(ei[0], ei[1], list(range(int(obj.num_nodes))) if ids is None else list(ids),
                                  weight), x)
        graph.positional_ids = ids is None
        for key in ("y", "train_mask", "val_mask", "test_mask", "name"):
            value = getattr(obj, key, None)
            if value is not None and key != "name":  # one entry a node (were copied unchecked, and to_pyg gave them back)
                _check_node_attribute(value, key, int(obj.num_nodes))
            if value is not None:
                setattr(graph, key, value.detach().cpu() if isinstance(value, torch.Tensor) else value)
        return graph
    if sp.issparse(obj):
        from .graph_files import from_scipy, to_graph

        graph = to_graph(from_scipy(obj), features)
        graph.positional_ids = True
        return graph
    try:
        import networkx as nx
    except ImportError:  # pragma: no cover
        nx = None
    if nx is not None and isinstance(obj, nx.Graph):
        from .graph_files import from_networkx, to_graph

        if isinstance(features, str) or (isinstance(features, (list, tuple)) and features
                                         and all(isinstance(name, str) for name in features)):
            features = node_attribute_features(obj, [features] if isinstance(features, str) else list(features))
        return to_graph(from_networkx(obj), features)
    hint = ""
    if isinstance(obj, (np.ndarray, torch.Tensor)) and obj.ndim == 2:
        square, edge_list = obj.shape[0] == obj.shape[1], obj.shape[0] == 2 and not obj.is_floating_point() \
            if isinstance(obj, torch.Tensor) else obj.shape[0] == 2 and np.issubdtype(obj.dtype, np.integer)
        hint = (" (an edge list of shape [2, E] like PyG's edge_index: pass torch_geometric.data.Data(edge_index=it, "
                "num_nodes=N), or a file of its pairs)" if edge_list and not square else
                " (a dense adjacency: pass scipy.sparse.csr_matrix(it))" if square else "")
    raise InputTypeError(f"cannot make a graph from {type(obj).__name__}{hint}: pass a networkx graph, a scipy sparse "
                         "adjacency matrix, a torch_geometric Data or the path of a graph file")


def _pyg_node_ids(data: Any) -> tuple[str, list | None]:
    """A PyG ``Data``'s node ids and the attribute they came from: ``node_ids`` (as :meth:`Graph.to_pyg` writes
    them), else ``n_id`` (each node's index in the whole graph, which PyG's loaders put on the subgraphs they
    sample); ``None`` if neither."""
    for key in ("node_ids", "n_id"):
        ids = getattr(data, key, None)
        if ids is not None:
            return key, plain_ids(ids)
    return "node_ids", None


def _pyg_edge_weight(data: Any) -> Any:
    """A PyG ``Data``'s edge weights: ``edge_weight`` (as ``GCNConv`` takes them), else ``weight`` (where
    ``torch_geometric.utils.from_networkx`` puts a networkx graph's ``weight`` attribute, which :func:`as_graph` reads
    from the networkx graph itself); ``None`` if neither. ``edge_attr`` (edge features, which may be anything) is not
    read as weights: a warning says it is ignored, beside weights too."""
    weights = next((getattr(data, key) for key in ("edge_weight", "weight") if getattr(data, key, None) is not None),
                   None)
    if getattr(data, "edge_attr", None) is not None:
        import warnings

        warnings.warn("PyG Data: edge_attr is ignored (edge features are not edge weights); " + (
            "the weights are read from data.edge_weight" if getattr(data, "edge_weight", None) is not None else
            "the weights are read from data.weight" if weights is not None else
            "store weights as data.edge_weight to use them"), UserWarning, stacklevel=4)
    return weights


def _distinct(ids: Sequence) -> int:
    """How many distinct node ids (as networkx tells nodes apart: ``3`` and ``"3"`` are two; by their text where
    an id cannot be hashed)."""
    try:
        return len(set(ids))
    except TypeError:
        return len(set(map(str, ids)))


def node_attribute_features(g: Any, names: list[str]) -> np.ndarray:
    """``[N, F]`` float64 features of a networkx graph's nodes (in ``g.nodes`` order) from node attributes
    ``names``: each a number or a sequence of numbers of the same length on every node, concatenated."""
    columns = []
    for name in names:
        values = []
        for node, data in g.nodes(data=True):
            if name not in data:
                raise InputError(f"networkx graph: node {node!r} has no attribute {name!r} (features from node "
                                 f"attributes need it on every node)")
            value = data[name]
            if isinstance(value, torch.Tensor):
                value = numpy_ready(value).numpy()
            try:
                row = np.asarray(value, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise InputError(f"networkx graph: node {node!r} attribute {name!r} is not a number or a sequence "
                                 f"of numbers: {value!r}") from None
            if values and row.size != values[0].size:
                raise InputError(f"networkx graph: node attribute {name!r} has {values[0].size} number(s) on the "
                                 f"first node but {row.size} on node {node!r}")
            values.append(row)
        columns.append(np.stack(values) if values else np.zeros((0, 0)))
    return np.concatenate(columns, axis=1)


def _checked_graph(graph: Graph, features: Any = None) -> Graph:
    """A :class:`Graph` built by hand, checked: ``edge_index`` an int64 ``[2, E]`` tensor of endpoints in
    ``0..N-1``, ``edge_weight`` one weight per edge, features converted to float32 (and replaced by ``features``
    if given). The same object when nothing changes; else a copy with its edges and attributes untouched."""
    import copy

    n, ei = int(graph.num_nodes), graph.edge_index
    if not isinstance(ei, torch.Tensor) or ei.dtype != torch.int64 or ei.dim() != 2 or ei.shape[0] != 2:
        raise InputError("Graph.edge_index must be an int64 torch tensor of shape [2, E] (graphvae.as_graph builds "
                         "graphs from networkx, scipy, PyG or files)")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        raise InputError(f"Graph.edge_index: endpoints must lie in 0..{n - 1}, got {int(ei.min())}..{int(ei.max())}")
    weight = getattr(graph, "edge_weight", None)
    if weight is not None:
        from .graph_files import check_weights

        w = check_weights(numpy_ready(weight) if isinstance(weight, torch.Tensor) else weight, "Graph.edge_weight")
        if w.shape != (ei.shape[1],):
            raise InputError(f"Graph.edge_weight must hold one weight per edge, shape [{ei.shape[1]}], got {list(w.shape)}")
        if not w.all():  # the readers drop such edges; here a weight-0 edge would still be a positive link
            raise InputError(f"Graph.edge_weight holds {int(np.sum(w == 0))} weight(s) of 0: an edge of weight 0 is no "
                             "edge (graphvae.as_graph and the graph readers drop them); leave those edges out")
    if "undirected_edges" not in graph.cleaning:  # not made by build_graph: check the invariant the models rely on
        _check_cleaned_edges(ei.numpy(), n)
    _check_node_ids(graph.node_ids, n, "Graph.node_ids")
    x = graph.x if features is None else features
    ready = (isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.dim() == 2 and x.shape[0] == n
             and x.layout in (torch.strided, torch.sparse_csr))
    if ready:  # float32 already, yet NaN or inf would only show later, blamed on the learning rate
        values = x if x.layout == torch.strided else x.values()
        bad = ~torch.isfinite(values)
        if bool(bad.any()):
            first = int(bad.nonzero()[0][0])  # a row of x, or a stored entry of the CSR matrix: its row follows
            row = first if x.layout == torch.strided else int(torch.searchsorted(x.crow_indices(), first, right=True)) - 1
            raise InputError(f"node features contain NaN or inf (first at row {row})")
    if ready and features is None:
        return graph
    out = copy.copy(graph)
    out.x = x if ready else _features(x, n)
    return out


def _check_node_attribute(value: Any, key: str, n: int) -> None:
    """:class:`InputError` unless a PyG ``Data``'s ``y`` or mask holds one entry a node (a mask: booleans)."""
    shape = tuple(getattr(value, "shape", (len(value),) if hasattr(value, "__len__") else ()))
    if not shape or shape[0] != n:
        raise InputError(f"PyG Data: {key} must hold one entry a node, {n} of them, got shape {list(shape)}")
    if key.endswith("_mask") and (len(shape) != 1 or (isinstance(value, torch.Tensor) and value.dtype != torch.bool)
                                  or (isinstance(value, np.ndarray) and value.dtype != np.bool_)):
        raise InputError(f"PyG Data: {key} must be a boolean mask of shape [{n}], got "
                         f"{getattr(value, 'dtype', type(value).__name__)} of shape {list(shape)}")


def _check_node_ids(ids: Sequence, n: int, what: str) -> None:
    """:class:`InputError` unless ``ids`` name each of the ``n`` nodes once (else two nodes share one embedding row)."""
    if len(ids) != n:
        raise InputError(f"{what} has {len(ids)} ids for {n} nodes")
    unhashable = next((i for i in ids if not isinstance(i, Hashable)), None)
    if unhashable is not None:  # embedding_dict and every lookup by id key on them
        raise InputError(f"{what}: a node id must be hashable (a string, a number, a tuple), got "
                         f"{type(unhashable).__name__} {unhashable!r}")
    distinct = _distinct(ids)
    if distinct != n:
        raise InputError(f"{what} must name each of the {n} nodes once, got {n} ids of which {distinct} distinct")


def _check_cleaned_edges(ei: np.ndarray, n: int) -> None:
    """A hand-built ``Graph.edge_index`` must be what :func:`build_graph` makes (each undirected edge once in each
    direction, no self-loops, no duplicates): else the normalized adjacency, the split and the likelihood silently
    see another graph (a one-way edge list split as "0 undirected edges")."""
    src, dst = ei[0], ei[1]
    hint = "build it with graphvae.build_graph(src, dst, num_nodes, x), which symmetrizes and cleans edge lists"
    if np.any(src == dst):
        raise InputError(f"Graph.edge_index holds self-loops ({int(np.sum(src == dst))}): {hint}")
    keys = np.sort(src * n + dst)
    if keys.size > 1 and np.any(keys[1:] == keys[:-1]):
        raise InputError(f"Graph.edge_index holds duplicate edges: {hint}")
    if not np.array_equal(keys, np.sort(dst * n + src)):
        raise InputError(f"Graph.edge_index is not symmetric (an edge listed in one direction only): {hint}")


def _is_pyg_data(obj: Any) -> bool:
    """A PyG ``Data`` (checked without importing torch_geometric, which only a PyG user has loaded)."""
    # any class of the MRO: a Batch of a DataLoader is a dynamically made DataBatch, a user's subclass lives elsewhere
    return any(c.__module__.startswith("torch_geometric.") for c in type(obj).__mro__) and hasattr(obj, "edge_index")
