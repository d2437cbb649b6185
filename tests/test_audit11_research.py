"""Audit 11 (research): a loss that turns +inf ends training (the divergence names that epoch), and a failed
``linkpred`` leaves the outputs already there as they were.

1. The trainer stopped only on a NaN loss. A MaskGAE fit whose loss became +inf at epoch 1 (finite but huge parameters,
so validation still scored) trained on to its last epoch: with early stopping it kept an epoch trained after the
divergence and warned "the loss became NaN or inf at epoch 29, which ended training; the model kept is epoch 3's,
selected on validation before it"; without it, ``linkpred`` said "at epoch 29". The contract
(``Estimator._check_diverged``, README "training stops at the first NaN epoch", "a fit that diverges to NaN or inf
raises"): training ends at the first non-finite epoch, a model selected on validation is one from before it, and
the message names that epoch.

2. ``linkpred --plot`` drew the first seed's figure as soon as that seed was scored: a later seed's divergence then
exited 2 with the JSON untouched but an existing ``link_curves.png`` replaced. The figure is now drawn once every
seed has trained.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import pytest
import torch

import graphvae as gv
from conftest import one_error
from graphvae.cli import main
from graphvae.training.trainer import train_elbo


class _InfFrom(torch.nn.Module):
    """A stand-in objective: loss ``|w|^2``, plus +inf from call ``inf_at`` on (the gradient stays finite)."""

    def __init__(self, inf_at: int) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(3))
        self.inf_at, self.calls = inf_at, 0

    def forward(self, inp: object, target: object, generator: torch.Generator) -> SimpleNamespace:
        loss = (self.w ** 2).sum()
        if self.calls >= self.inf_at:
            loss = loss + math.inf
        self.calls += 1
        zero = loss.detach() * 0
        return SimpleNamespace(loss=loss, elbo=-loss, log_likelihood=-loss, kl=zero, penalty=zero)


def test_trainer_stops_after_the_first_inf_epoch() -> None:
    """Calls 0-4 finite, call 5 (epoch 5, one batch per epoch) +inf: training ends after epoch 5, as after a NaN one;
    with ``stop_on_nan=False`` (batched seeds, torchrun ranks) every epoch still runs."""
    toy = _InfFrom(inf_at=5)
    history = train_elbo(toy, lambda epoch: [(None, None)], 20, 0.1, torch.Generator())
    assert [math.isfinite(e["loss"]) for e in history] == [True] * 5 + [False]
    assert torch.isfinite(toy.w).all()  # an inf loss with finite gradients: the parameters stay finite
    assert len(train_elbo(_InfFrom(inf_at=5), lambda epoch: [(None, None)], 20, 0.1, torch.Generator(),
                          stop_on_nan=False)) == 20


def _graph() -> gv.Graph:
    return gv.as_graph(nx.powerlaw_cluster_graph(200, 3, 0.3, seed=1))


def test_a_selected_maskgae_fit_keeps_an_epoch_from_before_its_inf_loss() -> None:
    """``maskgae-wide`` at lr 1e5 (seed 1): the loss is +inf from epoch 1 with finite parameters. The fit must end at
    that epoch, keep an epoch selected before it, and warn naming it (it kept epoch 3, trained on the inf loss, and
    named epoch 29)."""
    split = gv.split_edges(_graph(), seed=1)
    model = gv.make_model("maskgae-wide", random_state=1, epochs=30, lr=1e5, patience=30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(split)
    losses = [entry["loss"] for entry in model.history_]
    first = next((i for i, loss in enumerate(losses) if not math.isfinite(loss)), None)
    assert first is not None, "this learning rate no longer drives the loss to inf: pick a larger one"
    assert len(losses) == first + 1, f"trained on after the loss became {losses[first]} at epoch {first}"
    assert model.best_epoch_ < first
    said = [str(w.message) for w in caught if issubclass(w.category, gv.DivergenceWarning)]
    assert len(said) == 1 and f"the loss became NaN or inf at epoch {first}," in said[0], said


def test_linkpred_names_the_epoch_the_loss_became_inf(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``linkpred --model maskgae --lr 1e6 --no-early-stopping --epochs 30``: one error line naming the first epoch
    whose loss is inf (read from a 2-epoch fit's history, which stopping cannot change), not the last epoch."""
    edges = tmp_path / "g.csv"
    edges.write_text("".join(f"{u},{v}\n" for u, v in nx.powerlaw_cluster_graph(200, 3, 0.3, seed=1).edges()))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # the command trains on one thread: the reference too
        split = gv.split_edges(gv.as_graph(str(edges)), seed=0)
        reference = gv.make_model("maskgae", random_state=0, epochs=2, lr=1e6, early_stopping=False)
        with pytest.raises(gv.InputError):
            reference.fit(split)
        first = next(i for i, entry in enumerate(reference.history_) if not math.isfinite(entry["loss"]))
        code = main(["linkpred", "--edges", str(edges), "--model", "maskgae", "--lr", "1e6", "--epochs", "30",
                     "--no-early-stopping", "--no-progress"])
    finally:
        torch.set_num_threads(threads)
    assert code == 2
    one_error(capsys, f"seed 0: training diverged: the loss became NaN or inf at epoch {first};")


def test_a_failed_linkpred_leaves_an_existing_figure_and_json_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """Seed 0 trains, seed 1 diverges: exit 2 with that seed's one error line, and the ``--plot`` figure and the
    ``--json`` file already there are untouched (the first seed's figure used to be drawn over the old one before the
    run failed); a run whose seeds all train writes both."""
    import graphvae.cli.linkpred as linkpred

    monkeypatch.chdir(tmp_path)
    Path("g.csv").write_text("".join(f"{u},{v}\n" for u, v in nx.karate_club_graph().edges()))
    Path("figs").mkdir()
    Path("figs/link_curves.png").write_bytes(b"old figure")
    Path("out.json").write_text('{"old": 1}')
    fit = linkpred.fit_model

    def diverge_seed_1(model: gv.VGAE, data: object) -> gv.VGAE:
        if model.random_state == 1:
            raise gv.InputError("training diverged: the loss became NaN or inf at epoch 1; try a smaller learning rate")
        return fit(model, data)

    monkeypatch.setattr(linkpred, "fit_model", diverge_seed_1)
    command = ["linkpred", "--edges", "g.csv", "--epochs", "3", "--seeds", "2", "--sequential", "--workers", "1",
               "--no-progress", "--plot", "figs", "--json", "out.json"]
    assert main(command) == 2
    one_error(capsys, "seed 1: training diverged")
    assert Path("figs/link_curves.png").read_bytes() == b"old figure"
    assert Path("out.json").read_text() == '{"old": 1}'
    monkeypatch.setattr(linkpred, "fit_model", fit)
    assert main(command) == 0
    assert Path("figs/link_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "seeds" in Path("out.json").read_text()
