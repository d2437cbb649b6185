"""Options of the stronger models against independent references: the 16-bit-lane dropout, the cosine
learning-rate schedule and gradient clipping of the trainer, MaskGAE's path masking."""
import math

import numpy as np
import pytest
import torch
from conftest import all_pair_logits, random_graph

from graphvae.nn.dropout import drop_threshold, dropout, keep_mask
from graphvae.nn.encoder import GCNEncoder, encoder_input
from graphvae.nn.operator import normalized_adjacency
from graphvae.objectives.elbo import ELBO
from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
from graphvae.objectives.masking import mask_paths, masked_batches
from graphvae.training.trainer import schedule_factor, train_elbo


# ------------------------------------------------------------------------------------------------ dropout
@pytest.mark.parametrize("p", [0.2, 0.8, 0.5])
def test_keep_mask_frequency_is_binomial_with_the_rounded_probability(p):
    torch.manual_seed(0)
    n = 400_001  # not a multiple of 4: the last random word is cut
    keep = keep_mask((n,), p)
    q = 1 - drop_threshold(p) / 2 ** 16
    assert abs(q - (1 - p)) <= 2 ** -17
    # within 5 binomial standard deviations of n q
    assert abs(int(keep.sum()) - n * q) < 5 * math.sqrt(n * q * (1 - q))
    # the four 16-bit lanes of a word are independent: each lane position keeps at the same rate,
    # and neighbouring entries are uncorrelated
    lanes = keep[: n - 1].view(-1, 4).double()
    assert torch.allclose(lanes.mean(0), torch.full((4,), q, dtype=torch.float64), atol=5 * math.sqrt(q * (1 - q) * 4 / n))
    both = (lanes[:, 0] * lanes[:, 1]).mean()
    assert abs(float(both) - q * q) < 5 * math.sqrt(q * q * (1 - q * q) * 4 / n)


