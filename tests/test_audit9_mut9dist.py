"""Mutation audit (round 9) of the distributed path and the small core modules: tests that pin what mutants got past.

Areas: ``graphvae/training/distributed/{fit,partition,runtime,__init__}.py``, ``graphvae/_sparse.py``,
``graphvae/allocator.py``, ``graphvae/_keys.py``. Each test names the mutant it kills. References are independent:
brute force on tiny inputs, numpy / scipy / torch, the single-process fit for the same seed, or the documented
closed form (e.g. the ring all-reduce's ``2 (P - 1) / P`` bytes per element).
"""
from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphvae import InputError
from graphvae.nn.operator import adjacency_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import random_graph  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hub_graph(n: int = 60, seed: int = 0) -> sp.csr_matrix:
    """A sparse random graph plus one hub joined to every other node: work per node is far from uniform."""
    edges = random_graph(n, 0.04, seed=seed)
    hub = np.stack([np.zeros(n - 1, dtype=np.int64), np.arange(1, n)])
    return adjacency_matrix(np.concatenate([edges, hub, hub[::-1]], axis=1), n)


# ----------------------------------------------------------------------------------------------- partition

def test_natural_order_is_the_identity_and_random_order_is_seeded() -> None:
    """``locality_order``: "natural" keeps the labels (``order[new] = original`` = identity) and "random" is a seeded
    permutation: two calls agree, and every rank (its own process) gets the same one.
    Kills P01 (natural reversed) and P25 (random unseeded: ranks would partition differently)."""
    from graphvae.training.distributed.partition import locality_order

    adjacency = adjacency_matrix(random_graph(25, 0.2, seed=1), 25)
    np.testing.assert_array_equal(locality_order(adjacency, "natural"), np.arange(25))
    first, again = locality_order(adjacency, "random"), locality_order(adjacency, "random")
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(np.sort(first), np.arange(25))
    np.testing.assert_array_equal(first, np.random.default_rng(0).permutation(25))  # the documented seed=0


