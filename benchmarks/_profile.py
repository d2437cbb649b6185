"""Stage breakdown of the shared trainer: ``torch.profiler`` around a real ``fit`` (no private copy of the loop).

:func:`graphvae.training.trainer.train_elbo`, :class:`graphvae.objectives.elbo.ELBO` and :class:`graphvae.objectives.likelihood.LinkLikelihood`
label their stages with ``torch.profiler.record_function`` (``train.forward``, ``elbo.encoder``,
``likelihood.sample_pairs``, ...). :func:`profile_fit` runs any ``fit`` under the profiler and reports,
per training epoch, the wall milliseconds inside every label, the backward pass per autograd node,
and the top operators by self CPU time.
"""
from __future__ import annotations

import bisect
from collections import Counter
from typing import Callable

import torch

LABELS = ("train.forward", "elbo.encoder", "elbo.rsample", "elbo.likelihood", "likelihood.positives",
          "likelihood.sample_pairs", "likelihood.pair_scores", "likelihood.control_variate", "elbo.kl",
          "train.backward", "train.step")
_BACKWARD = "autograd::engine::evaluate_function: "


def profile_fit(fit: Callable[[], object], epochs: int, top: int = 12) -> dict:
    """Run ``fit()`` (which trains ``epochs`` epochs) under ``torch.profiler``; milliseconds per epoch by stage.

    Stage times are the wall time inside each label (children included), averaged over the epochs; the
    profiler itself adds a few microseconds per operator, so small graphs read somewhat slower than unprofiled.
    """
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fit()
    events = prof.key_averages()
    per_epoch = lambda us: round(us / 1e3 / epochs, 3)
    stages = {e.key: per_epoch(e.cpu_time_total) for e in events if e.key in LABELS}
    backward = sorted(((e.key[len(_BACKWARD):], e.cpu_time_total) for e in events if e.key.startswith(_BACKWARD)),
                      key=lambda kv: -kv[1])
    ops = sorted((e for e in events if e.key.startswith("aten::")), key=lambda e: -e.self_cpu_time_total)[:top]
    return {
        "epochs": epochs,
        "aten_calls_per_epoch": aten_calls(prof.events(), epochs),
        "stages_ms_per_epoch": {k: stages[k] for k in LABELS if k in stages},
        "backward_ms_per_epoch": {k: per_epoch(v) for k, v in backward[:top]},
        "top_ops": [{"op": e.key, "self_ms_per_epoch": per_epoch(e.self_cpu_time_total), "calls_per_epoch":
                     round(e.count / epochs, 1)} for e in ops],
    }


def aten_calls(events, epochs: int) -> dict:
    """ATen calls per epoch (nested calls included): the total and by innermost stage label ("other": outside all).

    A deterministic measure of the per-call overhead (it does not depend on the machine's load, unlike times).
    """
    labels = sorted((e.time_range.start, e.time_range.end, e.name) for e in events if e.name in LABELS)
    starts = [start for start, _, _ in labels]
    counts = Counter()
    for e in events:
        if not e.name.startswith("aten::"):
            continue
        start, end, stage = e.time_range.start, e.time_range.end, "other"
        i = bisect.bisect_right(starts, start) - 1
        while i >= 0:  # the latest-starting label that contains the call is the innermost one (labels nest)
            if labels[i][1] >= end:
                stage = labels[i][2]
                break
            i -= 1
        counts[stage] += 1
    per_epoch = {k: round(v / epochs, 1) for k, v in counts.most_common()}
    return {"total": round(sum(counts.values()) / epochs, 1), "by_stage": per_epoch}


def stage_table(columns: dict[str, dict]) -> list[str]:
    """Markdown rows: one row per stage, one column per profile (``{"column title": profile_fit(...)}``)."""
    titles = list(columns)
    rows = [f"| stage (ms per epoch) | {' | '.join(titles)} |", "|---|" + "---:|" * len(titles)]
    for label in LABELS:
        values = [columns[t]["stages_ms_per_epoch"].get(label) for t in titles]
        if any(v is not None for v in values):
            indent = "" if label.startswith("train.") else ("&nbsp;&nbsp;" if label.startswith("elbo.") else "&nbsp;&nbsp;&nbsp;&nbsp;")
            rows.append(f"| {indent}`{label}` | " + " | ".join("–" if v is None else f"{v:.2f}" for v in values) + " |")
    return rows
