import numpy as np
import torch

import graphvae as gv
from graphvae.data.embedding_files import load_embeddings, save_embeddings
from graphvae.evaluation.metrics import link_auc_ap


def test_short_training_on_cora_beats_random_embeddings(cora):
    split = gv.split_edges(cora, seed=0)
    model = gv.VGAE(epochs=40, random_state=0).fit(split)
    trained = model.score(split.test_pos, split.test_neg)["auc"]
    random = link_auc_ap(torch.randn(cora.num_nodes, 16), split.test_pos, split.test_neg)["auc"]
    assert trained > 0.85 and trained > random + 0.3
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


def test_training_is_reproducible_and_gae_has_no_kl(cora):
    split = gv.split_edges(cora, seed=0)
    a = gv.GAE(epochs=5, random_state=1).fit(split).embed()
    b = gv.GAE(epochs=5, random_state=1).fit(split).embed()
    c = gv.GAE(epochs=5, random_state=2).fit(split).embed()
    # equal up to float summation order in multithreaded sparse kernels
    assert np.allclose(a, b, atol=1e-5) and not np.allclose(a, c, atol=1e-2)
    assert all(h["kl"] == 0 for h in gv.GAE(epochs=2).fit(split).history_)


def test_early_stopping_keeps_the_best_validation_epoch(cora):
    split = gv.split_edges(cora, seed=0)
    model = gv.VGAE(epochs=30, early_stopping=True, patience=5, random_state=0).fit(split)
    val = [h["val_auc"] for h in model.history_]
    assert model.best_val_auc_ == max(val) and val[model.best_epoch_] == max(val)
    assert abs(model.score(split.val_pos, split.val_neg)["auc"] - max(val)) < 1e-9


def test_embeddings_round_trip(tmp_path, cora):
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    ids = ["a", "b", "c", "d", "e"]
    save_embeddings(tmp_path / "z.npy", z, ids)
    save_embeddings(tmp_path / "z.csv", z, ids)
    assert np.array_equal(load_embeddings(tmp_path / "z.npy")[1], z)
    got_ids, got = load_embeddings(tmp_path / "z.csv")
    assert got_ids == ids and np.array_equal(got, z)


def test_trainer_adam_step_is_torch_fused_adam_bitwise():
    """The trainer's FusedAdam against torch.optim.Adam(fused=True): same iterates, also when a
    parameter has no gradient on some steps (skipped, its step count not advanced)."""
    from graphvae.training.trainer import FusedAdam

    gen = torch.Generator().manual_seed(0)
    ours = [torch.randn(5, 3, generator=gen, requires_grad=True), torch.randn(4, generator=gen, requires_grad=True)]
    ref = [p.detach().clone().requires_grad_(True) for p in ours]
    mine, theirs = FusedAdam(ours, lr=0.01), torch.optim.Adam(ref, lr=0.01, fused=True)
    for step in range(6):
        grads = [torch.randn(p.shape, generator=gen) for p in ours]
        for params, opt in ((ours, mine), (ref, theirs)):
            opt.zero_grad(set_to_none=True)
            for i, (p, g) in enumerate(zip(params, grads)):
                if not (i == 1 and step in (0, 3)):  # the bias gets no gradient on steps 0 and 3
                    p.grad = g.clone()
            opt.step()
        assert all(torch.equal(a, b) for a, b in zip(ours, ref))
    assert not torch.equal(ours[1], torch.zeros(4))
    assert FusedAdam.supports(ours) and not FusedAdam.supports([ours[0], ours[1].double()])
