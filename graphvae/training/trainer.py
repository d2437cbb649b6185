"""The trainer: Adam on ``ELBOTerms.loss`` over whatever batches a model provides (full graph or image mini-batches)."""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterable, Iterator

import torch
from tqdm.auto import tqdm

from .._stages import stage
from ..nn.encoder import EncoderInput, edgeless_input
from ..objectives.elbo import ELBO

Batch = tuple[EncoderInput, Any]
_TOTALS = ("elbo", "log_likelihood", "kl", "penalty")  # the ELBOTerms summed into each history entry


def train_elbo(objective: ELBO, batches: Callable[[int], Iterable[Batch]], epochs: int, lr: float,
               generator: torch.Generator, progress: bool = False,
               on_epoch: Callable[[int, dict], bool] | None = None, desc: str = "training",
               aux_step: Callable[[Any, torch.Generator], None] | None = None,
               lr_schedule: str | None = None, clip_norm: float | None = None,
               stop_on_nan: bool = True) -> list[dict]:
    r"""Maximize the ELBO with Adam and return the per-epoch history.

    ``batches(epoch)`` yields ``(encoder input, likelihood target)`` pairs. Each history entry holds the
    epoch's mean ``loss``, its wall time ``seconds`` (training only) and the totals of ``elbo``, ``log_likelihood``, ``kl`` and ``penalty`` summed
    over its batches (``elbo`` as :attr:`graphvae.objectives.elbo.ELBOTerms.elbo` defines it: with the paper's reweighted
    link likelihood, Kipf & Welling's weighted objective rather than a bound); the first entry also holds ``initial_loss``, the first batch's loss before any step. ``on_epoch(epoch, entry)`` returning ``True`` stops training early.
    ``aux_step(terms, generator)``, if given, runs after every optimizer step with that step's
    :class:`graphvae.objectives.elbo.ELBOTerms` (e.g. ARGA's discriminator update, :mod:`graphvae.objectives.adversarial`).
    ``lr_schedule``: ``None`` (constant ``lr``) or ``"cosine"``, the learning rate of epoch :math:`t` being
    :math:`\eta_t = \tfrac{\eta}{2}(1 + \cos(\pi t / T))` over ``T = epochs`` (Loshchilov & Hutter 2017, SGDR without
    restarts; :func:`schedule_factor`). ``clip_norm``: rescale the gradient to at most this global L2 norm before
    each step (``torch.nn.utils.clip_grad_norm_``). ``stop_on_nan``: end training after the first epoch whose
    loss is NaN or inf (training has diverged: Adam's parameters are NaN, or finite but fitted to an infinite loss;
    the caller reports the divergence at that epoch).
    Callers whose loss sums independent parts pass ``False``: ten seeds trained together, where one seed's NaN
    must not cut the others' training short, and the ranks of a distributed run, which must run the same epochs.

    ``generator`` may be a list of generators, one per component of a disjoint union (:mod:`graphvae.estimators.batched`).
    The stages are labelled for ``torch.profiler`` (``train.forward``/``backward``/``step``/``aux_step``, and
    inside the forward ``elbo.*`` and ``likelihood.*``): a profiler around any ``fit`` gives the stage breakdown
    of this very loop (``benchmarks/_profile.py``); outside a profiler the labels cost nothing (:mod:`graphvae._stages`).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    params = [p for p in objective.parameters() if p.requires_grad]
    optimizer = adam(params, lr)
    schedule_factor(lr_schedule, 0, epochs)  # rejects an unknown schedule before any work
    history = []
    objective.train()
    for epoch in tqdm(range(epochs), desc=desc, disable=not progress, leave=False):
        start = time.perf_counter()
        sums = dict(loss=0.0, elbo=0.0, log_likelihood=0.0, kl=0.0, penalty=0.0)
        count = 0
        if lr_schedule is not None:
            set_lr(optimizer, lr * schedule_factor(lr_schedule, epoch, epochs))
        for inp, target in batches(epoch):
            optimizer.zero_grad(set_to_none=True)
            with stage("train.forward"):
                terms = objective(inp, target, generator)
                loss = terms.loss
            with stage("train.backward"):
                loss.backward()
                if clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, clip_norm, foreach=True)
            with stage("train.step"):
                optimizer.step()
            if aux_step is not None:
                with stage("train.aux_step"):
                    aux_step(terms, generator)
            count += 1
            with torch.no_grad():  # the five scalars in one conversion (one synchronisation instead of five)
                values = torch.stack([loss, *(getattr(terms, key) for key in _TOTALS)]).tolist()
            if not history and count == 1:  # the first batch's loss, computed before any step: where training starts
                initial_loss = values[0]
            sums["loss"] += values[0]
            for key, value in zip(_TOTALS, values[1:]):
                sums[key] += value
        sums["loss"] /= max(count, 1)
        history.append(dict(epoch=epoch, seconds=time.perf_counter() - start, **sums))
        if epoch == 0 and count:
            history[0]["initial_loss"] = initial_loss
        if stop_on_nan and not math.isfinite(sums["loss"]):  # NaN or inf: the model is lost either way
            break
        if on_epoch is not None and on_epoch(epoch, history[-1]):
            break
    objective.eval()
    return history


SCHEDULES = ("cosine",)


def schedule_factor(schedule: str | None, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (0-based) as a fraction of the base rate under ``schedule``."""
    if schedule is None:
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    raise ValueError(f"unknown learning-rate schedule {schedule!r} (choose from: {', '.join(SCHEDULES)})")


