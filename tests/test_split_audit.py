"""Audit of the link-prediction API: split_edges on crafted graphs, LinkSplit, fit/score/predict_proba, the zoo,
fit_seeds. Independent references: brute-force sets of pairs, scikit-learn's metrics."""
import math

import networkx as nx
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

import graphvae as gv
from conftest import keys
from graphvae.data.split import held_out_count, sample_non_edges


def gnm(n, m, seed=0):
    return nx.gnm_random_graph(n, m, seed=seed)


def check_split(split, val=0.05, test=0.10):
    """Every documented property of a split, against brute-force sets of the FULL graph's pairs."""
    n = split.num_nodes
    full = keys(split.graph.edge_index, n)
    train, encoder = keys(split.train_edge_index, n), keys(split.train_graph.edge_index, n)
    vp, tp, vn, tn = (keys(p, n) for p in (split.val_pos, split.test_pos, split.val_neg, split.test_neg))
    assert not (train | encoder) & (vp | tp)  # no held-out edge is visible, in either direction
    assert train | vp | tp == full and not vp & tp
    assert not (vn | tn) & full and not vn & tn  # true non-edges of the full graph, disjoint
    for pairs in (split.val_pos, split.val_neg, split.test_pos, split.test_neg):
        assert pairs.shape[0] == 2 and bool((pairs[0] < pairs[1]).all())
        assert len(keys(pairs, n)) == pairs.shape[1]  # distinct
    e = len(full)
    assert split.test_pos.shape[1] == split.test_neg.shape[1] == math.floor(e * test + 1e-9)
    assert split.val_pos.shape[1] == split.val_neg.shape[1] == math.floor(e * val + 1e-9)
    ti = split.train_edge_index.numpy()
    assert set(map(tuple, ti.T)) == set(map(tuple, ti[::-1].T))


@pytest.mark.parametrize("graph", [
    nx.karate_club_graph(),
    nx.star_graph(25),
    nx.disjoint_union(nx.cycle_graph(15), nx.path_graph(15)),
    nx.DiGraph(nx.gnp_random_graph(40, 0.2, seed=1, directed=True)),
    nx.compose(gnm(30, 60), nx.empty_graph(40)),  # isolated nodes 30..39
], ids=["karate", "star", "disconnected", "directed", "isolated"])
def test_split_invariants_on_crafted_graphs(graph):
    check_split(gv.split_edges(graph, seed=4))


def test_split_seeds_reproduce_and_differ():
    g = gnm(40, 120)
    a, b, c = (gv.split_edges(g, seed=s) for s in (7, 7, 8))
    for name in ("train_edge_index", "val_pos", "val_neg", "test_pos", "test_neg"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.test_pos, c.test_pos)


# Defect: held-out counts were floor(E * fraction) in floats, so 100 * 0.29 = 28.999999999999996 held out
# 28 edges, not 29% of 100; and 161 * (1/161) = 0.9999999999999999 held out none, while the error said
# "at least 161 are needed".
@pytest.mark.parametrize("edges,val,test,expect", [(100, 0.05, 0.29, (5, 29)), (90, 0.7, 0.1, (63, 9)),
                                                    (180, 0.35, 0.1, (63, 18))])
def test_held_out_counts_are_the_exact_floor(edges, val, test, expect):
    split = gv.split_edges(gnm(60, edges), val=val, test=test, seed=0)
    assert (split.val_pos.shape[1], split.test_pos.shape[1]) == expect
    check_split(split, val, test)


def test_needed_edges_in_the_error_suffice():
    f = 1 / 161
    with pytest.raises(gv.InputError, match="at least 161 are needed"):
        gv.split_edges(gnm(60, 160), val=f, seed=0)
    split = gv.split_edges(gnm(60, 161), val=f, seed=0)
    assert split.val_pos.shape[1] == 1 and held_out_count(161, f) == 1


def test_default_fractions_round_down_as_the_paper():
    for e in (19, 20, 39, 5278, 4552, 10_000_019):
        assert held_out_count(e, 0.10) == e // 10 and held_out_count(e, 0.05) == e // 20


# Defect: a fraction that is not a number raised a bare TypeError from a comparison ("'<' not supported between
# instances of 'int' and 'str'"), and a subnormal fraction an OverflowError from the error message itself.
@pytest.mark.parametrize("bad", ["0.1", None, 0.05 + 0j, [0.05], np.array([0.05, 0.1])])
def test_non_numeric_fraction_is_a_one_line_input_error(bad):
    with pytest.raises(gv.InputError, match="val must be a number") as info:
        gv.split_edges(nx.karate_club_graph(), val=bad)
    assert isinstance(info.value, TypeError) and "\n" not in str(info.value)


@pytest.mark.parametrize("tiny", [1e-320, 5e-324, 1e-300])
def test_vanishing_fraction_is_an_input_error(tiny):
    with pytest.raises(gv.InputError, match="too few to split"):
        gv.split_edges(nx.karate_club_graph(), test=tiny)


