"""Why a VGAE epoch's operators cost more inside training than alone: the same kernels timed three ways.

    python benchmarks/cache_probe.py [--dataset cora] [--epochs 100] [--repeats 300]

On one torch thread, for a few of the epoch's operators at the shapes they have in a Cora VGAE epoch:

* ``in_loop_us``: mean self time per call inside ``VGAE(epochs=...).fit`` (``torch.profiler`` without shapes or
  memory, whose bookkeeping would inflate it; operators called once per epoch, so the name says the shape);
* ``hot_us``: the same operator on same-shaped inputs, called back to back (inputs and outputs stay in the caches);
* ``cold_us``: the same calls, each after streaming through a 32 MB buffer (larger than the core's L2 cache), so the
  inputs come from further away.

Also the bytes the epoch allocates (``profile_memory``: the sum of its allocations, a bound on the memory it
touches). Writes ``benchmarks/results/cache_probe.json``; the docs quote it by hand.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from _docs import ROOT, count, machine

import graphvae as gv
from graphvae.files import atomic_write


def timed(call, repeats: int, flush: torch.Tensor | None = None) -> float:
    """Median microseconds of ``call()`` over ``repeats`` calls (after 20 untimed), each after ``flush`` is
    rewritten when given."""
    times = []
    for i in range(repeats + 20):
        if flush is not None:
            flush.mul_(1.0)
        start = time.perf_counter()
        call()
        if i >= 20:
            times.append(time.perf_counter() - start)
    return 1e6 * statistics.median(times)


def kernels(n: int, hidden: int, latent: int) -> dict:
    """The epoch's operators (profiler names and input shapes) and a call of each on random inputs of those shapes."""
    g = torch.Generator().manual_seed(0)
    h = torch.randn(n, hidden, generator=g)
    z = torch.randn(n, latent, generator=g)
    grad = torch.randn(n, hidden, generator=g)
    return {
        f"aten::clamp_min [{n}, {hidden}] (ReLU)": lambda: h.clamp_min(0),
        f"aten::threshold_backward [{n}, {hidden}]": lambda: torch.ops.aten.threshold_backward(grad, h, 0.0),
        f"aten::le [{n}, {latent}]": lambda: z <= 0.5,
        f"aten::normal_ [{n}, {latent}]": lambda: torch.empty(n, latent).normal_(generator=g),
    }


def in_loop(split, epochs: int) -> tuple[dict, float, float]:
    """Mean self microseconds and calls per epoch of every operator in a fit, the fit's milliseconds per epoch
    (median, profiler on) and the megabytes a fit of 10 epochs allocates per epoch (a separate, memory-profiled fit)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model = gv.VGAE(epochs=epochs, random_state=0).fit(split)
    per_call = {e.key: (e.self_cpu_time_total / e.count, e.count / epochs) for e in prof.key_averages()}
    ms = statistics.median(1e3 * h["seconds"] for h in model.history_[10:])
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        gv.VGAE(epochs=10, random_state=0).fit(split)
    allocated = sum(e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0) / 10 / 1e6
    return per_call, ms, allocated


def epochs_after_warmup(text: str) -> int:
    """argparse type of ``--epochs``: at least 11, since the epoch time is the median over the epochs after 10."""
    import argparse

    value = count(text)
    if value < 11:
        raise argparse.ArgumentTypeError(f"must be at least 11 (the first 10 epochs are not timed), got {text}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--epochs", type=epochs_after_warmup, default=100)
    parser.add_argument("--repeats", type=count, default=300)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "cache_probe.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    graph = gv.load_dataset(args.dataset)
    split = gv.split_edges(graph, seed=0)
    gv.VGAE(epochs=10, random_state=0).fit(split)  # warm: imports, first allocations
    per_call, ms, allocated = in_loop(split, args.epochs)
    flush = torch.ones(8 << 20)  # 32 MB
    rows = []
    for name, call in kernels(graph.num_nodes, 32, 16).items():  # the paper's 32 hidden, 16 latent
        us, calls = per_call.get(name.split()[0], (None, None))
        rows.append({"operator": name, "in_loop_us": None if us is None else round(us, 1),
                     "calls_per_epoch": None if calls is None else round(calls, 2),
                     "hot_us": round(timed(call, args.repeats), 1),
                     "cold_us": round(timed(call, args.repeats, flush), 1)})
        print(rows[-1], flush=True)
    report = {"machine": machine(), "dataset": args.dataset, "epochs": args.epochs, "threads": 1,
              "command": f"python benchmarks/cache_probe.py --dataset {args.dataset} --epochs {args.epochs} "
                         f"--repeats {args.repeats}",
              "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
              "epoch_ms_profiled": round(ms, 2), "allocated_mb_per_epoch": round(allocated, 1),
              "flush_mb": 32, "operators": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.json, lambda tmp: Path(tmp).write_text(json.dumps(report, indent=1) + "\n"))
    print(json.dumps({k: v for k, v in report.items() if k != "operators"}))


if __name__ == "__main__":
    main()
