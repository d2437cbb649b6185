"""The link-prediction split of Kipf & Welling (2016): hold out edges, pair them with sampled non-edges.

From the undirected edges, ``test`` (10%) and ``val`` (5%) are removed, each matched by as many
sampled non-edges; each count is rounded down (``floor(E * test)``, as in the paper's code), a product
that float rounding puts just below a whole number (``100 * 0.29 = 28.999...``) counting as that number. The training graph keeps the rest, so no held-out edge is visible to the
encoder in either direction, and no sampled non-edge is a true edge of the full graph. Everything
is vectorized (O(E log E)) and seeded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._keys import first_occurrences, is_member
from .._validation import InputError, InputTypeError
from .graph import Graph, as_graph


@dataclass
class LinkSplit:
    """A split graph: training edges in both directions, and ``[2, n]`` held-out pairs (``u < v``);
    ``train_edge_weight`` (aligned with ``train_edge_index``) when the graph is weighted."""

    graph: Graph
    train_edge_index: torch.Tensor
    val_pos: torch.Tensor
    val_neg: torch.Tensor
    test_pos: torch.Tensor
    test_neg: torch.Tensor
    train_edge_weight: torch.Tensor | None = None

    @property
    def num_nodes(self) -> int:
        return int(self.graph.num_nodes)

    @property
    def train_graph(self) -> Graph:
        """The graph the encoder sees: all nodes and features, training edges only (with their weights, if any)."""
        return Graph(self.graph.x, self.train_edge_index, self.num_nodes, self.graph.node_ids,  # clean by construction
                     cleaning={"undirected_edges": self.train_edge_index.shape[1] // 2},
                     edge_weight=self.train_edge_weight)


#: a LinkSplit's tensors of node pairs, each ``[2, n]`` int64 node indices of the split's graph
PAIR_FIELDS = ("train_edge_index", "val_pos", "val_neg", "test_pos", "test_neg")


def checked_split(split: LinkSplit) -> LinkSplit:
    """``split`` as the estimators train and validate on it, checked: its graph checked as a hand-built
    :class:`Graph` is (features, weights, one distinct hashable id a node), every pair tensor an int64 ``[2, n]``
    tensor of node indices of that graph, the training weights one a training edge. A split built by hand or edited
    (pairs of another graph, say) met torch's IndexError, or a validation pair out of range the misleading message
    "training diverged". The same object when nothing changes."""
    import dataclasses

    from .graph import _checked_graph

    if not isinstance(split.graph, Graph):
        raise InputError(f"LinkSplit.graph must be a graphvae Graph, got {type(split.graph).__name__} "
                         f"(graphvae.split_edges builds splits)")
    graph = _checked_graph(split.graph)
    n = int(graph.num_nodes)
    for name in PAIR_FIELDS:
        pairs = getattr(split, name)
        if not isinstance(pairs, torch.Tensor) or pairs.dtype != torch.int64 or pairs.dim() != 2 or pairs.shape[0] != 2:
            raise InputError(f"LinkSplit.{name} must be an int64 torch tensor of shape [2, n], got "
                             f"{type(pairs).__name__} {getattr(pairs, 'dtype', '')} of shape "
                             f"{list(getattr(pairs, 'shape', []))} (graphvae.split_edges builds splits)")
        if pairs.numel() and (int(pairs.min()) < 0 or int(pairs.max()) >= n):
            raise InputError(f"LinkSplit.{name}: node indices must lie in 0..{n - 1}, the split's graph's nodes, got "
                             f"{int(pairs.min())}..{int(pairs.max())} (pairs of another graph?)")
    weight = split.train_edge_weight
    if weight is not None and (not isinstance(weight, torch.Tensor) or tuple(weight.shape) != (split.train_edge_index.shape[1],)):
        raise InputError(f"LinkSplit.train_edge_weight must hold one weight per training edge, shape "
                         f"[{split.train_edge_index.shape[1]}], got {list(getattr(weight, 'shape', []))}")
    return split if graph is split.graph else dataclasses.replace(split, graph=graph)


def undirected_edges(graph: Graph) -> np.ndarray:
    """Each undirected edge once, as ``[2, E]`` with ``u < v``."""
    ei = graph.edge_index.numpy()
    keep = ei[0] < ei[1]
    return ei[:, keep]


def undirected_weights(graph: Graph) -> np.ndarray | None:
    """The weights of :func:`undirected_edges`' edges, in their order (``None`` for an unweighted graph)."""
    weight = getattr(graph, "edge_weight", None)
    if weight is None:
        return None
    ei = graph.edge_index.numpy()
    return np.asarray(weight, dtype=np.float32)[ei[0] < ei[1]]


def held_out_count(num_edges: int, fraction: float) -> int:
    """``floor(num_edges * fraction)``, the number of edges a fraction holds out, counting a product that float
    rounding leaves a hair below a whole number (``100 * 0.29 == 28.999999999999996``) as that number."""
    return int(math.floor(num_edges * fraction * (1 + 1e-12)))