@pytest.mark.parametrize("n", [1, 2, 5, 7, 10, 33])
def test_unweighted_bounds_are_contiguous_and_differ_by_at_most_one(n: int) -> None:
    """Without weights, rank ``r`` owns ``[floor(rN/P), floor((r+1)N/P))`` (module docstring): brute-force check of
    the formula, of coverage (every node in exactly one range) and of sizes differing by at most one.
    Kills P03 (``r * (N // P)``: the last ranks lose the remainder)."""
    from graphvae.training.distributed.partition import balanced_bounds

    for world in range(1, n + 1):
        bounds = balanced_bounds(n, world)
        assert [int(b) for b in bounds] == [r * n // world for r in range(world + 1)]
        owners = [r for r in range(world) for _ in range(int(bounds[r]), int(bounds[r + 1]))]
        assert len(owners) == n and owners == sorted(owners)
        sizes = np.diff(bounds)
        assert sizes.min() >= 1 and sizes.max() - sizes.min() <= 1


def test_weighted_cuts_are_the_nearest_to_equal_shares_by_brute_force() -> None:
    """With weights, cut ``r`` is the prefix length whose weight is nearest ``r / P`` of the total (brute force over
    every prefix; random weights, so no ties and no collisions). Kills P04-P06 (shifted targets, wrong side, the
    farther candidate) and the dropped clip / monotone fix-ups where they move a cut."""
    from graphvae.training.distributed.partition import balanced_bounds

    rng = np.random.default_rng(4)
    for world in (2, 3, 4, 5):
        weights = rng.uniform(0.5, 3.0, 41)
        prefix = np.r_[0.0, np.cumsum(weights)]
        expected = [0] + [int(np.argmin(np.abs(prefix - prefix[-1] * r / world))) for r in range(1, world)] + [41]
        assert balanced_bounds(41, world, weights).tolist() == expected


def test_partition_ranges_balance_the_sampled_pairs_and_positives() -> None:
    """``Partition`` balances each range's work, a node's work being its positives (degree + 1) plus the ``k``
    partners the link likelihood samples per row (``k`` taken from the likelihood itself), in range order: each cut
    is the prefix of the order whose work is nearest ``r / P`` of the total (brute force over every prefix), so every
    range carries ``1/P`` of it to within the heaviest node (a hub). Kills P13 (equal node counts), P14 (the weights
    in the original labels, not in the partition's order) and P09 (the self-pair left out of the work)."""
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
    from graphvae.training.distributed.partition import Partition

    n = 60
    for seed in range(3):
        adjacency = _hub_graph(n, seed)
        k = LinkLikelihood().negatives_per_node(LinkTarget.from_edges(adjacency, n))
        work = np.asarray(adjacency.sum(axis=1)).ravel() + 1 + k  # per original node
        for world in (2, 3, 4):
            for method in ("rcm", "random"):
                part = Partition(adjacency, world, method)
                prefix = np.r_[0.0, np.cumsum(work[part.order])]
                expected = [0] + [int(np.argmin(np.abs(prefix - prefix[-1] * r / world))) for r in range(1, world)]
                assert part.bounds.tolist() == expected + [n], (seed, world, method)
                shares = np.diff(prefix[part.bounds])
                assert np.abs(shares - work.sum() / world).max() <= work.max()


def test_shard_rows_have_sorted_columns_and_float32_features(tmp_path: Path) -> None:
    """A shard's rows of Â are CSR with sorted column indices (as scipy's ``has_sorted_indices`` checks), its dense and
    sparse feature rows are float32 (the ``Shard`` docstring), and a saved shard loads its counts as Python ints.
    Kills P16 (no ``sort_indices``), P19/P20 (float64 features kept), P22 (counts left as numpy arrays)."""
    from graphvae.training.distributed.partition import Partition, Shard

    n = 40
    adjacency = adjacency_matrix(random_graph(n, 0.15, seed=5), n)
    x = np.random.default_rng(0).standard_normal((n, 3))  # float64 in
    part = Partition(adjacency, 2, "random")
    for rank in range(2):
        shard = part.shard(rank, x)
        for row in range(shard.num_local):
            cols = shard.adj_indices[shard.adj_indptr[row]:shard.adj_indptr[row + 1]]
            assert np.all(np.diff(cols) > 0)
        assert shard.x.dtype == np.float32
        np.testing.assert_allclose(shard.x, x[shard.orig_ids], rtol=1e-6)
        assert part.shard(rank, sp.csr_matrix(x)).x.dtype == np.float32
        shard.save(tmp_path / "s.npz")
        loaded = Shard.load(tmp_path / "s.npz")
        for name in ("num_nodes", "rank", "world_size", "num_edges", "num_positive"):
            assert type(getattr(loaded, name)) is int and getattr(loaded, name) == getattr(shard, name)


def test_metis_parts_become_ranges_and_an_empty_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """``metis_order`` with METIS's answer stubbed: part ``r``'s nodes (in their original order) form range ``r``,
    and a part METIS left empty is the one-line InputError, whichever other parts exist. Kills P21 (refused only when
    every part is empty)."""
    pymetis = pytest.importorskip("pymetis")
    from graphvae.training.distributed.partition import metis_order

    adjacency = adjacency_matrix(random_graph(6, 0.5, seed=0), 6)
    monkeypatch.setattr(pymetis, "part_graph", lambda parts, adjacency: (0, [1, 0, 2, 1, 0, 2]))
    order, bounds = metis_order(adjacency, 3)
    assert order.tolist() == [1, 4, 0, 3, 2, 5] and bounds.tolist() == [0, 2, 4, 6]
    monkeypatch.setattr(pymetis, "part_graph", lambda parts, adjacency: (0, [0, 0, 2, 2, 0, 2]))
    with pytest.raises(InputError, match="METIS left a rank without nodes"):
        metis_order(adjacency, 3)


# ----------------------------------------------------------------------------------------------- fit (one rank)

@pytest.fixture
def one_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchrun's variables for a world of one rank on a free local port: ``fit_distributed`` starts (and ends) a
    real one-process gloo group in this process."""
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1"),
                        ("MASTER_PORT", str(_free_port())), ("GRAPHVAE_DIST_TIMEOUT", "30")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GRAPHVAE_PARTITION", raising=False)


def _small_graph(n: int = 60):
    from distributed_worker import small_graph

    return small_graph(n=n, seed=2)


@pytest.mark.parametrize("ordering", ["rcm", "random"])
def test_one_rank_fit_is_the_single_process_fit(one_rank: None, ordering: str) -> None:
    """A one-rank ``fit_distributed`` (relabelled by the ordering) against ``VGAE.fit`` with the same seed and a
    beta other than 1: embeddings in the caller's node order, every epoch's loss terms, the objective's beta, and
    nothing counted as sent (one rank sends no bytes). Kills F01 ("random" refused), F15 (last epoch dropped), F16
    (embeddings left in partition order), F17/F26 (beta dropped), F20 (another seed)."""
    from graphvae.estimators.models import VGAE
    from graphvae.training.distributed.fit import fit_distributed

    graph = _small_graph()
    params = dict(hidden=8, latent=4, epochs=6, random_state=3, beta=0.5)
    dist_model = fit_distributed(VGAE(**params), graph, ordering=ordering)
    single = VGAE(**params).fit(graph)
    np.testing.assert_allclose(dist_model.embed(), single.embed(), atol=2e-5)
    assert len(dist_model.history_) == len(single.history_) == 6
    for got, want in zip(dist_model.history_, single.history_):
        for key in ("loss", "elbo", "log_likelihood", "kl"):
            assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-5), (key, got, want)
    assert dist_model.objective_.beta == single.objective_.beta == 0.5
    assert (dist_model.world_size_, dist_model.rank_) == (1, 0)
    assert all(v == 0 for v in dist_model.traffic_per_epoch_.values()), dist_model.traffic_per_epoch_


def test_one_rank_normalized_head_without_hidden_layers_is_the_single_process_fit(one_rank: None) -> None:
    """VGNAE's normalized head directly on the features (no hidden layer): the shard's input must stay unpropagated
    (the head normalizes ``XW`` before :math:`\\hat A`); the one-rank fit equals ``VGAE.fit``. Kills F11 (``fold``
    inverted: the features propagated first, and the head refuses them)."""
    from graphvae.estimators.models import VGAE
    from graphvae.training.distributed.fit import fit_distributed

    graph = _small_graph()
    params = dict(hidden=(), latent=4, epochs=3, random_state=3, normalize=1.8, early_stopping=False)
    np.testing.assert_allclose(fit_distributed(VGAE(**params), graph).embed(), VGAE(**params).fit(graph).embed(),
                               atol=2e-5)


def test_partition_from_the_environment_is_checked(one_rank: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ordering`` defaults to ``$GRAPHVAE_PARTITION`` (docstring): an unknown value there is the one-line
    InputError naming the variable. Kills F02 (the variable ignored)."""
    from graphvae.estimators.models import VGAE
    from graphvae.training.distributed.fit import fit_distributed

    monkeypatch.setenv("GRAPHVAE_PARTITION", "spectral")
    with pytest.raises(InputError, match="GRAPHVAE_PARTITION must be"):
        fit_distributed(VGAE(hidden=8, latent=4, epochs=1, random_state=0), _small_graph())


def test_a_shard_of_another_world_is_refused(one_rank: None) -> None:
    """``fit_shard`` refuses a shard cut for another world size even when its rank number exists here.
    Kills F12 (``or`` -> ``and``: only a shard wrong in both was refused)."""
    from graphvae.estimators.models import VGAE
    from graphvae.training.distributed import runtime
    from graphvae.training.distributed.fit import fit_shard
    from graphvae.training.distributed.partition import Partition

    graph = _small_graph()
    shard = Partition(adjacency_matrix(graph.edge_index.numpy(), graph.num_nodes), 2).shard(0, graph.x)
    runtime.init()
    try:
        with pytest.raises(InputError, match="shard of rank 0 of 2 given to rank 0 of 1"):
            fit_shard(VGAE(hidden=8, latent=4, epochs=1, random_state=0), shard)
    finally:
        runtime.shutdown()


def test_a_diverging_one_rank_fit_fails_as_the_single_process_does(one_rank: None) -> None:
    """A learning rate that makes the loss NaN at epoch 1: ``fit_distributed`` raises the single process's error
    line, keeps the history up to the first NaN epoch (the single process stops there) and forgets the rest of the
    fit. Kills F23 (every epoch kept, NaNs included) and F24 (a diverged model kept its embeddings and objective)."""
    from graphvae.estimators.models import VGAE
    from graphvae.training.distributed.fit import fit_distributed

    graph = _small_graph()
    params = dict(hidden=8, latent=4, epochs=15, random_state=3, lr=1e6)
    dist_model, single = VGAE(**params), VGAE(**params)
    with pytest.raises(InputError, match="training diverged") as dist_error:
        fit_distributed(dist_model, graph)
    with pytest.raises(InputError, match="training diverged") as single_error:
        single.fit(graph)
    assert str(dist_error.value) == str(single_error.value)
    assert len(dist_model.history_) == len(single.history_) < 15
    assert not np.isfinite(dist_model.history_[-1]["loss"]) and np.isfinite(dist_model.history_[-2]["loss"])
    for name in ("embedding_", "objective_"):
        assert getattr(dist_model, name, None) is None and getattr(single, name, None) is None


@pytest.mark.parametrize("option", [dict(weight_decay=0.5), dict(adversarial=1.0), dict(mask_rate=0.5),
                                    dict(decoder="mlp"), dict(activation="elu"), dict(activation_l1=0.1),
                                    dict(feature_noise=0.1)])
def test_every_option_the_ranks_lack_is_refused(option: dict) -> None:
    """Each option ``check_supported`` lists is refused on its own (one line). Kills F03-F09 (a dropped or
    loosened condition lets the option be silently ignored by the ranks)."""
    from graphvae.estimators.models import VGAE
    from graphvae.training.distributed.fit import check_supported

    try:
        model = VGAE(early_stopping=False, random_state=0, **option)
    except TypeError:
        pytest.skip(f"VGAE has no {option}")
    with pytest.raises(InputError, match="not available in a distributed run") as info:
        check_supported(model)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------------------------- runtime

def test_launch_variables_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_launch``: a rank outside ``0..WORLD_SIZE-1``, a world of 0 ranks, and a missing torchrun variable are each
    a DistributedError. Kills R01 (``rank <= world`` accepted), R02 (world 0 accepted), R03 (missing not checked)."""
    from graphvae.training.distributed import DistributedError
    from graphvae.training.distributed.runtime import _launch

    base = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500", "GRAPHVAE_DIST_TIMEOUT": "30"}
    for name, value in base.items():
        monkeypatch.setenv(name, value)
    for rank, world in (("2", "2"), ("0", "0"), ("-1", "2")):
        monkeypatch.setenv("RANK", rank)
        monkeypatch.setenv("WORLD_SIZE", world)
        with pytest.raises(DistributedError, match="is not in a world of size"):
            _launch()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert _launch() == (1, 2, 30.0)
    monkeypatch.delenv("MASTER_PORT")
    with pytest.raises(DistributedError, match="MASTER_PORT is not"):
        _launch()


def test_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``GRAPHVAE_DIST_TIMEOUT``: default 300 s (module docstring), any positive number up to and including 1e7,
    else an InputError (0, negative, above 1e7, inf). Kills R17-R20."""
    from graphvae.training.distributed import timeout_from_env

    monkeypatch.delenv("GRAPHVAE_DIST_TIMEOUT", raising=False)
    assert timeout_from_env() == 300.0
    for text, value in (("0.5", 0.5), ("1e7", 1e7), ("12", 12.0)):
        monkeypatch.setenv("GRAPHVAE_DIST_TIMEOUT", text)
        assert timeout_from_env() == value
    for text in ("0", "-3", "1.0000001e7", "inf", "nan"):
        monkeypatch.setenv("GRAPHVAE_DIST_TIMEOUT", text)
        with pytest.raises(InputError, match="positive number of seconds"):
            timeout_from_env()


def test_rank_from_the_environment_defaults_to_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rank_from_env``: 0 when not launched, and 0 for an unreadable value. Kills R21."""
    from graphvae.training.distributed import rank_from_env

    monkeypatch.delenv("RANK", raising=False)
    assert rank_from_env() == 0
    monkeypatch.setenv("RANK", "x")
    assert rank_from_env() == 0
    monkeypatch.setenv("RANK", "3")
    assert rank_from_env() == 3


def test_communication_errors_and_first_lines() -> None:
    """Timeouts count as communication failures; a gloo message is cut to its first sentence without the
    ``[file.cc:N]`` prefix; an error of ours passes ``guard`` unchanged even when its text names a connection.
    Kills R04/R05 (prefix or sentence kept), R06 (timeouts not recognised), R26 (our errors re-wrapped)."""
    from graphvae.training.distributed import DistributedError
    from graphvae.training.distributed.runtime import _first_line, guard, is_communication_error

    assert is_communication_error(RuntimeError("Wait timeout after 30000ms"))
    assert is_communication_error(RuntimeError("operation timed out"))
    assert not is_communication_error(ValueError("connection"))
    err = RuntimeError("[../third_party/gloo/transport/tcp/pair.cc:534] Read error [127.0.0.1]:1: Connection "
                       "reset by peer. This may indicate a crash.\nmore")
    assert _first_line(err) == "Read error [127.0.0.1]:1: Connection reset by peer"
    ours = DistributedError("rank 1: no rendezvous with the other ranks at h:1 within 5 s (connection refused)")
    with pytest.raises(DistributedError) as info:
        with guard():
            raise ours
    assert info.value is ours


def test_digest_tells_shapes_and_nesting_apart() -> None:
    """The consistency digest: sparse matrices of different shapes with the same stored entries, and differently
    nested sequences of the same items, differ. Kills R09 (sparse shape dropped) and R11 (sequence lengths dropped)."""
    from graphvae.training.distributed.runtime import digest

    a = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    b = sp.csr_matrix((a.data, a.indices, a.indptr), shape=(2, 5))
    assert digest(a) != digest(b)
    assert digest((1, 2)) != digest(((1, 2),)) != digest(((1,), (2,)))


def test_counted_collectives_follow_their_documented_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Byte accounting with the collectives stubbed out (no group needed), for 4 ranks and a 10-element float32
    tensor (40 bytes): ring all-reduce ``2 (P-1)/P`` per element on every rank (60), broadcast ``P-1`` copies by the
    source only (120), reduce one copy by every rank but the destination (40), and ``Context.total_sent`` their sum;
    ``is_root`` is rank 0 alone; ``all_to_all`` counts the rows sent to the other ranks only. Kills R13 (all-reduce
    cost halved), R14 (rows kept by the rank counted), R15/R16 (the wrong rank counted), R24, R25."""
    import torch.distributed as dist

    from graphvae.training.distributed import runtime

    for name in ("all_reduce", "broadcast", "reduce"):
        monkeypatch.setattr(dist, name, lambda *a, **k: None)
    t = torch.zeros(10)
    sent = {}
    for rank in range(4):
        ctx = runtime.Context(rank, 4, 30.0)
        monkeypatch.setattr(runtime, "_CONTEXT", ctx)
        runtime.all_reduce_(t, "ar")
        runtime.broadcast_(t, 0, "bc")
        runtime.reduce_(t, 0, "rd")
        sent[rank] = dict(ctx.sent_bytes)
        assert ctx.total_sent() == sum(ctx.sent_bytes.values())
        assert ctx.is_root == (rank == 0)
    assert sent[0] == {"ar": 60, "bc": 120}
    assert all(sent[r] == {"ar": 60, "rd": 40} for r in (1, 2, 3))
    # all_to_all: rank 1 of 3 sends rows 0-1 to rank 0, row 2 to itself (not sent), rows 3-4 to rank 2: 4 rows of
    # 2 float32 columns leave it (32 bytes)
    monkeypatch.setattr(dist, "all_to_all_single", lambda *a, **k: None)
    ctx = runtime.Context(1, 3, 30.0)
    monkeypatch.setattr(runtime, "_CONTEXT", ctx)
    runtime.all_to_all(torch.zeros(5, 2), torch.zeros(5, 2), [2, 1, 2], [2, 1, 2], "halo")
    assert ctx.sent_bytes == {"halo": 32}


def test_store_keys_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rendezvous keys are per restart attempt (torchrun's agent keeps its store across restarts), and rank 0
    serves the store unless torchrun's agent does. Kills R22 and R27."""
    from graphvae.training.distributed.runtime import _hosts_store, _key

    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "0")
    first = _key("status", 1)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "2")
    assert _key("status", 1) != first
    monkeypatch.delenv("TORCHELASTIC_USE_AGENT_STORE", raising=False)
    assert _hosts_store(0) and not _hosts_store(1)
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "True")
    assert not _hosts_store(0)