def test_masks_are_the_draws_of_randint_words_and_dropout_mask_is_the_scaled_keep_mask():
    """The lanes come from ``random_(-2**63, None)`` words with the sign bit flipped: the same words as
    ``torch.randint(-2**63, 2**63 - 1)`` from the same state (the generator ending in the same state), and
    :func:`dropout_mask` is ``keep_mask`` times the scale, value for value."""
    from graphvae.nn.dropout import dropout_mask

    n, p = 40_003, 0.2
    torch.manual_seed(5)
    words = torch.randint(-(1 << 63), (1 << 63) - 1, (-(-n // 4),), dtype=torch.int64)
    after = torch.rand(3)
    expected = words.view(torch.int16)[:n] >= drop_threshold(p) - (1 << 15)
    torch.manual_seed(5)
    assert torch.equal(keep_mask((n,), p), expected)
    assert torch.equal(torch.rand(3), after)
    torch.manual_seed(5)
    scale = 2 ** 16 / (2 ** 16 - drop_threshold(p))
    assert torch.equal(dropout_mask((n,), p), expected.float() * scale)
    assert dropout_mask((7, 3), p, torch.float64).dtype == torch.float64


def test_dropout_is_unbiased_scaled_and_identity_in_evaluation():
    torch.manual_seed(1)
    h = torch.randn(64, 16)
    out = dropout(h, 0.3)
    kept = out != 0
    scale = 2 ** 16 / (2 ** 16 - drop_threshold(0.3))
    assert torch.allclose(out[kept], h[kept] * scale)
    mean = torch.stack([dropout(h, 0.3) for _ in range(4000)]).mean(0)
    assert torch.allclose(mean, h, atol=0.1)                 # E[dropout(h)] = h
    assert dropout(h, 0.3, training=False) is h and dropout(h, 0.0) is h
    with pytest.raises(ValueError):
        dropout(h, 1.0)


# ------------------------------------------------------------------------------- trainer: schedule, clipping
def _tiny_objective(seed: int = 0):
    n = 12
    edges = torch.from_numpy(random_graph(n, 0.3, seed=seed))
    torch.manual_seed(seed)
    x = torch.randn(n, 5)
    enc = GCNEncoder(5, (8,), 4, variational=False)
    inp = encoder_input(x, normalized_adjacency(edges.numpy(), n))
    target = LinkTarget.from_edges(edges, n)
    return ELBO(enc, LinkLikelihood()), inp, target


@pytest.mark.parametrize("schedule,clip", [("cosine", None), (None, 0.05), ("cosine", 0.05)])
def test_schedule_and_clipping_match_torch_adam_with_its_scheduler_and_clip_grad_norm(schedule, clip):
    """The trainer against a hand-written loop with torch.optim.Adam(fused=True),
    torch.optim.lr_scheduler.CosineAnnealingLR and torch.nn.utils.clip_grad_norm_."""
    epochs, lr = 7, 0.05
    ours, inp, target = _tiny_objective()
    ref, _, _ = _tiny_objective()
    ref.load_state_dict(ours.state_dict())
    train_elbo(ours, lambda e: [(inp, target)], epochs, lr, torch.Generator().manual_seed(3),
               lr_schedule=schedule, clip_norm=clip)
    params = [p for p in ref.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, fused=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if schedule else None
    gen = torch.Generator().manual_seed(3)
    ref.train()
    clipped = False
    for _ in range(epochs):
        opt.zero_grad()
        ref(inp, target, gen).loss.backward()
        if clip is not None:
            clipped |= float(torch.nn.utils.clip_grad_norm_(params, clip)) > clip
        opt.step()
        if sched is not None:
            sched.step()
    if clip is not None:
        assert clipped  # the test exercises the clipping
    for a, b in zip(ours.parameters(), ref.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_cosine_factor_closed_form_and_unknown_schedule():
    assert schedule_factor("cosine", 0, 10) == 1.0
    assert schedule_factor("cosine", 5, 10) == pytest.approx(0.5)
    assert schedule_factor(None, 7, 10) == 1.0
    with pytest.raises(ValueError, match="schedule"):
        schedule_factor("step", 0, 10)


# --------------------------------------------------------------------------------------------- path masking
def _reference_walks(edges: np.ndarray, n: int, rate: float, length: int, gen: torch.Generator) -> set:
    """Brute force with adjacency lists, consuming the same random numbers: the directed pairs walked."""
    neighbours = {i: sorted(int(j) for j in edges[1][edges[0] == i]) for i in range(n)}
    walkers = torch.randperm(n, generator=gen)[:round(rate * n)].tolist()
    walked = set()
    for _ in range(length):
        walkers = [u for u in walkers if neighbours[u]]
        draws = torch.rand(len(walkers), generator=gen).tolist()
        nxt = []
        for u, r in zip(walkers, draws):
            v = neighbours[u][min(int(r * len(neighbours[u])), len(neighbours[u]) - 1)]
            walked.add((u, v))
            nxt.append(v)
        walkers = nxt
    return walked


@pytest.mark.parametrize("rate,length", [(0.7, 3), (0.3, 1), (1.0, 5)])
def test_path_masking_hides_exactly_the_walked_edges(rate, length):
    n = 30
    edges = random_graph(n, 0.12, seed=4)
    visible, hidden = mask_paths(torch.from_numpy(edges), n, rate, length, torch.Generator().manual_seed(5))
    expected = _reference_walks(edges, n, rate, length, torch.Generator().manual_seed(5))
    pairs = lambda e: set(zip(e[0].tolist(), e[1].tolist()))
    assert pairs(hidden) == expected
    kept = pairs(edges) - expected  # an edge stays visible when either direction was not walked (MaskGAE's code)
    assert pairs(visible) == kept | {(v, u) for u, v in kept}


def test_path_masked_batches_feed_the_visible_graph_and_reject_unknown_modes():
    n = 20
    edges = torch.from_numpy(random_graph(n, 0.3, seed=6))
    batches = masked_batches(edges, torch.randn(n, 3), n, 0.5, torch.Generator().manual_seed(0), mode="path")
    inp, target = batches(0)[0]
    hidden = {tuple(e) for e in target.hidden_edge_index.T.tolist()}
    assert 0 < target.num_hidden == len(hidden) < edges.shape[1]
    with pytest.raises(ValueError, match="mode"):
        masked_batches(edges, torch.randn(n, 3), n, 0.5, torch.Generator(), mode="node")


# ---------------------------------------------------------------------------------------------- allocator
_FAULTS = """
import resource, sys, torch
from graphvae.allocator import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory()
elif sys.argv[1] == "mapped":  # every tensor mapped afresh: glibc's way above its threshold, pinned at 128 kB here
    assert retain_freed_memory(mmap_threshold=128 * 1024, trim_threshold=128 * 1024)
def step():  # like a training step: several 12 MB tensors alive together, all freed at its end
    held = [torch.empty(3_000_000).fill_(1.0) for _ in range(6)]
    return float(sum(t[0] for t in held))
for _ in range(3):  # warm up (the first allocations fault in any case)
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc only")
def test_retained_memory_avoids_page_faults_of_reallocated_tensors():
    """Page faults, counted by the kernel (getrusage), of re-allocating 12 MB tensors: with the setting
    they are reused from the heap (almost no faults); mapped afresh, each one is faulted in again.

    The control pins glibc's threshold (``mapped``): with glibc's own dynamic threshold the count depends on
    where the heap's top happens to lie, which varies from process to process (55k to 175k faults here)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}  # 4 kB pages: a fault per page
    faults = {mode: int(subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True,
                                       check=True, env=env).stdout) for mode in ("mapped", "retain")}
    pages = 10 * 6 * 3_000_000 * 4 // 4096  # six 12 MB tensors per step
    assert faults["mapped"] > pages / 2
    assert faults["retain"] < pages / 4


# ------------------------------------------------------------------------------- degree-distributed negatives
def test_degree_negatives_follow_the_degree_power_and_estimate_the_weighted_sum():
    from graphvae.objectives.edge_decoders import DecodedLinkLikelihood, HadamardMLPDecoder

    n, power = 25, 0.75
    edges = torch.from_numpy(random_graph(n, 0.2, seed=4))
    target = LinkTarget.from_edges(edges, n)
    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(4, 8)
    lik = DecodedLinkLikelihood(decoder, negative_power=power)
    degree = np.bincount(edges[0].numpy(), minlength=n) + 1.0   # training degree + the diagonal, by networkx-free count
    q = degree ** power / (degree ** power).sum()
    # the partners' empirical frequencies against q (each row draws k of them)
    g = torch.Generator().manual_seed(1)
    cols = torch.cat([lik.sampled_pairs(target, g)[1] for _ in range(300)]).numpy()
    freq = np.bincount(cols, minlength=n) / cols.size
    assert np.abs(freq - q).max() < 5 * np.sqrt(q * (1 - q) / cols.size).max()
    # the estimate's expectation: the non-edge sum with pair (i, j) weighted by N q_j
    z = torch.randn(n, 4)
    logits, pos = all_pair_logits(decoder, z, edges)
    logsig = lambda t: -np.logaddexp(0, -t)
    with torch.no_grad():
        exact = (n * q[None, :] * logsig(-logits))[~pos].sum()
        g = torch.Generator().manual_seed(0)
        estimates = torch.stack([lik.negative_sum(z, None, target, g) for _ in range(400)]).double()
    assert abs(float(estimates.mean()) - exact) < 4 * float(estimates.std()) / 400 ** 0.5
    uniform = (logsig(-logits))[~pos].sum()
    assert abs(float(estimates.mean()) - uniform) > 4 * float(estimates.std()) / 400 ** 0.5  # it is another sum


def test_checkpointed_decoder_chunks_replay_their_dropout_masks_in_backward():
    """With dropout, the checkpointed chunks (recomputed in backward) give the gradients of the same masks as
    a plain pass chunk by chunk from the same random state."""
    from graphvae.objectives.edge_decoders import HadamardMLPDecoder

    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(6, 5, dropout=0.4)
    decoder.chunk = 7
    z = torch.randn(30, 6, requires_grad=True)
    row, col = torch.randint(0, 30, (2, 100))
    torch.manual_seed(1)
    plain = torch.cat([decoder._logits(z, r, c) for r, c in zip(row.split(7), col.split(7))])
    expected = torch.autograd.grad(plain.square().sum(), [z, *decoder.parameters()])
    torch.manual_seed(1)
    chunked = decoder(z, row, col)
    assert torch.equal(chunked, plain)
    for a, b in zip(torch.autograd.grad(chunked.square().sum(), [z, *decoder.parameters()]), expected):
        assert torch.allclose(a, b, atol=1e-6)


_GC_STATE = """
import gc, json, sys
from graphvae.cli.main import main
sys.argv = ["graphvae"] + sys.argv[1:]
state = {}
import graphvae.allocator as allocator
original = allocator.keep_imported_objects
def spy():  # the state the training step finds, before and after the CLI resumes the collector
    state["paused_before_training"] = not gc.isenabled()
    original()
    state["enabled_for_training"] = gc.isenabled()
    state["frozen_for_training"] = gc.get_freeze_count()
allocator.keep_imported_objects = spy
code = main() if sys.argv[1] != "in-process" else main(sys.argv[2:])
state.update(code=code, enabled_at_exit=gc.isenabled(), frozen_at_exit=gc.get_freeze_count())
print(json.dumps(state))
"""


def _gc_state(*argv: str) -> dict:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "GRAPHVAE_DATA": os.environ.get("GRAPHVAE_DATA", "")}
    r = subprocess.run([sys.executable, "-c", _GC_STATE, *argv], capture_output=True, text=True, check=True, env=env)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _small_graph_arguments(tmp_path) -> list[str]:
    import numpy as np

    edges = tmp_path / "ring.csv"
    rng = np.random.default_rng(0)
    pairs = {(i, (i + 1) % 60) for i in range(60)} | {tuple(sorted(p)) for p in rng.integers(0, 60, (120, 2)) if p[0] != p[1]}
    edges.write_text("\n".join(f"{a},{b}" for a, b in sorted(pairs)))
    return ["linkpred", "--edges", str(edges), "--epochs", "2", "--no-progress", "--threads", "1"]


def test_cli_pauses_the_collector_during_imports_and_freezes_before_training_and_exit(tmp_path):
    """As the process's command, ``linkpred`` imports with the garbage collector paused, trains with it running
    and the imported objects frozen, and leaves every object frozen for the interpreter's exit."""
    state = _gc_state(*_small_graph_arguments(tmp_path))
    assert state["code"] == 0
    assert state["paused_before_training"] and state["enabled_for_training"]
    assert state["frozen_for_training"] > 10_000  # torch's and scikit-learn's objects
    assert state["enabled_at_exit"] and state["frozen_at_exit"] >= state["frozen_for_training"]


def test_cli_called_with_arguments_leaves_the_collector_alone(tmp_path):
    state = _gc_state("in-process", *_small_graph_arguments(tmp_path))  # main([...]) as tests and programs call it
    assert state["code"] == 0 and state["enabled_at_exit"] and state["frozen_at_exit"] == 0
    assert state["paused_before_training"] is False and state["frozen_for_training"] == 0


# ------------------------------------------------------------------------------- transparent huge pages
_HUGE_PAGES = """
import os, sys
from graphvae.cli.main import main
sys.argv = ["graphvae"] + sys.argv[1:]
code = main()  # as the graphvae script: a whole command, its tensors included, before the check below
import torch
big = torch.ones(32 << 20)  # 128 MB: would PyTorch put it on huge pages, after everything the command allocated?
huge_kb = next(int(line.split()[1]) for line in open("/proc/self/smaps_rollup") if line.startswith("AnonHugePages"))
print(code, os.environ.get("THP_MEM_ALLOC_ENABLE"), huge_kb)
"""


def _kernel_offers_huge_pages() -> bool:
    from graphvae.allocator import THP_SETTING

    try:
        with open(THP_SETTING) as f:
            return "[never]" not in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not _kernel_offers_huge_pages(), reason="no transparent huge pages in this kernel")
def test_cli_requests_huge_pages_before_its_first_tensor(tmp_path):
    """PyTorch reads its huge-page switch at the process's first tensor allocation: the CLI must set it before
    anything allocates, or it is silently off. After a whole command has run, a large tensor is on huge pages."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    r = subprocess.run([sys.executable, "-c", _HUGE_PAGES, *_small_graph_arguments(tmp_path)], capture_output=True,
                       text=True, env=env, check=True)
    code, switch, huge_kb = r.stdout.split()[-3:]
    assert (code, switch) == ("0", "1")
    assert int(huge_kb) >= 2048  # at least one 2 MB page (the 128 MB tensor: up to 64 of them)


def test_huge_pages_respect_the_kernel_and_the_user(tmp_path, monkeypatch):
    import os
    import sys

    import graphvae.allocator as allocator

    setting = tmp_path / "enabled"
    monkeypatch.setattr(allocator, "THP_SETTING", str(setting))
    monkeypatch.delenv("THP_MEM_ALLOC_ENABLE", raising=False)
    setting.write_text("always madvise [never]\n")
    assert not allocator.use_huge_pages() and "THP_MEM_ALLOC_ENABLE" not in os.environ
    setting.unlink()  # a kernel without transparent huge pages
    assert not allocator.use_huge_pages() and "THP_MEM_ALLOC_ENABLE" not in os.environ
    setting.write_text("always [madvise] never\n")
    if sys.platform.startswith("linux"):
        assert allocator.use_huge_pages() and os.environ["THP_MEM_ALLOC_ENABLE"] == "1"
        monkeypatch.setenv("THP_MEM_ALLOC_ENABLE", "0")  # the user's own choice is kept
        assert not allocator.use_huge_pages() and os.environ["THP_MEM_ALLOC_ENABLE"] == "0"
    else:
        assert not allocator.use_huge_pages()
