"""Audit 10, a practitioner's large graph: reading an edge list of string ids.

Pinned: the id mapping of an edge list with string ids (``user_123``, URLs) takes memory of the order of the ids'
total length, not (2 x edges) x (the longest id): ``np.unique(raw.astype(str))`` made a fixed-width array of that
size (17 GB peak for a 200k-node, 2M-edge list whose URL ids reach 345 characters; 1.5 GB now). The mapping itself
(first appearance order, edges) is checked against networkx's edge-list reader.
"""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import graphvae as gv
from graphvae.data.graph import read_edge_list


def _write_edges(path: Path, pairs: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{a},{b}\n" for a, b in pairs), encoding="utf-8")


def _pairs(num_edges: int, num_nodes: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    ends = rng.integers(0, num_nodes, size=(num_edges, 2))
    return [(f"user_{a}", f"https://example.org/p/{b}?q={'x' * int(b % 7)}") for a, b in ends if a != b]


def test_string_ids_match_networkx_reader(tmp_path: Path) -> None:
    """Node ids in first-appearance order and the edges between them are networkx's ``read_edgelist``'s."""
    path = tmp_path / "edges.csv"
    pairs = _pairs(300, 60)
    _write_edges(path, pairs)
    reference = nx.read_edgelist(path, delimiter=",", nodetype=str)
    graph = gv.load_graph(path)
    assert list(graph.node_ids) == list(reference.nodes)
    ids = list(graph.node_ids)
    ei = graph.edge_index.numpy()
    got = {frozenset((ids[u], ids[v])) for u, v in ei.T}
    assert got == {frozenset(e) for e in reference.edges}
    assert graph.num_nodes == reference.number_of_nodes()


def test_id_mapping_memory_does_not_scale_with_longest_id(tmp_path: Path) -> None:
    """One 20,000-character id among 4,000 short edge ends: the reader's peak allocation stays within a few MB
    (the old fixed-width array held 4,002 x 20,000 characters, 320 MB, and np.unique sorted a copy of it)."""
    path = tmp_path / "edges.csv"
    long_id = "https://example.org/" + "a" * 20_000
    pairs = _pairs(2000, 500, seed=1) + [(long_id, "user_0")]
    _write_edges(path, pairs)
    tracemalloc.start()
    try:
        src, dst, ids = read_edge_list(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.0f} MB to read a {path.stat().st_size // 1024} kB edge list"
    assert ids[int(src[-1])] == long_id and ids[int(dst[-1])] == "user_0"


def test_symmetrized_equals_the_pairwise_unique() -> None:
    """``symmetrized`` (1-d keys ``min * n + max``, one ``unique``) gives exactly what ``unique(dim=1)`` over both
    directions then ``u < v`` gave (the same pairs in the same order), on random directed pairs with self-loops,
    repeats and both directions; also empty. The 2-d ``unique`` took 13.7 s of each epoch of a masked model on a
    200k-node graph."""
    import torch

    from graphvae.objectives.masking import symmetrized, undirected_once

    def reference(pairs: torch.Tensor) -> torch.Tensor:
        once = undirected_once(torch.cat([pairs, pairs.flip(0)], dim=1).unique(dim=1))
        return torch.cat([once, once.flip(0)], dim=1)

    g = torch.Generator().manual_seed(0)
    for n, m in [(2, 5), (7, 30), (50, 400), (1000, 300)]:
        pairs = torch.randint(n, (2, m), generator=g)
        assert torch.equal(symmetrized(pairs), reference(pairs)), (n, m)
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert symmetrized(empty).shape == (2, 0)


def test_a_tsne_map_of_a_large_graph_draws_a_random_sample(monkeypatch, tmp_path: Path) -> None:
    """Above ``TSNE_MAX_POINTS`` codes a t-SNE map draws that many, each with its own label, and its title says so;
    a PCA map draws every code. (A 20k-node `classify --plot` spent 145 s in t-SNE, silently; 200k would take about
    30 minutes.)"""
    import collections

    from graphvae.evaluation import plots

    figures: list = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    monkeypatch.setattr(plots, "TSNE_MAX_POINTS", 40)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=100)
    z = rng.normal(size=(100, 4)) + 50.0 * labels[:, None]  # three far-apart groups, one per label
    plots.plot_latent_map(z, labels, tmp_path / "m.png", method="tsne")
    ax = figures[-1].axes[0]
    assert ax.get_title() == "t-SNE of the 4-D latent means, 40 random points of 100"
    drawn = {int(t.get_text()): len(c.get_offsets()) for c, t in zip(ax.collections, ax.get_legend().get_texts())}
    assert sum(drawn.values()) == 40 and all(drawn[k] <= v for k, v in collections.Counter(labels.tolist()).items())
    # each label's points form one tight cluster far from the others' (labels stayed with their rows)
    centres = {int(t.get_text()): c.get_offsets().mean(0) for c, t in zip(ax.collections, ax.get_legend().get_texts())}
    for c, t in zip(ax.collections, ax.get_legend().get_texts()):
        own = np.linalg.norm(c.get_offsets() - centres[int(t.get_text())], axis=1).max()
        other = min(np.linalg.norm(centres[int(t.get_text())] - v) for k, v in centres.items() if k != int(t.get_text()))
        assert own < other
    plots.plot_latent_map(z, labels, tmp_path / "m.png", method="pca")
    assert sum(len(c.get_offsets()) for c in figures[-1].axes[0].collections) == 100


def test_a_node_without_edges_is_explained(tmp_path: Path) -> None:
    """A labels or features file naming a node that has no edge (so the edge list never names it) says why the node
    is missing; networkx's reader of the same edge list has no such node either."""
    (tmp_path / "e.csv").write_text("a,b\nb,c\n")
    (tmp_path / "y.csv").write_text("a,x\nb,y\nc,x\nd,y\n")
    (tmp_path / "x.csv").write_text("a,1\nd,2\n")
    assert "d" not in nx.read_edgelist(tmp_path / "e.csv", delimiter=",")
    graph = gv.load_graph(tmp_path / "e.csv")
    from graphvae.data.graph import read_features
    from graphvae.data.graph_files import read_labels

    hint = r"is not in the graph.*a graph read from an edge list has only the nodes that have an edge"
    with pytest.raises(gv.InputError, match=r"y\.csv, line 4: node id 'd' " + hint):
        read_labels(tmp_path / "y.csv", graph.node_ids)
    with pytest.raises(gv.InputError, match=r"x\.csv, line 2: node id 'd' " + hint):
        read_features(tmp_path / "x.csv", graph.node_ids)


def test_classify_says_how_many_nodes_have_a_label(tmp_path: Path, monkeypatch, capsys) -> None:
    """``classify --labels`` on a partly labelled graph says how many nodes the probe uses (counted here from the
    files: 25 of networkx's 34 karate-club nodes, 2 clubs); fully labelled, it says nothing of the kind."""
    from graphvae.cli.main import main

    karate = nx.karate_club_graph()
    (tmp_path / "e.csv").write_text("".join(f"{u},{v}\n" for u, v in karate.edges))
    monkeypatch.chdir(tmp_path)
    for count, name in ((25, "part.csv"), (34, "all.csv")):
        (tmp_path / name).write_text("".join(f"{n},{karate.nodes[n]['club']}\n" for n in list(karate)[:count]))
        code = main(["classify", "--edges", "e.csv", "--labels", name, "--model", "vgae", "--epochs", "2",
                     "--seeds", "1", "--no-progress", "--workers", "1"])
        err = capsys.readouterr().err
        assert code in (0, None)
        note = "note: 25 of the 34 nodes have a label (2 classes): the probe is trained and scored on those"
        assert (note in err) == (count < 34), err


def test_npz_embeddings_keep_long_ids_small(tmp_path: Path) -> None:
    """``.npz`` output: ``np.load`` reads the ids and embeddings written (and graphvae's reader too), the ids member
    is deflated, and 2,000 ids of up to 300 characters take a fraction of what ``np.savez`` (fixed-width strings,
    stored) takes. Before: 288 MB of ids beside 13 MB of embeddings for 200k URL ids."""
    import zipfile

    from graphvae.data.embedding_files import load_embeddings, save_embeddings

    ids = [f"https://example.org/{'x' * (i % 300)}/{i}" for i in range(2000)]
    emb = np.random.default_rng(0).normal(size=(2000, 8)).astype(np.float32)
    save_embeddings(tmp_path / "z.npz", emb, ids)
    with np.load(tmp_path / "z.npz") as stored:
        assert stored["ids"].tolist() == ids and np.array_equal(stored["embeddings"], emb)
    kinds = {i.filename: i.compress_type for i in zipfile.ZipFile(tmp_path / "z.npz").infolist()}
    assert kinds == {"ids.npy": zipfile.ZIP_DEFLATED, "embeddings.npy": zipfile.ZIP_STORED}
    np.savez(tmp_path / "plain.npz", ids=np.array(ids), embeddings=emb)
    assert (tmp_path / "z.npz").stat().st_size < 0.2 * (tmp_path / "plain.npz").stat().st_size
    read_ids, read = load_embeddings(tmp_path / "z.npz")
    assert read_ids == ids and np.array_equal(read, emb)


def test_masking_keys_do_not_overflow_int32_edge_lists() -> None:
    """int32 edge lists of more than 46,341 nodes (n^2 > 2^31): ``symmetrized`` and ``mask_paths`` give what the
    same int64 edges give (before: keys computed in int32 wrapped, e.g. nodes 60000/70000 came out as -1355)."""
    import torch

    from graphvae.objectives.masking import mask_edges, mask_paths, symmetrized

    big = torch.tensor([[60000, 70000, 1, 2], [70000, 60000, 2, 1]])
    assert torch.equal(symmetrized(big.int()).long(), symmetrized(big))
    assert symmetrized(big.int()).dtype == torch.int32
    assert torch.equal(symmetrized(big), torch.tensor([[1, 60000, 2, 70000], [2, 70000, 1, 60000]]))
    visible, _ = mask_edges(big.int(), 0.0, directed=True)
    assert {tuple(p) for p in visible.T.tolist()} == {(1, 2), (2, 1), (60000, 70000), (70000, 60000)}
    ring = torch.stack([torch.arange(70000), (torch.arange(70000) + 1) % 70000])
    ring = torch.cat([ring, ring.flip(0)], dim=1)
    results = [mask_paths(edges, 70000, 0.01, 2, torch.Generator().manual_seed(0)) for edges in (ring, ring.int())]
    for a, b in zip(*results):
        assert torch.equal(a.long(), b.long())


def test_a_sampled_tsne_map_still_checks_its_labels(monkeypatch, tmp_path: Path) -> None:
    """With more codes than ``TSNE_MAX_POINTS`` the labels are checked against every code before the sample is
    drawn: one too few or too many is the one-line error of an unsampled map (before: an IndexError, or extra labels
    silently accepted); a pandas Series with its own index is taken in order, as unsampled maps take it."""
    from graphvae.evaluation import plots

    monkeypatch.setattr(plots, "save_figure", lambda fig, path: path)
    monkeypatch.setattr(plots, "TSNE_MAX_POINTS", 20)
    z = np.random.default_rng(1).normal(size=(30, 3))
    for wrong in (29, 31):
        with pytest.raises(gv.InputError, match=f"{wrong} labels of shape \\[{wrong}\\] for 30 points"):
            plots.plot_latent_map(z, np.zeros(wrong), tmp_path / "m.png", method="tsne")
    pd = pytest.importorskip("pandas")
    plots.plot_latent_map(z, pd.Series(np.arange(30) % 3, index=np.arange(100, 130)), tmp_path / "m.png", method="tsne")