@pytest.mark.parametrize("frac", [0, 1, -0.1, float("nan"), float("inf"), True])
def test_out_of_range_fractions(frac):
    with pytest.raises(gv.InputError):
        gv.split_edges(nx.karate_club_graph(), val=frac)
    with pytest.raises(gv.InputError):
        gv.split_edges(nx.karate_club_graph(), val=0.6, test=0.5)


class CountingRng:
    """A numpy Generator that counts the rejection draws (``integers``) made through it."""

    def __init__(self, seed):
        self.rng, self.draws = np.random.default_rng(seed), 0

    def integers(self, *args, **kwargs):
        self.draws += 1
        return self.rng.integers(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.rng, name)


# Defect: on a dense graph whose split needs (nearly) every non-edge, rejection sampling crawled like a coupon
# collector (one round per 64 draws near the end): an 800-node graph took 5 s, 1500 nodes about a minute.
def test_dense_graph_non_edges_without_a_rejection_crawl():
    n = 120
    complete = nx.complete_graph(n)
    rng = np.random.default_rng(0)
    edges = list(complete.edges())
    complete.remove_edges_from([edges[i] for i in rng.choice(len(edges), 400, replace=False)])
    ei = np.array(sorted((min(u, v), max(u, v)) for u, v in complete.edges())).T
    sampler = CountingRng(0)
    out = sample_non_edges(ei, n, 400, sampler)  # every non-edge
    assert keys(out, n) == keys(np.array(edges).T, n) - keys(ei, n)
    assert sampler.draws <= 4
    out = sample_non_edges(ei, n, 390, CountingRng(1))
    assert len(keys(out, n)) == 390 and not keys(out, n) & keys(ei, n) and bool((out[0] < out[1]).all())


def test_dense_split_is_seeded_and_valid():
    g = nx.complete_graph(60)
    g.remove_edges_from(list(g.edges())[::7])
    a, b = gv.split_edges(g, seed=3), gv.split_edges(g, seed=3)
    check_split(a)
    assert torch.equal(a.test_neg, b.test_neg) and not torch.equal(a.test_neg, gv.split_edges(g, seed=4).test_neg)


def test_complete_and_tiny_graphs_are_input_errors():
    for g in (nx.complete_graph(8), nx.complete_graph(20), nx.path_graph(5), nx.empty_graph(3)):
        with pytest.raises(gv.InputError):
            gv.split_edges(g)


