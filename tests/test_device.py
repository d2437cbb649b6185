"""The ``device`` option on a machine without CUDA: its validation, the generic mover and the CPU path unchanged.

What runs on a CUDA device itself is tested in ``tests/test_cuda.py`` (skipped here)."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae import InputError
from graphvae._device import device_generator, resolve_device, to_device
from conftest import one_error

@pytest.fixture(scope="module")
def cora_split_small(cora):
    return gv.split_edges(cora, seed=0)


no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")


def test_resolve_device_accepts_the_cpu_as_a_name_or_a_device():
    for spelling in ("cpu", torch.device("cpu")):
        assert resolve_device(spelling) == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu0", "", "cuda:x", 3.5])
def test_resolve_device_refuses_what_torch_cannot_parse(bad):
    with pytest.raises(InputError, match="unknown device"):
        resolve_device(bad)


def test_resolve_device_refuses_devices_it_does_not_train_on():
    with pytest.raises(InputError, match="not supported"):
        resolve_device("meta")


@no_cuda
def test_cuda_without_cuda_is_one_clear_error():
    with pytest.raises(InputError, match="finds no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="finds no CUDA device"):
        gv.VGAE(device="cuda:1", epochs=1).fit(nx.path_graph(4))


@no_cuda
def test_the_cli_says_so_in_one_line_with_exit_status_2():
    run = subprocess.run([sys.executable, "-m", "graphvae", "linkpred", "--dataset", "cora", "--device", "cuda",
                          "--no-progress"], capture_output=True, text=True)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "CUDA" in lines[0] and "Traceback" not in run.stderr


def test_the_cli_refuses_workers_on_a_cuda_device(monkeypatch, capsys):
    from graphvae.cli.main import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert main(["linkpred", "--dataset", "cora", "--device", "cuda", "--workers", "2", "--no-progress"]) == 2
    assert "--workers" in one_error(capsys, "--device cuda:0")


def test_a_cuda_index_beyond_the_devices_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(InputError, match=r"only 2 CUDA devices \(cuda:0..cuda:1\)"):
        resolve_device("cuda:2")


@dataclasses.dataclass(frozen=True)
class _Target:
    keys: torch.Tensor
    size: int
    cache: dict = dataclasses.field(default_factory=dict, init=False)


@dataclasses.dataclass(frozen=True)
class _View:
    base: _Target
    weights: torch.Tensor
    name: str = "view"


class _Movable:
    def __init__(self):
        self.moved_to = None

    def to(self, device):
        out = _Movable()
        out.moved_to = device
        return out


def test_to_device_moves_tensors_inside_dataclasses_tuples_and_movable_objects():
    meta = torch.device("meta")  # a real device without storage: every tensor must have been moved
    base = _Target(torch.arange(5), 5)
    base.cache["filled"] = torch.ones(2)
    view = _View(base, torch.zeros(3))
    moved = to_device((view, [torch.ones(2), None, 7], _Movable()), meta)
    moved_view, (tensor, nothing, seven), movable = moved
    assert isinstance(moved, tuple) and moved_view.base.keys.device == meta and moved_view.weights.device == meta
    assert moved_view.name == "view" and moved_view.base.size == 5
    assert moved_view.base.cache == {}  # a field outside __init__ (a cache) starts afresh on the device
    assert tensor.device == meta and nothing is None and seven == 7 and movable.moved_to == meta
    assert view.weights.device.type == "cpu" and base.keys.device.type == "cpu"  # the originals stay


def test_to_device_moves_a_persistent_object_once_and_keeps_nothing_else():
    meta, memo = torch.device("meta"), {}
    base = _Target(torch.arange(5), 5)
    first = to_device(_View(base, torch.zeros(3)), meta, memo, persistent=(_Target,))
    second = to_device(_View(base, torch.ones(3)), meta, memo, persistent=(_Target,))
    assert first.base is second.base  # moved once: a cache filled on the device would persist
    assert list(memo) == [id(base)]  # the views, new each epoch, are not kept
    assert to_device(base, meta, memo) is first.base


def test_the_cpu_generator_is_the_cpu_fits_own():
    cpu = torch.Generator().manual_seed(3)
    assert device_generator(torch.device("cpu"), 3, cpu) is cpu


@pytest.mark.parametrize("model", ["vgae", "maskgae"])
def test_device_cpu_is_the_default_fit(model, cora_split_small):
    """``device="cpu"`` given explicitly trains exactly the model of the default (the same draws, bit for bit)."""
    from graphvae.estimators.zoo import make_model

    default = make_model(model, epochs=3, random_state=1).fit(cora_split_small)
    explicit = make_model(model, epochs=3, random_state=1, device="cpu").fit(cora_split_small)
    assert np.array_equal(default.embed(), explicit.embed())


@pytest.mark.parametrize("model", ["vgae", "maskgae"])
def test_torch_deterministic_mode_leaves_a_cpu_fit_as_it_was(model, cora_split_small):
    """The deterministic mode switches CUDA's CSR products to the kernel the CPU always runs: CPU fits are the same."""
    from graphvae.estimators.zoo import make_model

    default = make_model(model, epochs=3, random_state=1).fit(cora_split_small)
    torch.use_deterministic_algorithms(True)
    try:
        deterministic = make_model(model, epochs=3, random_state=1).fit(cora_split_small)
    finally:
        torch.use_deterministic_algorithms(False)
    assert np.array_equal(default.embed(), deterministic.embed())


