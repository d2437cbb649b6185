"""graphvae on a CUDA device, against the CPU path and against closed forms (skipped on a machine without CUDA).

CI has no GPU: these ran on a lent H200 (``benchmarks/cuda.py`` and ``docs/benchmarks.md``, "CUDA"). A CUDA fit
draws from a CUDA generator, so it trains on other sampled pairs than the CPU fit of the same seed: its models are
compared with the CPU's by their test AUC, and its pieces (operator, encoder, likelihood, optimizer) exactly.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import graphvae as gv
from graphvae.estimators.zoo import make_model
from conftest import random_graph

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda", 0)


@pytest.fixture(scope="module")
def split(cora):
    return gv.split_edges(cora, seed=0)


def test_the_operator_and_encoder_compute_on_cuda_what_they_compute_on_the_cpu(cora):
    from graphvae._device import to_device
    from graphvae.nn.encoder import GCNEncoder, encoder_input
    from graphvae.nn.operator import normalized_adjacency

    n = int(cora.num_nodes)
    for fold in (True, False):
        inp = encoder_input(cora.x, normalized_adjacency(cora.edge_index.numpy(), n), fold=fold)
        encoder = GCNEncoder(int(cora.x.shape[1]), (32,), 16, variational=True)
        cpu = encoder(inp)
        gpu = copy.deepcopy(encoder).to(CUDA)(to_device(inp, CUDA))
        assert gpu.mu.device.type == "cuda"
        assert torch.allclose(gpu.mu.cpu(), cpu.mu, atol=1e-5, rtol=1e-4)
        (cpu.mu.square().sum() + gpu.mu.square().sum().cpu()).backward()  # the cached transposes on the device


def test_the_link_likelihood_on_cuda_is_unbiased_for_the_full_sum():
    """The sampled estimate with a CUDA generator against the brute-force sum over all N^2 pairs."""
    from graphvae._device import to_device
    from graphvae.objectives.likelihood import LinkLikelihood, LinkTarget
    from test_likelihood import exact_log_likelihood

    n = 25
    ei = random_graph(n, 0.15, seed=0)
    target = to_device(LinkTarget.from_edges(ei, n), CUDA)
    z = torch.randn(n, 3)
    exact = exact_log_likelihood(z, torch.from_numpy(ei), n, True)
    gen = torch.Generator(device=CUDA).manual_seed(0)
    lik = LinkLikelihood(negatives_per_positive=1.0)
    draws = torch.stack([lik(z.to(CUDA), target, gen) for _ in range(4000)]).cpu()
    assert draws.std() > 0
    assert abs(draws.mean() - exact) < 5 * draws.std() / np.sqrt(len(draws)) + 1e-4 * abs(exact)


def test_fused_adam_on_cuda_is_torch_fused_adam_bitwise():
    from graphvae.training.trainer import FusedAdam

    gen = torch.Generator().manual_seed(0)
    ours = [torch.randn(5, 3, generator=gen).to(CUDA).requires_grad_(True),
            torch.randn(4, generator=gen).to(CUDA).requires_grad_(True)]
    ref = [p.detach().clone().requires_grad_(True) for p in ours]
    assert FusedAdam.supports(ours)
    mine, theirs = FusedAdam(ours, lr=0.01), torch.optim.Adam(ref, lr=0.01, fused=True)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=gen).to(CUDA) for p in ours]
        for params, opt in ((ours, mine), (ref, theirs)):
            opt.zero_grad(set_to_none=True)
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()
        assert all(torch.equal(a, b) for a, b in zip(ours, ref))


#: every named model with its epochs cut where a full run would take long on the CPU side of the comparison;
#: the tolerance on the test AUC: the spread of one seed's AUC over the sampled pairs (models with masking and
#: dropout vary more)
MODELS = {"gae": 0.02, "vgae": 0.02, "gnae": 0.02, "vgnae": 0.02, "gnae-wd": 0.02, "masked-gnae": 0.02,
          "arga": 0.03, "argva": 0.03, "maskgae": 0.02, "maskgae-wide": 0.02, "maskgae-wide-snapshots": 0.02}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_trains_on_cuda_as_well_as_on_the_cpu(name, split):
    cpu = make_model(name, random_state=0).fit(split)
    gpu = make_model(name, random_state=0, device="cuda").fit(split)
    assert next(gpu.objective_.parameters()).device.type == "cuda"
    cpu_auc = cpu.score(split.test_pos, split.test_neg)["auc"]
    gpu_auc = gpu.score(split.test_pos, split.test_neg)["auc"]
    assert abs(gpu_auc - cpu_auc) < MODELS[name], (name, cpu_auc, gpu_auc)
    z = gpu.embed()
    assert isinstance(z, np.ndarray) and np.isfinite(z).all()
    assert gpu.predict_proba(split.test_pos[:, :5]).shape == (5,)


def test_the_denoising_and_adversarial_options_train_on_cuda(cora):
    for options in (dict(hidden_edges=0.3, feature_noise=0.3), dict(adversarial=1.0), dict(mask_rate=0.5, mask_mode="path")):
        model = gv.GAE(epochs=5, device="cuda", **options).fit(cora)
        assert np.isfinite(model.embed()).all(), options


def test_a_fit_on_cuda_leaves_the_global_random_states_as_they_were(split):
    torch.manual_seed(5)
    cpu_state, cuda_state = torch.get_rng_state(), torch.cuda.get_rng_state()
    gv.VGAE(epochs=3, encoder_dropout=0.2, device="cuda").fit(split)
    gv.VGAE(epochs=3).fit(split)  # a CPU fit on a machine with CUDA leaves the CUDA generator alone
    assert torch.equal(cpu_state, torch.get_rng_state()) and torch.equal(cuda_state, torch.cuda.get_rng_state())


def test_embedding_another_graph_and_the_node_representations_on_cuda(cora):
    from graphvae.estimators.node_embeddings import fit_embeddings

    model = gv.VGAE(epochs=5, device="cuda").fit(cora)
    assert np.allclose(model.embed(cora), model.embed(), atol=1e-5)
    z, fitted = fit_embeddings(cora, "gnae-wd-smooth", epochs=5, device="cuda")
    assert z.shape[0] == cora.num_nodes and np.isfinite(z).all()


def test_the_cli_trains_on_cuda(tmp_path):
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, "-m", "graphvae", "linkpred", "--dataset", "cora", "--seeds", "2",
                          "--device", "cuda", "--no-progress", "--json", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["config"]["device"] == "cuda:0" and report["workers"] == 1
    assert 0.88 < report["auc"]["mean"] < 0.95


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    x = (load_digits().data / 16).astype("float32")
    return x[:1500], x[1500:]


def test_the_image_vae_trains_on_cuda_as_well_as_on_the_cpu(digits):
    train, test = digits
    cpu = gv.ImageVAE(latent=8, epochs=30, random_state=0).fit(train)
    gpu = gv.ImageVAE(latent=8, epochs=30, random_state=0, device="cuda").fit(train)
    assert next(gpu.objective_.parameters()).device.type == "cuda"
    cpu_elbo, gpu_elbo = cpu.elbo(test, 5)["elbo"], gpu.elbo(test, 5)["elbo"]
    assert abs(gpu_elbo - cpu_elbo) < 0.03 * abs(cpu_elbo), (cpu_elbo, gpu_elbo)
    assert gpu.iwae(test[:50], k=50) >= gpu.elbo(test[:50], 5)["elbo"] - 0.5  # the bound is at least the ELBO
    for out in (gpu.transform(test), gpu.sample(5), gpu.reconstruct(test[:5])):
        assert isinstance(out, np.ndarray) and np.isfinite(out).all()


@pytest.mark.parametrize("kind", ["vanilla", "denoising", "sparse", "contractive"])
def test_each_autoencoder_kind_trains_on_cuda_as_well_as_on_the_cpu(kind, digits):
    train, test = digits
    cpu = gv.Autoencoder(kind=kind, epochs=20, random_state=0).fit(train)
    gpu = gv.Autoencoder(kind=kind, epochs=20, random_state=0, device="cuda").fit(train)
    cpu_error, gpu_error = cpu.reconstruction_error(test), gpu.reconstruction_error(test)
    assert abs(gpu_error - cpu_error) < 0.15 * cpu_error, (kind, cpu_error, gpu_error)
    assert np.isfinite(gpu.jacobian_norm(test[:20], method="hutchinson", num_probes=3)).all()
    assert len(gpu.hidden_activations(test[:5])) == 1


def test_the_stacked_autoencoder_trains_on_cuda_as_well_as_on_the_cpu(digits):
    from sklearn.datasets import load_digits

    y = load_digits().target
    (train, test), (y_train, y_test) = digits, (y[:1500], y[1500:])
    cpu = gv.StackedAutoencoder(random_state=0).fit(train, y_train)
    gpu = gv.StackedAutoencoder(random_state=0, device="cuda").fit(train, y_train)
    assert next(gpu.objective_.parameters()).device.type == "cuda"
    assert abs(gpu.score(test, y_test) - cpu.score(test, y_test)) < 0.05
    assert gpu.predict(test[:5]).shape == (5,) and [h.shape[1] for h in gpu.hidden_activations(test[:5])] == [128, 64]


def test_the_ae_command_trains_the_stacked_autoencoder_on_cuda(tmp_path):
    out = tmp_path / "s.json"
    run = subprocess.run([sys.executable, "-m", "graphvae", "ae", "--kind", "stacked", "--epochs", "3", "--device",
                          "cuda", "--no-progress", "--json", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["seeds"][0]["finetuned_accuracy"] > 0.5


def test_the_vae_command_trains_on_cuda(tmp_path):
    out = tmp_path / "v.json"
    run = subprocess.run([sys.executable, "-m", "graphvae", "vae", "--dataset", "digits", "--epochs", "5", "--device",
                          "cuda", "--no-progress", "--json", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["seeds"][0]["test_elbo"] < 0


@pytest.mark.parametrize("command", [
    ["embed", "--dataset", "cora", "--model", "maskgae", "--epochs", "20", "--out", "z.npy"],
    ["classify", "--dataset", "cora", "--model", "gnae-wd", "--epochs", "20"],
    ["cluster", "--dataset", "cora", "--epochs", "20"],
])
def test_the_embedding_commands_train_on_cuda(command, tmp_path):
    run = subprocess.run([sys.executable, "-m", "graphvae", *command, "--device", "cuda", "--no-progress"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    if command[0] == "embed":
        assert np.isfinite(np.load(tmp_path / "z.npy")).all()


def test_masks_drawn_on_cuda_train_as_well_as_those_drawn_on_the_cpu(split):
    """maskgae's undirected masks are drawn on the GPU; drawing them on the CPU and moving each view gives models
    of the same quality (the path of the other masking modes)."""
    gpu = make_model("maskgae", random_state=0, device="cuda").fit(split)
    moved = make_model("maskgae", random_state=0, device="cuda", mask_mode="directed").fit(split)
    aucs = [m.score(split.test_pos, split.test_neg)["auc"] for m in (gpu, moved)]
    assert abs(aucs[0] - aucs[1]) < 0.02 and min(aucs) > 0.95, aucs


def test_a_pyg_data_on_the_gpu_is_read_and_trained(cora):
    """A PyG user's ``data.to("cuda")`` goes to ``fit`` as it is: read through the CPU, trained where asked.
    (Added after the last GPU run of the session that wrote it: not yet run on a GPU.)"""
    data = cora.to_pyg().to("cuda")
    model = gv.GAE(epochs=5, device="cuda").fit(data)
    assert model.embed().shape == (cora.num_nodes, 16)
    assert gv.as_graph(data).y.device.type == "cpu"


@pytest.fixture
def deterministic_mode():
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("name", ["vgae", "gnae-wd", "maskgae"])
def test_cuda_fits_are_bitwise_reproducible_in_torch_deterministic_mode(name, split, deterministic_mode):
    """In torch's deterministic mode the CSR products run on embedding_bag's kernel and torch's index_add_ and 1-D
    scatter_add_ take their deterministic paths: two fits of one seed are the same bits."""
    a, b = (make_model(name, random_state=3, epochs=40, device="cuda").fit(split).embed() for _ in range(2))
    assert np.array_equal(a, b), np.abs(a - b).max()


def test_cuda_fits_by_default_agree_up_to_the_order_of_float_sums(split):
    """By default cuSPARSE's products and the atomic index_add_ may sum in another order on each call: the paper's
    VGAE then moves in the last bits, and a model selected on validation may keep another epoch, within noise."""
    a, b = (gv.VGAE(epochs=60, random_state=3, device="cuda").fit(split).embed() for _ in range(2))
    assert np.abs(a - b).max() < 1e-3
    aucs = [make_model("maskgae", random_state=3, epochs=60, device="cuda").fit(split).score(split.test_pos, split.test_neg)["auc"]
            for _ in range(2)]
    assert abs(aucs[0] - aucs[1]) < 5e-3, aucs