class _DictStore:
    """A rendezvous store in a dict (``set``/``get``/``wait``/``check`` as ``torch.distributed.TCPStore``)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = {k: v.encode() for k, v in values.items()}

    def set(self, key: str, value: str) -> None:
        self.values[key] = value.encode()

    def get(self, key: str) -> bytes:
        return self.values[key]

    def wait(self, keys: list[str]) -> None:
        assert all(k in self.values for k in keys)

    def check(self, keys: list[str]) -> bool:
        return all(k in self.values for k in keys)


@pytest.mark.parametrize("code, error", [("2", InputError), ("1", "DistributedError")])
def test_meeting_names_a_rank_that_stopped_with_its_kind_of_error(monkeypatch: pytest.MonkeyPatch, code: str,
                                                                   error) -> None:
    """``meet`` on rank 1 of 2 with a store where rank 0 posted how it stopped: exit status 2 (a refused input) is
    an InputError, any other a DistributedError, naming rank 0 and its line; every rank going on raises nothing.
    Kills R23 (always a DistributedError: a refused input under torchrun then exits 1, not 2)."""
    from graphvae.training.distributed import DistributedError, runtime

    for name, value in (("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "1"),
                        ("GRAPHVAE_DIST_TIMEOUT", "5")):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(runtime, "_MET", False)
    monkeypatch.setattr(runtime, "_STORE", _DictStore({runtime._key("status", 0): f"{code}\nbad --epochs"}))
    expected = DistributedError if error == "DistributedError" else error
    with pytest.raises(expected, match="^rank 0 stopped before training: bad --epochs$") as info:
        runtime.meet()
    assert type(info.value) is expected
    monkeypatch.setattr(runtime, "_STORE", _DictStore({runtime._key("status", 0): "0"}))
    runtime.meet()


def test_a_one_rank_group_keeps_the_sigterm_handler(one_rank: None) -> None:
    """``init`` replaces the SIGTERM handler only when there are other ranks to be stopped by the launcher; a world
    of one keeps the caller's. Kills R28."""
    from graphvae.training.distributed import runtime

    before = signal.getsignal(signal.SIGTERM)
    runtime.init()
    try:
        assert signal.getsignal(signal.SIGTERM) is before
    finally:
        runtime.shutdown()