def set_lr(optimizer, lr: float) -> None:
    """Set the learning rate of a :class:`FusedAdam` or of every parameter group of a ``torch.optim`` optimizer."""
    if isinstance(optimizer, FusedAdam):
        optimizer.lr = float(lr)
    else:
        for group in optimizer.param_groups:
            group["lr"] = lr


def adam(params: list[torch.Tensor], lr: float):
    """Adam over ``params``: :class:`FusedAdam` where its kernel applies, ``torch.optim.Adam`` otherwise."""
    params = list(params)
    return FusedAdam(params, lr) if FusedAdam.supports(params) else torch.optim.Adam(params, lr=lr)


class FusedAdam:
    r"""Adam as ``torch.optim.Adam(params, lr, fused=True)`` computes it, without ``torch.optim``'s wrapper.

    Each step is torch's fused Adam kernel (``torch._fused_adam_``, the kernel ``torch.optim.Adam`` calls when
    ``fused=True``): one pass over every parameter updates the moments and the parameter,

    .. math:: m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
              \theta \leftarrow \theta - \eta\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    (Kingma & Ba 2015), with the same state (``step`` a float32 scalar per parameter, moments like the
    parameter) and the same rule for parameters without a gradient (skipped, their step not counted), so
    the iterates are bitwise those of ``torch.optim.Adam(fused=True)`` (``tests/test_training.py``).
    Why not ``torch.optim.Adam`` itself: its constructor and ``step`` import ``torch._dynamo`` (about 0.8 s,
    a tenth of a 10-seed Cora ``linkpred``), and its per-step bookkeeping (hooks, grouping by device and
    dtype) is a noticeable part of a 2 ms Cora epoch. Used by :func:`train_elbo` when all parameters share
    one CPU/CUDA device and one float dtype; ``torch.optim.Adam`` otherwise.
    """

    betas = (0.9, 0.999)
    eps = 1e-8

    def __init__(self, params: list[torch.Tensor], lr: float) -> None:
        self.params, self.lr = list(params), float(lr)
        self.state: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def supports(params: list[torch.Tensor]) -> bool:
        """Whether the fused kernel applies: one device (CPU or CUDA) and one float32/float64 dtype."""
        return (bool(params) and len({(p.device, p.dtype) for p in params}) == 1
                and params[0].device.type in ("cpu", "cuda") and params[0].dtype in (torch.float32, torch.float64))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (always set to ``None``, as ``torch.optim``'s default)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step on every parameter that has a gradient."""
        live = [p for p in self.params if p.grad is not None]
        if not live:
            return
        for p in live:
            if id(p) not in self.state:
                self.state[id(p)] = (torch.zeros((), dtype=torch.float32, device=p.device),
                                     torch.zeros_like(p, memory_format=torch.preserve_format),
                                     torch.zeros_like(p, memory_format=torch.preserve_format))
        steps, exp_avgs, exp_avg_sqs = zip(*(self.state[id(p)] for p in live))
        torch._foreach_add_(list(steps), 1)
        torch._fused_adam_(live, [p.grad for p in live], list(exp_avgs), list(exp_avg_sqs), [], list(steps),
                           lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0, eps=self.eps,
                           amsgrad=False, maximize=False, grad_scale=None, found_inf=None)


def image_batches(x: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True) -> Iterator[tuple[EncoderInput, torch.Tensor]]:
    """``(encoder input, target)`` mini-batches of images for :func:`graphvae.training.trainer.train_elbo`, drawn
    on ``x``'s device (``generator`` must live there)."""
    n = x.shape[0]
    order = torch.randperm(n, generator=generator, device=x.device) if shuffle else torch.arange(n, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        xb = x[order[start:start + batch_size]]
        yield edgeless_input(xb), xb
