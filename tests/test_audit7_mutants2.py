"""Tests written to kill the surviving mutants of a mutation audit of the data/training side (split, trainer,
batched seeds, encoder, dropout, node tasks, edge-list reader). Each checks behaviour against an independent
reference: a brute-force set, a closed form, scikit-learn, torch's own dropout and dense algebra, or the
single-seed fit."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import graphvae as gv
from graphvae.training.trainer import train_elbo
from conftest import random_graph


# --------------------------------------------------------------------------- split: negatives over several rounds

@pytest.mark.parametrize("seed", range(4))
def test_non_edges_stay_distinct_when_rejection_sampling_needs_several_rounds(seed):
    """At the densest count the rejection sampler still takes (``8 (available - count) >= pairs``) its first round
    of ``2 count`` draws finds too few non-edges, so later rounds must skip what earlier rounds chose."""
    from graphvae.data.split import sample_non_edges

    n = 60
    ei = random_graph(n, 0.5, seed)
    edges = ei[:, ei[0] < ei[1]]
    pairs = n * (n - 1) // 2
    available = pairs - edges.shape[1]
    count = available - -(-pairs // 8)
    assert 8 * (available - count) >= pairs  # the rejection branch, not the listing of all non-edges
    got = sample_non_edges(edges, n, count, np.random.default_rng(seed))
    assert got.shape == (2, count) and (got[0] < got[1]).all()
    chosen = (got[0] * n + got[1]).tolist()
    assert len(set(chosen)) == count  # distinct: brute-force set
    assert not set(chosen) & set((edges[0] * n + edges[1]).tolist())


# --------------------------------------------------------------------------- the trainer's contract

class _Toy(torch.nn.Module):
    """A stand-in objective: loss ``|w|^2`` (NaN from call ``nan_at`` on); records its mode and returned terms."""

    def __init__(self, nan_at=None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(3))
        self.nan_at, self.calls, self.modes, self.terms, self.w_at_forward = nan_at, 0, [], [], []

    def forward(self, inp, target, generator):
        self.modes.append(self.training)
        self.w_at_forward.append(self.w.detach().clone())
        loss = (self.w ** 2).sum()
        if self.nan_at is not None and self.calls >= self.nan_at:
            loss = loss * float("nan")
        self.calls += 1
        zero = loss * 0
        terms = SimpleNamespace(loss=loss, elbo=-loss, log_likelihood=-loss, kl=zero, penalty=zero)
        self.terms.append(terms)
        return terms


def _two_batches(epoch):
    return [(None, None), (None, None)]


def test_trainer_stops_after_the_first_nan_epoch_unless_told_not_to():
    toy = _Toy(nan_at=6)  # two batches per epoch: epoch 3 is the first with a NaN loss
    history = train_elbo(toy, _two_batches, 10, 0.1, torch.Generator())
    assert len(history) == 4 and np.isnan(history[-1]["loss"]) and not np.isnan(history[2]["loss"])
    assert len(train_elbo(_Toy(nan_at=6), _two_batches, 10, 0.1, torch.Generator(), stop_on_nan=False)) == 10


def test_trainer_stops_when_on_epoch_says_so_and_calls_aux_step_after_every_step_in_training_mode():
    toy = _Toy()
    toy.eval()  # the trainer puts the objective in training mode, and back in evaluation mode at the end
    seen, aux = [], []

    def on_epoch(epoch, entry):
        seen.append(epoch)
        return epoch == 2

    def aux_step(terms, generator):
        aux.append((terms, toy.w.detach().clone()))

    history = train_elbo(toy, _two_batches, 10, 0.1, torch.Generator(), on_epoch=on_epoch, aux_step=aux_step)
    assert len(history) == 3 and seen == [0, 1, 2]
    assert toy.modes == [True] * 6 and not toy.training
    assert len(aux) == 6  # once per batch
    for k, (terms, w) in enumerate(aux):
        assert terms is toy.terms[k]  # that step's terms
        assert not torch.equal(w, toy.w_at_forward[k])  # after the optimizer step
        assert k == 5 or torch.equal(w, toy.w_at_forward[k + 1])  # and before the next forward


# --------------------------------------------------------------------------- early stopping, single and batched

def _small_graph(seed=0, n=40, p=0.12, weighted=False):
    ei = random_graph(n, p, seed)
    kw = {}
    if weighted:
        half = ei.shape[1] // 2  # random_graph lists (u, v) then (v, u): the same weight both ways
        w = np.random.default_rng(seed + 100).uniform(0.2, 3.0, half).astype(np.float32)
        kw["edge_weight"] = torch.from_numpy(np.tile(w, 2))
    return gv.Graph(torch.eye(n), torch.from_numpy(ei), n, **kw)


def _first_best(history):
    auc = np.array([e["val_auc"] for e in history], dtype=float)
    return int(np.nanargmax(auc)), float(np.nanmax(auc))  # the first epoch of the best AUC


def test_early_stopping_keeps_the_first_best_epoch_and_stops_patience_epochs_later_batched_or_not():
    """Tiny validation sets make AUC ties: the earliest best epoch is kept, by a single fit (closed form on its
    own history) and by every seed of a batched run (which must equal that seed's single fit)."""
    from graphvae.estimators.batched import fit_seeds

    graph, seeds, patience = _small_graph(), [0, 1, 2, 3], 8
    splits = [gv.split_edges(graph, seed=s) for s in seeds]
    template = gv.VGAE(epochs=300, early_stopping=True, patience=patience, lr=0.02)
    batched = fit_seeds(template, splits, seeds)
    ties = 0
    for seed, split, fitted in zip(seeds, splits, batched):
        alone = gv.VGAE(epochs=300, early_stopping=True, patience=patience, lr=0.02, random_state=seed).fit(split)
        best, auc = _first_best(alone.history_)
        assert (alone.best_epoch_, alone.best_val_auc_) == (best, pytest.approx(auc))
        assert len(alone.history_) == best + patience + 1  # stopped patience epochs after its best
        assert fitted.best_epoch_ == best == _first_best(fitted.history_)[0]
        ties += sum(e["val_auc"] == pytest.approx(auc) for e in alone.history_) > 1
    assert batched[0].batched_seeds_ == len(seeds)
    assert ties  # some seed reached its best AUC more than once (else ties would go untested)


def test_a_weighted_batched_run_is_each_seeds_own_weighted_fit():
    from graphvae.estimators.batched import fit_seeds

    graph, seeds = _small_graph(1, weighted=True), [0, 1]
    splits = [gv.split_edges(graph, seed=s) for s in seeds]
    template = gv.VGAE(epochs=30)
    batched = fit_seeds(template, splits, seeds)
    assert batched[0].batched_seeds_ == 2
    for seed, split, fitted in zip(seeds, splits, batched):
        alone = gv.VGAE(epochs=30, random_state=seed).fit(split)
        np.testing.assert_allclose(fitted.embed(), alone.embed(), atol=1e-4)


# --------------------------------------------------------------------------- the encoder

def _dense_adj(ei, n):
    from graphvae.nn.operator import normalized_adjacency_matrix

    return torch.from_numpy(normalized_adjacency_matrix(ei, n).toarray())


def test_encoder_dropout_drops_every_layers_input_as_torch_dropout_on_the_dense_gcn():
    """MaskGAE's placement: dropout on the features and on every later layer's input (training mode only)."""
    from graphvae.nn.encoder import GCNEncoder, encoder_input
    from graphvae.nn.operator import normalized_adjacency

    n, p = 12, 0.4
    ei = random_graph(n, 0.3, 2)
    torch.manual_seed(0)
    x = torch.randn(n, 5)
    enc = GCNEncoder(5, (7,), 3, dropout=p, bias=True)
    with torch.no_grad():
        for param in enc.parameters():
            param.normal_()
    inp = encoder_input(x, normalized_adjacency(ei, n), fold=False)
    a = _dense_adj(ei, n)
    layer, head = enc.layers[0], enc.head
    torch.manual_seed(11)
    post = enc(inp)
    torch.manual_seed(11)
    h = torch.relu(a @ (F.dropout(x, p, True) @ layer.weight) + layer.bias)
    out = a @ (F.dropout(h, p, True) @ head.weight) + head.bias
    assert torch.allclose(post.mu, out[:, :3], atol=1e-5) and torch.allclose(post.logstd, out[:, 3:], atol=1e-5)
    enc.eval()
    h = torch.relu(a @ (x @ layer.weight) + layer.bias)
    assert torch.allclose(enc(inp).mu, (a @ (h @ head.weight) + head.bias)[:, :3], atol=1e-5)


def test_log_sigma_is_clamped_at_max_logstd():
    from graphvae.nn.encoder import GCNEncoder, encoder_input
    from graphvae.nn.operator import normalized_adjacency

    n = 6
    ei = random_graph(n, 0.5, 0)
    enc = GCNEncoder(4, (), 2, bias=True, max_logstd=1.5)
    with torch.no_grad():
        enc.head.weight.zero_()
        enc.head.bias.copy_(torch.tensor([0.3, -0.2, 5.0, -1.0]))  # mu, then log sigma
    post = enc(encoder_input(torch.randn(n, 4), normalized_adjacency(ei, n)))
    assert torch.equal(post.logstd, torch.tensor([[1.5, -1.0]]).expand(n, 2))
    assert torch.allclose(post.mu, torch.tensor([[0.3, -0.2]]).expand(n, 2))


def test_variational_head_is_glorot_initialized_as_two_separate_layers():
    """The paper's mu and log sigma layers: each ``[in, d]`` uniform on +-sqrt(6 / (in + d)), a wider range than
    one ``[in, 2d]`` layer's sqrt(6 / (in + 2d)) (3200 draws per half reach beyond the narrower bound)."""
    from graphvae.nn.encoder import GCNEncoder

    torch.manual_seed(3)
    in_dim, d = 200, 16
    weight = GCNEncoder(in_dim, (), d).head.weight.detach()
    for half in weight.split(d, dim=1):
        top = float(half.abs().max())
        assert np.sqrt(6 / (in_dim + 2 * d)) < top <= np.sqrt(6 / (in_dim + d))


# --------------------------------------------------------------------------- dropout masks at the threshold

@pytest.mark.parametrize("p", [0.5, 0.3])
def test_dropout_keeps_a_lane_equal_to_the_threshold(p):
    """Kept when ``u >= t`` (drop probability exactly ``t / 2^16``): checked on enough lanes that some equal ``t``."""
    from graphvae.nn.dropout import drop_threshold, dropout_mask, keep_mask

    n = 1 << 21
    torch.manual_seed(7)
    lanes = torch.randint(-(1 << 63), (1 << 63) - 1, (n // 4,), dtype=torch.int64).view(torch.int16).int() + (1 << 15)
    t = drop_threshold(p)
    assert int((lanes == t).sum()) > 5  # the boundary is exercised
    expected = lanes >= t
    torch.manual_seed(7)
    assert torch.equal(keep_mask((n,), p), expected)
    torch.manual_seed(7)
    assert torch.equal(dropout_mask((n,), p) != 0, expected)


# --------------------------------------------------------------------------- node tasks: label splits are sklearn's

def test_label_splits_are_sklearns_stratified_split_and_folds_train_then_test():
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from graphvae.evaluation.node_tasks import label_splits

    y = np.repeat([0, 1, 2], [20, 25, 15])
    np.random.default_rng(0).shuffle(y)
    ((tr, te),) = label_splits(y, test_size=0.3, random_state=4)
    ref_tr, ref_te = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=4)
    assert np.array_equal(tr, np.sort(ref_tr)) and np.array_equal(te, np.sort(ref_te))
    assert len(te) == int(np.ceil(0.3 * len(y)))
    folds = label_splits(y, folds=3, random_state=2)
    ref = StratifiedKFold(3, shuffle=True, random_state=2).split(np.arange(len(y)), y)
    for (tr, te), (rtr, rte) in zip(folds, ref):
        assert np.array_equal(tr, rtr) and np.array_equal(te, rte)


# --------------------------------------------------------------------------- the edge-list reader's ids

@pytest.mark.parametrize("text, ids", [
    ("c a\nb c\na d\n", ["c", "a", "b", "d"]),         # string ids: order of first appearance
    ("7 007\n007 8\n8 7\n", ["7", "007", "8"]),         # "007" is not an integer written canonically: all strings
    ("10 2\n2 3\n3 10\n", [2, 3, 10]),                  # integers: numeric order
])
def test_edge_list_ids_are_mapped_back_to_each_row_as_read(tmp_path, text, ids):
    from graphvae.data.graph import read_edge_list

    path = tmp_path / "e.txt"
    path.write_text(text)
    src, dst, got = read_edge_list(path, header=False)
    assert got == ids
    rows = [line.split() for line in text.splitlines()]
    assert [[str(got[s]), str(got[d])] for s, d in zip(src, dst)] == rows  # brute-force round trip