# ----------------------------------------------------------------------------------------------- _sparse

def test_to_torch_csr_sorts_columns_keeps_dtype_and_uses_int32_indices() -> None:
    """``to_torch_csr`` of a scipy CSR with unsorted columns: sorted column indices per row, int32 indices (they
    fit), the requested value dtype, and the same matrix as scipy's (dense comparison). Kills S01 (int64 always),
    S03 (no sort), S04 (dtype ignored)."""
    from graphvae._sparse import to_torch_csr

    indptr, indices = np.array([0, 3, 3, 5]), np.array([4, 0, 2, 3, 1])
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    m = sp.csr_matrix((data, indices, indptr), shape=(3, 5))
    assert not m.has_sorted_indices
    expected = m.toarray()
    t = to_torch_csr(m.copy(), dtype=torch.float64)
    assert t.values().dtype == torch.float64 and t.col_indices().dtype == torch.int32
    assert t.crow_indices().dtype == torch.int32
    cols, crow = t.col_indices().numpy(), t.crow_indices().numpy()
    assert all(np.all(np.diff(cols[crow[i]:crow[i + 1]]) > 0) for i in range(3))
    np.testing.assert_array_equal(t.to_dense().numpy(), expected)


# ----------------------------------------------------------------------------------------------- allocator