@pytest.mark.parametrize("name", ["gae", "vgae", "gnae", "maskgae", "argva"])
def test_score_is_sklearn_on_predict_proba(name):
    from graphvae.estimators.zoo import make_model
    split = gv.split_edges(gnm(40, 150), seed=1)
    model = make_model(name, latent=8, epochs=4, random_state=0).fit(split)
    p, q = model.predict_proba(split.test_pos), model.predict_proba(split.test_neg)
    y, s = np.r_[np.ones(p.size), np.zeros(q.size)], np.r_[p, q]
    got = model.score(split.test_pos, split.test_neg)
    assert got["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert got["ap"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    if model.early_stopping:
        assert model.best_val_auc_ == pytest.approx(model.score(split.val_pos, split.val_neg)["auc"])


def test_pair_formats():
    split = gv.split_edges(nx.karate_club_graph(), seed=0)
    model = gv.GAE(hidden=8, latent=4, epochs=2).fit(split)
    ref = model.predict_proba(split.test_pos)
    for pairs in (split.test_pos.tolist(), split.test_pos.numpy().astype(np.int32), split.test_pos.numpy().astype(np.uint16),
                  split.test_pos.int()):
        np.testing.assert_array_equal(model.predict_proba(pairs), ref)
    for bad in (split.test_pos.T, split.test_pos.float(), np.array([[0], [34]]), np.array([[0], [-1]])):
        with pytest.raises(gv.InputError):
            model.predict_proba(bad)


# Defect: a sparse tensor of pairs reached torch's min() and raised NotImplementedError with torch's long message.
def test_sparse_pairs_are_an_input_error():
    split = gv.split_edges(nx.karate_club_graph(), seed=0)
    model = gv.GAE(hidden=8, latent=4, epochs=2).fit(split)
    with pytest.raises(gv.InputError, match="dense"):
        model.predict_proba(split.test_pos.to_sparse())


def test_refit_on_another_graph_forgets_the_first():
    model = gv.GAE(hidden=8, latent=4, epochs=2, early_stopping=True, patience=1)
    first = gv.split_edges(nx.karate_club_graph(), seed=0)
    model.fit(first)
    model.set_params(early_stopping=False).fit(nx.path_graph(10))
    assert not hasattr(model, "best_epoch_") and model.embed().shape == (10, 4)
    with pytest.raises(gv.InputError, match="0..9"):
        model.score(first.test_pos, first.test_neg)


def test_score_before_fit():
    with pytest.raises(ValueError, match="not fitted"):
        gv.VGAE().score(np.array([[0], [1]]), np.array([[0], [2]]))


# Defect: make_model(['gae']) raised "TypeError: unhashable type: 'list'" from the dict lookup.
@pytest.mark.parametrize("name", [["gae"], {"gae": 1}, None, 3])
def test_make_model_bad_name(name):
    from graphvae.estimators.zoo import make_model
    with pytest.raises(gv.InputError, match="unknown model"):
        make_model(name)


# Defect: fit_seeds with a template that is not a graph autoencoder failed with an AttributeError
# ('ImageVAE' object has no attribute '_likelihood'), seeds=None with "object of type 'NoneType' has no len()",
# and a generator of splits was refused the same way.
def test_fit_seeds_checks_its_arguments():
    from graphvae.estimators.batched import fit_seeds
    splits = [gv.split_edges(nx.karate_club_graph(), seed=s) for s in (0, 1)]
    with pytest.raises(gv.InputError, match="graph autoencoder"):
        fit_seeds(gv.ImageVAE(), splits, [0, 1])
    with pytest.raises(gv.InputError, match="seeds must be a sequence"):
        fit_seeds(gv.VGAE(epochs=1), splits, None)
    models = fit_seeds(gv.VGAE(epochs=2, hidden=8, latent=4), (s for s in splits), range(2))
    assert [m.random_state for m in models] == [0, 1]


def test_hand_built_graphs_must_hold_cleaned_edges():
    """A ``Graph`` built by hand with a one-way edge list split as "0 undirected edges" (and gave the models another
    graph than the user's): it must hold each edge in both directions, without self-loops or duplicates."""
    import torch

    x = torch.eye(6)
    ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    for edge_index, message in ((ring, "not symmetric"), (torch.cat([ring, ring.flip(0), ring], 1), "duplicate"),
                                (torch.cat([ring, ring.flip(0), torch.tensor([[2], [2]])], 1), "self-loops")):
        with pytest.raises(gv.InputError, match=message):
            gv.split_edges(gv.Graph(x, edge_index, 6), seed=0)
    clean = gv.build_graph(ring[0].numpy(), ring[1].numpy(), 6, x)
    by_hand = gv.Graph(x, clean.edge_index, 6)
    assert gv.as_graph(by_hand) is by_hand and gv.split_edges(by_hand, seed=0, val=0.2, test=0.2).test_pos.shape[1] == 1


def test_hand_built_graphs_are_checked_as_the_readers_check_graphs():
    """A ``Graph`` or ``build_graph`` with two nodes of one id silently lost one node's embedding row in
    ``embedding_dict``; NaN features and negative or NaN weights were blamed on the learning rate ("training
    diverged") or split into NaN training weights; weight-0 edges stayed positive links (the readers drop them)."""
    import torch

    ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    edges = gv.build_graph(ring[0].numpy(), ring[1].numpy(), 6).edge_index
    with pytest.raises(gv.InputError, match="node_ids must name each of the 6 nodes once, got 6 ids of which 5"):
        gv.build_graph(ring[0].numpy(), ring[1].numpy(), 6, node_ids=["a", "b", "c", "d", "e", "a"])
    with pytest.raises(gv.InputError, match="Graph.node_ids must name each of the 6 nodes once"):
        gv.GAE(epochs=1, latent=2).fit(gv.Graph(torch.eye(6), edges, 6, node_ids=[0, 1, 2, 3, 4, 0]))
    nan_rows = torch.eye(6)
    nan_rows[3, 1] = float("nan")
    sparse_inf = torch.eye(6).to_sparse_csr()
    sparse_inf.values()[4] = float("inf")
    for x, row in ((nan_rows, 3), (sparse_inf, 4)):
        with pytest.raises(gv.InputError, match=rf"node features contain NaN or inf \(first at row {row}\)"):
            gv.GAE(epochs=1, latent=2).fit(gv.Graph(x, edges, 6))
    for weight, message in ((torch.full((12,), -1.0), "finite and non-negative, got -1.0"),
                            (torch.full((12,), float("nan")), "finite and non-negative, got nan"),
                            (torch.zeros(12), "12 weight\\(s\\) of 0"), (torch.ones(5), "one weight per edge")):
        with pytest.raises(gv.InputError, match=message):
            gv.split_edges(gv.Graph(torch.eye(6), edges, 6, edge_weight=weight), seed=0)
    weights = [1.0 + i for i in range(6)] * 2  # a list (both directions alike), as a user may give it: no AttributeError
    assert gv.GAE(epochs=1, latent=2).fit(gv.Graph(torch.eye(6), edges, 6, edge_weight=weights)).embed().shape == (6, 2)