def _fraction(value, name: str) -> float:
    """A held-out fraction as a float, or :class:`InputTypeError` for a value that is not a real number."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise InputTypeError(f"{name} must be a number in (0, 1), got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name} must be a number in (0, 1), got {value!r}") from None


def _edges_needed(fraction: float) -> int | None:
    """The fewest edges of which ``fraction`` holds out at least one (under :func:`held_out_count`); ``None`` when
    more than float arithmetic can count (a fraction below about 1e-15)."""
    inverse = 1 / fraction if fraction > 0 else math.inf
    if not inverse < 1e15:
        return None
    need = max(1, int(math.ceil(inverse)))
    for _ in range(3):  # ceil(1 / fraction) is off by at most one either way in floats
        if need > 1 and held_out_count(need - 1, fraction) >= 1:
            need -= 1
        elif held_out_count(need, fraction) < 1:
            need += 1
    return need


def check_splittable(edges: int, val: float = 0.05, test: float = 0.10) -> None:
    """:class:`InputError` unless ``edges`` undirected edges leave at least one test, one validation and one training
    edge (what :func:`split_edges` needs; the command line checks it before it says anything else)."""
    n_test, n_val = held_out_count(edges, test), held_out_count(edges, val)
    if n_test < 1 or n_val < 1 or edges - n_test - n_val < 1:
        needs = (_edges_needed(val), _edges_needed(test))
        need = f"at least {max(needs)}" if None not in needs else "far more"
        raise InputError(f"graph has {edges} undirected edges: too few to split ({need} are needed "
                         f"to hold out {test * 100:g}% test and {val * 100:g}% validation edges)")


def split_edges(graph: Graph, val: float = 0.05, test: float = 0.10, seed: int = 0) -> LinkSplit:
    """Seeded edge split with matched non-edges (see the module docstring).

    ``graph`` may also be what :func:`graphvae.data.graph.as_graph` converts (networkx, scipy sparse, PyG ``Data``);
    ``val`` and ``test`` are fractions in (0, 1) with a sum below 1 (each count rounded down, see the module
    docstring); ``seed`` is an integer of at least 0.
    """
    graph = as_graph(graph)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be an integer of at least 0, got {seed!r}")
    val, test = _fraction(val, "val"), _fraction(test, "test")
    if not (0 < val < 1 and 0 < test < 1 and val + test < 1):
        raise InputError(f"val and test fractions must be in (0, 1) with a sum below 1, got {val} and {test}")
    edges = undirected_edges(graph)
    n, e = int(graph.num_nodes), edges.shape[1]
    check_splittable(e, val, test)
    n_test, n_val = held_out_count(e, test), held_out_count(e, val)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(e)
    test_pos, val_pos, train = edges[:, perm[:n_test]], edges[:, perm[n_test:n_test + n_val]], edges[:, perm[n_test + n_val:]]
    negatives = sample_non_edges(edges, n, n_test + n_val, rng)
    train_ei = np.concatenate([train, train[::-1]], axis=1)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    weights = undirected_weights(graph)
    train_w = None if weights is None else t(np.tile(weights[perm[n_test + n_val:]], 2))  # both directions
    return LinkSplit(graph, t(train_ei), t(val_pos), t(negatives[:, n_test:]), t(test_pos), t(negatives[:, :n_test]),
                     train_w)


def sample_non_edges(edges: np.ndarray, num_nodes: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct node pairs ``u < v`` that are not edges, as ``[2, count]``, uniformly at random.

    Pairs are drawn uniformly and the edges and repeats rejected; when the draw would have to find nearly every
    non-edge of a dense graph (fewer than an eighth of all pairs left over once ``count`` are taken, where
    rejection slows to a coupon collector's crawl), the non-edges are listed (then O(E): such a graph has
    fewer than 16/7 E pairs) and ``count`` of them chosen without replacement.
    """
    n = num_nodes
    pairs = n * (n - 1) // 2
    available = pairs - edges.shape[1]
    if count > available:
        raise InputError(f"graph is too dense to sample {count} non-edges ({available} exist)")
    edge_keys = np.sort(edges[0].astype(np.int64) * n + edges[1])
    if 8 * (available - count) < pairs:
        u, v = np.triu_indices(n, 1)
        keys = u.astype(np.int64) * n + v
        keys = keys[~is_member(keys, edge_keys)]
        chosen = keys[rng.choice(keys.size, count, replace=False)]
        return np.stack([chosen // n, chosen % n])
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < count:
        m = max(2 * (count - chosen.size), 64)
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        keys = (lo * n + hi)[lo != hi]
        keys = keys[~is_member(keys, edge_keys)]
        keys = keys[~is_member(keys, np.sort(chosen))]
        chosen = np.concatenate([chosen, keys[first_occurrences(keys)]])  # drop repeats, keep sampling order
    chosen = chosen[:count]
    return np.stack([chosen // n, chosen % n])