def test_the_mmap_threshold_cap_is_glibc_s_default_maximum() -> None:
    """``MAX_MMAP_THRESHOLD`` is glibc's ``DEFAULT_MMAP_THRESHOLD_MAX`` as glibc's ``malloc.c`` defines it on 64-bit
    systems, ``4 * 1024 * 1024 * sizeof(long)`` (32 MiB), the default of :func:`retain_freed_memory`. Kills A09
    (16 MiB: the default threshold lower than documented)."""
    import ctypes
    import inspect

    from graphvae.allocator import MAX_MMAP_THRESHOLD, retain_freed_memory

    if ctypes.sizeof(ctypes.c_long) != 8:
        pytest.skip("64-bit only")
    assert MAX_MMAP_THRESHOLD == 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long) == 32 * 2**20
    assert inspect.signature(retain_freed_memory).parameters["mmap_threshold"].default == 32 * 2**20


# ----------------------------------------------------------------------------------------------- _keys

def test_key_helpers_against_numpy_on_edge_cases() -> None:
    """``is_member`` with an empty table or empty queries, ``first_occurrences`` on many repeats (unstable sorts
    pick another duplicate), and ``unique_inverse``/``unique_sorted``, all against numpy. Kills K07 and K03."""
    from graphvae._keys import first_occurrences, is_member, unique_inverse, unique_sorted

    empty = np.array([], dtype=np.int64)
    np.testing.assert_array_equal(is_member(np.array([3, 1, 2]), empty), np.zeros(3, dtype=bool))
    assert is_member(empty, np.array([1, 2])).shape == (0,)
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 5, 2000)
    np.testing.assert_array_equal(first_occurrences(keys), np.sort(np.unique(keys, return_index=True)[1]))
    u, inv = unique_inverse(keys)
    np.testing.assert_array_equal(u, np.unique(keys))
    np.testing.assert_array_equal(inv, np.unique(keys, return_inverse=True)[1].ravel())
    np.testing.assert_array_equal(unique_sorted(empty), empty)
    table = np.array([2, 4])
    np.testing.assert_array_equal(is_member(keys, table), np.isin(keys, table))