def test_a_fit_leaves_the_global_torch_state_as_it_was(cora_split_small):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    gv.VGAE(epochs=2, device="cpu").fit(cora_split_small)
    assert torch.equal(before, torch.get_rng_state())


def test_the_json_config_records_the_device(tmp_path):
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, "-m", "graphvae", "linkpred", "--dataset", "cora", "--epochs", "2",
                          "--seeds", "1", "--no-progress", "--json", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    import json
    assert json.loads(out.read_text())["config"]["device"] == "cpu"


def test_image_estimators_take_the_device_too(tmp_path):
    from sklearn.datasets import load_digits

    x = (load_digits().data[:200] / 16).astype("float32")
    default = gv.ImageVAE(epochs=2, random_state=3).fit(x)
    explicit = gv.ImageVAE(epochs=2, random_state=3, device="cpu").fit(x)
    assert np.array_equal(default.transform(x), explicit.transform(x))
    assert default.elbo(x, random_state=1) == explicit.elbo(x, random_state=1)
    auto = gv.Autoencoder(kind="contractive", epochs=1, device="cpu").fit(x)
    assert auto.model_.device == "cpu" and np.isfinite(auto.jacobian_norm(x[:5], method="hutchinson")).all()
    assert gv.Autoencoder(device="cuda:0").graph_model().device == "cuda:0"  # passed through, checked at fit
    y = load_digits().target[:200]
    stacked = [gv.StackedAutoencoder(pretrain_epochs=1, finetune_epochs=1, random_state=3, **kw).fit(x, y)
               for kw in ({}, {"device": "cpu"})]
    assert np.array_equal(stacked[0].predict_proba(x), stacked[1].predict_proba(x))


@no_cuda
def test_image_estimators_without_cuda_say_so():
    with pytest.raises(InputError, match="finds no CUDA device"):
        gv.ImageVAE(epochs=1, device="cuda").fit(np.zeros((4, 3), dtype="float32"))
    with pytest.raises(InputError, match="finds no CUDA device"):
        gv.Autoencoder(epochs=1, device="cuda").fit(np.zeros((4, 3), dtype="float32"))
    with pytest.raises(InputError, match="finds no CUDA device"):
        gv.StackedAutoencoder(device="cuda").fit(np.zeros((4, 3), dtype="float32"), [0, 1, 0, 1])


def test_masks_drawn_on_a_device_are_the_cpu_masks_when_that_device_is_the_cpu(cora):
    """The on-device masking path (moved once, drawn with the device's generator) run on the CPU: the same views
    as the CPU path, bit for bit, and every view refers to the one moved link target."""
    from graphvae.objectives.likelihood import LinkTarget
    from graphvae.objectives.masking import masked_batches

    n, cpu = int(cora.num_nodes), torch.device("cpu")
    base = LinkTarget.from_edges(cora.edge_index, n)
    moved = {id(base): (base, to_device(base, cpu))}
    plain = masked_batches(cora.edge_index, cora.x, n, 0.5, torch.Generator().manual_seed(4), fold=False, base=base)
    on_device = masked_batches(cora.edge_index, cora.x, n, 0.5, torch.Generator().manual_seed(4), fold=False,
                               base=base, device=cpu, memo=moved)
    for epoch in range(3):
        [(inp_a, target_a)], [(inp_b, target_b)] = plain(epoch), on_device(epoch)
        assert torch.equal(inp_a.adj.csr.to_dense(), inp_b.adj.csr.to_dense())
        assert torch.equal(target_a.weights, target_b.weights)
        assert torch.equal(target_a.hidden_edge_index, target_b.hidden_edge_index)
        assert target_b.base is moved[id(base)][1] and target_a.base is base
    with pytest.raises(ValueError, match="undirected mode"):
        masked_batches(cora.edge_index, cora.x, n, 0.5, torch.Generator(), fold=True, base=base, device=cpu)


@no_cuda
def test_a_refit_on_a_missing_device_keeps_the_previous_fit(cora_split_small):
    model = gv.VGAE(epochs=2).fit(cora_split_small)
    before = model.embed()
    with pytest.raises(InputError, match="CUDA"):
        model.set_params(device="cuda").fit(cora_split_small)
    assert np.array_equal(model.embed(), before)  # as for any other bad parameter, nothing was forgotten
