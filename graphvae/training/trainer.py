"""The trainer: Adam on ``ELBOTerms.loss`` over whatever batches a model provides (full graph or image mini-batches)."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator

import torch
from tqdm.auto import tqdm

from .._stages import stage
from ..nn.encoder import EncoderInput, edgeless_input
from ..objectives.elbo import ELBO

Batch = tuple[EncoderInput, Any]


def train_elbo(objective: ELBO, batches: Callable[[int], Iterable[Batch]], epochs: int, lr: float,
               generator: torch.Generator, progress: bool = False,
               on_epoch: Callable[[int, dict], bool] | None = None, desc: str = "training",
               aux_step: Callable[[Any, torch.Generator], None] | None = None) -> list[dict]:
    """Maximize the ELBO with Adam and return the per-epoch history.

    ``batches(epoch)`` yields ``(encoder input, likelihood target)`` pairs. Each history entry holds the
    epoch's mean ``loss``, its wall time ``seconds`` (training only) and the totals of ``elbo``, ``log_likelihood``, ``kl`` and ``penalty`` summed
    over its batches. ``on_epoch(epoch, entry)`` returning ``True`` stops training early.
    ``aux_step(terms, generator)``, if given, runs after every optimizer step with that step's
    :class:`graphvae.objectives.elbo.ELBOTerms` (e.g. ARGA's discriminator update, :mod:`graphvae.objectives.adversarial`).

    ``generator`` may be a list of generators, one per component of a disjoint union (:mod:`graphvae.estimators.batched`).
    The stages are labelled for ``torch.profiler`` (``train.forward``/``backward``/``step``/``aux_step``, and
    inside the forward ``elbo.*`` and ``likelihood.*``): a profiler around any ``fit`` gives the stage breakdown
    of this very loop (``benchmarks/_profile.py``); outside a profiler the labels cost nothing (:mod:`graphvae._stages`).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    params = [p for p in objective.parameters() if p.requires_grad]
    # the fused kernel is one pass over each parameter (CPU and CUDA); plain Adam where it is unavailable
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in params)
    optimizer = torch.optim.Adam(params, lr=lr, fused=fused or None)
    history = []
    objective.train()
    for epoch in tqdm(range(epochs), desc=desc, disable=not progress, leave=False):
        start = time.perf_counter()
        sums = dict(loss=0.0, elbo=0.0, log_likelihood=0.0, kl=0.0, penalty=0.0)
        count = 0
        for inp, target in batches(epoch):
            optimizer.zero_grad(set_to_none=True)
            with stage("train.forward"):
                terms = objective(inp, target, generator)
                loss = terms.loss
            with stage("train.backward"):
                loss.backward()
            with stage("train.step"):
                optimizer.step()
            if aux_step is not None:
                with stage("train.aux_step"):
                    aux_step(terms, generator)
            count += 1
            sums["loss"] += float(loss.detach())
            for key in ("elbo", "log_likelihood", "kl", "penalty"):
                sums[key] += float(getattr(terms, key).detach())
        sums["loss"] /= max(count, 1)
        history.append(dict(epoch=epoch, seconds=time.perf_counter() - start, **sums))
        if on_epoch is not None and on_epoch(epoch, history[-1]):
            break
    objective.eval()
    return history


def image_batches(x: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
                  shuffle: bool = True) -> Iterator[tuple[EncoderInput, torch.Tensor]]:
    """``(encoder input, target)`` mini-batches of images for :func:`graphvae.training.trainer.train_elbo`."""
    order = torch.randperm(x.shape[0], generator=generator) if shuffle else torch.arange(x.shape[0])
    for start in range(0, x.shape[0], batch_size):
        xb = x[order[start:start + batch_size]]
        yield edgeless_input(xb), xb