# ----------------------------------------------------------------------------------------------- fit (two ranks)

_TWO_RANKS = '''
import json, os, sys
import torch
sys.path.insert(0, sys.argv[2])
from distributed_worker import small_graph
from graphvae.estimators.models import VGAE
from graphvae.training.distributed.fit import fit_distributed
torch.set_num_threads(1)
rank = int(os.environ["RANK"])
# progress differs by rank on purpose: only rank 0 draws it, so it is not a setting the ranks must share
model = fit_distributed(VGAE(hidden=8, latent=4, epochs=4, random_state=3, beta=0.5, progress=rank == 1),
                        small_graph(n=60, seed=2))
json.dump({"history": model.history_, "traffic": model.traffic_per_epoch_, "rank": model.rank_,
           "world": model.world_size_, "embedding": model.embed().tolist()}, open(sys.argv[1] + str(rank), "w"))
'''


def test_two_ranks_report_the_single_process_history_and_the_documented_traffic(tmp_path: Path) -> None:
    """2 gloo ranks against the single process (same seed): on both ranks every epoch's summed loss terms (kl
    included) equal the single process's, the embeddings too; each rank reports its own rank; and the gradient
    traffic per epoch is the ring all-reduce's ``2 (P-1)/P`` bytes per parameter element (P = 2: the parameters'
    bytes). Kills F13 (traffic not per epoch), F14 (the KL left per rank), F18 (rank_ always 0), F19 (progress
    checked as a shared setting), and R13 (all-reduce cost halved)."""
    from test_distributed import launch

    from graphvae.estimators.models import VGAE

    script = tmp_path / "two.py"
    script.write_text(_TWO_RANKS)
    out = tmp_path / "rank"
    procs = launch([str(script), str(out), str(Path(__file__).resolve().parent)], timeout=120)
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    single = VGAE(hidden=8, latent=4, epochs=4, random_state=3, beta=0.5).fit(_small_graph())
    param_bytes = sum(p.numel() * p.element_size() for p in single.objective_.encoder.parameters())
    for rank in (0, 1):
        got = json.loads(Path(f"{out}{rank}").read_text())
        assert (got["rank"], got["world"]) == (rank, 2)
        assert len(got["history"]) == 4
        for mine, want in zip(got["history"], single.history_):
            for key in ("loss", "elbo", "log_likelihood", "kl"):
                assert mine[key] == pytest.approx(want[key], rel=1e-4, abs=1e-5), (rank, key, mine, want)
        np.testing.assert_allclose(np.array(got["embedding"]), single.embed(), atol=2e-5)
        assert got["traffic"]["gradients"] == pytest.approx(param_bytes), got["traffic"]
