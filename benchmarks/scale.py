"""Scale benchmark: the VGAE on synthetic degree-corrected SBM graphs of 10k, 100k and 1M nodes.

One size (in this process)::

    python benchmarks/scale.py --nodes 100000 --json /tmp/scale-100k.json [--profile]

generates a seeded DC-SBM (:func:`graphvae.data.synthetic.degree_corrected_sbm`, about 10 undirected
edges per node, 32 dense features), splits it (:func:`graphvae.data.split.split_edges`), trains
``VGAE(epochs=...)`` full-batch and scores the test pairs, and writes ``nodes``, ``edges``,
``seconds_per_epoch``, ``peak_rss_gb`` and ``test_auc`` (plus the time of every stage).
``seconds_per_epoch`` is the median wall time of the epochs after the first (the first one also
warms up the allocator and the caches; its time is ``first_epoch_seconds``). With ``--profile`` it then
runs a second, shorter ``fit`` under ``torch.profiler`` (:mod:`_profile`: the shared trainer's own
stage labels, no private copy of the training loop) and records the time per stage and the top operators.

All sizes, each seed in a fresh subprocess (so that peak memory is per run)::

    python benchmarks/scale.py --all

writes ``benchmarks/results/scale.json`` (runs, mean ± std per size, 100k -> 1M ratios), the
plot ``docs/figures/scale.png`` and the ``scale`` section of ``docs/benchmarks.md``. ``--report-only``
recomputes the summary of that JSON (or ``--json PATH``) and redraws the plot and section from it. With
``--no-docs`` both write the JSON only (``--report-only`` then prints the section instead).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import ROOT, machine, update_section, run_benchmark, run_step, count, non_negative, seconds  # noqa: E402
from _profile import profile_fit  # noqa: E402

from graphvae.allocator import use_huge_pages  # noqa: E402
from graphvae.files import atomic_write  # noqa: E402
from graphvae.evaluation.summary import mean_std
from graphvae.files import write_json  # noqa: E402
from graphvae.estimators.models import VGAE  # noqa: E402
from graphvae.data.split import split_edges  # noqa: E402
from graphvae.data.synthetic import degree_corrected_sbm  # noqa: E402
from graphvae.estimators.zoo import NAMES, make_model  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
PROFILE = ROOT / "benchmarks" / "results" / "scale_profile_1m.json"  # written by --nodes 1000000 --profile --json
FIGURE = ROOT / "docs" / "figures" / "scale.png"
TARGETS = {"seconds_per_epoch": 5.0, "peak_rss_gb": 4.0, "test_auc": 0.85, "per_edge_time_ratio_1m_to_100k": 1.5}
EPOCH_TIME = "median wall time of the training epochs after the first"


# --------------------------------------------------------------------------- memory

def peak_rss_gb(stages: dict | None = None) -> float:
    """This process's peak resident memory: ``ru_maxrss`` (kB on Linux) and the peak of every recorded stage.

    Resetting ``VmHWM`` (see :func:`stage`) also resets ``ru_maxrss``, so the stage peaks are needed too.
    """
    peaks = [v["peak_rss_gb"] for v in (stages or {}).values() if isinstance(v, dict) and v.get("peak_rss_gb")]
    return max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, *peaks])


def _status_gb(field: str) -> float | None:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark ``VmHWM`` to the current RSS (Linux); ``False`` if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@contextmanager
def stage(name: str, record: dict):
    """Time a stage (wall and process CPU) and record its peak resident memory (``VmHWM`` after a reset) and the RSS it leaves."""
    print(f"[scale]   {name} ...", file=sys.stderr, flush=True)
    exact = _reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    yield
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _status_gb("VmHWM") if exact else None
    record[name] = {"seconds": round(seconds, 4), "cpu_seconds": round(cpu, 4),
                    "peak_rss_gb": None if peak is None else round(peak, 3),
                    "rss_after_gb": _status_gb("VmRSS")}


# --------------------------------------------------------------------------- one size

def code_version() -> dict:
    """The commit and a hash of the library's sources as run (the working tree may hold uncommitted edits)."""
    import hashlib
    digest = hashlib.sha256()
    for path in sorted((ROOT / "graphvae").rglob("*.py")):
        digest.update(path.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "graphvae"], cwd=ROOT, capture_output=True, text=True)
    return {"commit": head.stdout.strip() or None, "graphvae_sources_sha256": digest.hexdigest()[:16],
            "uncommitted_library_changes": bool(dirty.stdout.strip())}


def run_one(nodes: int, epochs: int, seed: int, features: int, profile: bool, profile_epochs: int = 3,
            model_name: str = "vgae", device: str = "cpu") -> dict:
    """Generate, split, fit, score one graph; every stage timed (``model_name``: a :mod:`graphvae.estimators.zoo` name;
    ``device``: where the model trains, the graph being generated and split on the CPU)."""
    import statistics

    def make(epochs: int):
        return VGAE(epochs=epochs, random_state=seed, device=device) if model_name == "vgae" else \
            make_model(model_name, epochs=epochs, random_state=seed, device=device)

    stages: dict = {}
    load_before, baseline = os.getloadavg()[0], _status_gb("VmRSS")  # the interpreter with torch imported
    with stage("generate", stages):
        graph = degree_corrected_sbm(nodes, num_features=features, seed=seed)
    with stage("split", stages):
        split = split_edges(graph, seed=seed)
    model = make(epochs)
    with stage("fit", stages):
        model.fit(split)
    with stage("evaluate", stages):
        scores = model.score(split.test_pos, split.test_neg)
    epoch_seconds = [h["seconds"] for h in model.history_]
    result = {
        "model": model_name, "nodes": nodes, "edges": int(graph.cleaning["undirected_edges"]),
        "train_edges": int(split.train_edge_index.shape[1] // 2), "features": features, "epochs": epochs,
        "seed": seed, "seconds_per_epoch": statistics.median(epoch_seconds[1:]),
        "seconds_per_epoch_is": EPOCH_TIME, "epoch_seconds": epoch_seconds,
        "first_epoch_seconds": epoch_seconds[0], "mean_seconds_per_epoch": model.train_seconds_ / epochs,
        "peak_rss_gb": peak_rss_gb(stages), "baseline_rss_gb": baseline, "test_auc": scores["auc"], "test_ap": scores["ap"],
        "setup_seconds": stages["fit"]["seconds"] - model.train_seconds_, "stages": stages,
        "final_loss": model.history_[-1]["loss"], "machine": machine(), "torch_threads": torch.get_num_threads(),
        # other processes on the machine inflate wall times: the 1-minute load average before and after
        "load_average": [load_before, os.getloadavg()[0]], "code": code_version(),
        # PyTorch's tensors of 2 MB and more on transparent huge pages (graphvae.allocator.use_huge_pages)
        "huge_pages": os.environ.get("THP_MEM_ALLOC_ENABLE") == "1", "device": device,
    }
    if device != "cpu":  # the device's own peak (peak_rss_gb is the host process's)
        result["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
        result["gpu"] = torch.cuda.get_device_name(device)
    result["seconds_per_edge"] = result["seconds_per_epoch"] / result["edges"]
    if profile:
        del model
        with stage("profiled_fit", stages):
            result["profile"] = profile_fit(lambda: make(profile_epochs).fit(split), profile_epochs)
        result["peak_rss_gb"] = peak_rss_gb(stages)
    return result


# --------------------------------------------------------------------------- all sizes

def run_all(sizes, seeds, large_seeds, epochs: int, features: int, json_path: Path, timeout: float,
            huge_pages: bool = True, docs: bool = True) -> dict:
    runs = []
    for nodes in sizes:
        for seed in (large_seeds if nodes >= 1_000_000 else seeds):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "run.json"
                cmd = [sys.executable, __file__, "--nodes", str(nodes), "--seed", str(seed), "--epochs", str(epochs),
                       "--features", str(features), "--json", str(path), *([] if huge_pages else ["--no-huge-pages"])]
                print(f"[scale] {nodes:,} nodes, seed {seed} ...", flush=True)
                run_step(cmd, timeout, f"scale run for {nodes} nodes (seed {seed})")
                runs.append(json.loads(path.read_text()))
    summary = summarize(runs)
    report = {"command": " ".join(["python benchmarks/scale.py --all", *_argv_tail()]), "machine": machine(),
              "targets_at_1m": TARGETS, "runs": runs, **summary}
    write_json(json_path, report)
    if docs:
        plot(summary["sizes"], FIGURE)
        update_section("benchmarks.md", "scale", markdown(report))
    return report


def _argv_tail() -> list[str]:
    return [a for a in sys.argv[1:] if a != "--all"]


def summarize(runs: list[dict]) -> dict:
    sizes = []
    for nodes in sorted({r["nodes"] for r in runs}):
        rs = [r for r in runs if r["nodes"] == nodes]
        entry = {"nodes": nodes, "seeds": len(rs)}
        for key in ("edges", "seconds_per_epoch", "seconds_per_edge", "peak_rss_gb", "test_auc", "setup_seconds"):
            entry[key] = mean_std([r[key] for r in rs])
            entry[key]["median"] = float(np.median([r[key] for r in rs]))
        entry["peak_above_baseline_gb"] = mean_std([r["peak_rss_gb"] - r["baseline_rss_gb"] for r in rs])
        for name in ("generate", "split", "evaluate"):
            entry[f"{name}_seconds"] = mean_std([r["stages"][name]["seconds"] for r in rs])
        sizes.append(entry)
    ratios = {}
    by_nodes = {s["nodes"]: s for s in sizes}
    if 100_000 in by_nodes and 1_000_000 in by_nodes:
        small, big = by_nodes[100_000], by_nodes[1_000_000]
        # medians over seeds: one run slowed down by another process should not move the ratio
        ratios = {key: big[key].get("median", big[key]["mean"]) / small[key].get("median", small[key]["mean"])
                  for key in ("edges", "seconds_per_epoch", "seconds_per_edge", "peak_rss_gb", "peak_above_baseline_gb",
                              "setup_seconds")}
    return {"sizes": sizes, "ratios_100k_to_1m": ratios, "ratios_are": "medians over seeds", "seconds_per_epoch_is": EPOCH_TIME}


def plot(sizes: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = [s["edges"]["mean"] for s in sizes]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, key, label, target in ((axes[0], "seconds_per_epoch", "seconds per training epoch (median)",
                                    TARGETS["seconds_per_epoch"]),
                                   (axes[1], "peak_rss_gb", "peak resident memory (GB)", TARGETS["peak_rss_gb"])):
        ax.errorbar(edges, [s[key]["mean"] for s in sizes], yerr=[s[key]["std"] for s in sizes], marker="o",
                    label="graphvae VGAE")
        if key == "peak_rss_gb":
            ax.plot(edges, [s["peak_above_baseline_gb"]["mean"] for s in sizes], "s--", ms=4,
                    label="above the interpreter's baseline")
        ref = sizes[-1][key]["mean"] / edges[-1]  # slope 1 through the largest graph
        ax.plot(edges, [ref * e for e in edges], ":", color="gray", label="linear in edges")
        ax.axhline(target, color="red", lw=0.8, ls="--", label="1M-node target")
        ax.set(xscale="log", yscale="log", xlabel="undirected edges", ylabel=label)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle("VGAE on degree-corrected SBM graphs (10k, 100k, 1M nodes)", fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)


def _huge_pages_line(runs: list[dict]) -> str:
    """Whether PyTorch's large tensors were on transparent huge pages in these runs (older JSON: not recorded)."""
    flags = {r.get("huge_pages") for r in runs}
    if flags == {True}:
        return ("PyTorch's tensors of 2 MB and more are on transparent huge pages, as in the CLI "
                "(`graphvae.allocator.use_huge_pages`; `--no-huge-pages` turns it off).")
    if flags == {False}:
        return "Run with `--no-huge-pages`: 4 kB pages throughout."
    return ""


def markdown(report: dict) -> str:
    rows = ["| nodes | undirected edges | s / epoch | peak RSS (GB) | test AUC | setup s (in fit) | generate s | split s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    f = lambda d, p=2: f"{d['mean']:.{p}f} ± {d['std']:.{p}f}"
    for s in report["sizes"]:
        rows.append(f"| {s['nodes']:,} | {s['edges']['mean']:,.0f} | {f(s['seconds_per_epoch'])} | "
                    f"{f(s['peak_rss_gb'])} | {f(s['test_auc'], 3)} | {f(s['setup_seconds'])} | "
                    f"{f(s['generate_seconds'])} | {f(s['split_seconds'])} |")
    r = report["ratios_100k_to_1m"]
    ratio_line = (f"From 100k to 1M nodes (medians over seeds) the edges grow {r['edges']:.2f}×, the time per epoch "
                  f"{r['seconds_per_epoch']:.2f}× (time per edge **{r['seconds_per_edge']:.2f}×**), the peak memory "
                  f"{r['peak_rss_gb']:.2f}× ({r['peak_above_baseline_gb']:.2f}× "
                  f"above the {np.mean([x['baseline_rss_gb'] for x in report['runs']]):.2f} GB of the interpreter with torch loaded) and the training setup "
                  f"(normalized adjacency, link target, encoder input) {r['setup_seconds']:.2f}×." if r else "")
    runs = report["runs"]
    epochs, features = runs[0]["epochs"], runs[0]["features"]
    seeds = "; ".join(f"{s['nodes']:,} nodes: {s['seeds']}" for s in report["sizes"])
    big = next((s for s in report["sizes"] if s["nodes"] == 1_000_000), None)
    verdict = ""
    if big is not None:
        t, m, auc = big["seconds_per_epoch"]["mean"], big["peak_rss_gb"]["mean"], big["test_auc"]["mean"]
        per_edge = r.get("seconds_per_edge") if r else None
        met = lambda ok: "met" if ok else "missed"
        verdict = (f"Targets at 1M nodes: ≤ {TARGETS['seconds_per_epoch']:g} s per epoch — **{met(t <= TARGETS['seconds_per_epoch'])}** "
                   f"({t:.2f} s); ≤ {TARGETS['peak_rss_gb']:g} GB peak memory — **{met(m <= TARGETS['peak_rss_gb'])}** ({m:.2f} GB); "
                   f"test AUC > {TARGETS['test_auc']} — **{met(auc > TARGETS['test_auc'])}** ({auc:.3f})"
                   + (f"; time per edge within {TARGETS['per_edge_time_ratio_1m_to_100k']}× of 100k — "
                      f"**{met(per_edge <= TARGETS['per_edge_time_ratio_1m_to_100k'])}** ({per_edge:.2f}×)." if per_edge else "."))
    loads = [x for r in runs for x in r["load_average"]]
    load_line = (f"1-minute load average at the start and end of each run: {min(loads):.1f}–{max(loads):.1f} on "
                 f"{os.cpu_count()} cores. It counts the benchmark's own processes (a 2-thread run alone reads "
                 f"about 1–2), so above that, other jobs shared the CPU and wall times include waiting for it "
                 f"(each run's process CPU time per stage is in the JSON).")
    codes = {(r["code"]["commit"], r["code"]["uncommitted_library_changes"]) for r in runs if "code" in r}
    code_line = "; ".join(f"commit {c}" + (" plus uncommitted library edits" if dirty else "") for c, dirty in sorted(codes))
    return "\n".join([
        "## Scale",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"Machine: {report['machine']}." + (f" Library: {code_line}." if code_line else ""),
        "",
        f"Graphs: seeded degree-corrected stochastic block models (`graphvae.data.synthetic.degree_corrected_sbm`: "
        f"10 planted blocks, 20% of edges ignoring the blocks, power-law degrees with exponent 2.5, about 10 "
        f"undirected edges per node, {features} dense features = block centroid + Gaussian noise). Each run: "
        f"`split_edges` (10% test, 5% validation edges with as many sampled non-edges), `VGAE(epochs={epochs})` "
        f"with its defaults (32 hidden, 16 latent, one sampled negative per positive), full batch, then "
        f"`model.score` on the test pairs. Mean ± std over seeds (number of seeds per size: {seeds}), each run in a fresh process; "
        f"peak RSS is the process's `ru_maxrss` (generation and split included). **Seconds per epoch is the "
        f"median wall time of the epochs after the first** (the first epoch, which also warms up the allocator, is "
        f"`first_epoch_seconds` in the JSON); setup is the rest of `fit`. Time per edge: seconds per epoch / undirected edges. "
        + _huge_pages_line(runs),
        "",
        *rows,
        "",
        load_line,
        "",
        ratio_line,
        "",
        verdict,
        "",
        "![time and memory against edges](figures/scale.png)",
        "",
        *profile_markdown(PROFILE),
        "",
        "Raw numbers: `benchmarks/results/scale.json`.",
    ])


def profile_markdown(path: Path) -> list[str]:
    """The stage table of a ``--profile`` run, if one was saved at ``path``."""
    if not path.exists():
        return []
    from _profile import stage_table

    r = json.loads(path.read_text())
    if "stages_ms_per_epoch" not in r.get("profile", {}):
        return []
    prof = r["profile"]
    ops = ", ".join(f"`{o['op']}` {o['self_ms_per_epoch'] / 1e3:.2f} s" for o in prof["top_ops"][:6])
    backward = ", ".join(f"`{k}` {v / 1e3:.2f} s" for k, v in list(prof["backward_ms_per_epoch"].items())[:5])
    return [
        f"### Where the time goes at {r['nodes']:,} nodes",
        "",
        "```",
        f"python benchmarks/scale.py --nodes {r['nodes']} --epochs {r['epochs']} --profile "
        f"--profile-epochs {prof['epochs']} --json "
        f"{path.relative_to(ROOT).as_posix()}",
        "```",
        "",
        f"One run (seed {r['seed']}, commit {r.get('code', {}).get('commit')}, load average "
        f"{r['load_average'][0]:.1f}–{r['load_average'][1]:.1f}): a {prof['epochs']}-epoch `VGAE.fit` under `torch.profiler`, "
        f"stages as labelled in the shared trainer (`graphvae/training/trainer.py`, `elbo.py`, `likelihood.py`), wall time per "
        f"epoch including the profiler's overhead.",
        "",
        *stage_table({f"{r['nodes']:,} nodes": prof}),
        "",
        f"Backward pass by autograd node: {backward}. Top operators by self CPU time per epoch: {ops}.",
    ]


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=count, help="run one size in this process")
    p.add_argument("--json", type=Path, help="where to write the JSON result")
    p.add_argument("--all", action="store_true", help="run every size in subprocesses and update the docs")
    p.add_argument("--sizes", type=count, nargs="+", default=list(SIZES))
    p.add_argument("--seeds", type=non_negative, nargs="+", default=[0, 1, 2])
    p.add_argument("--large-seeds", type=non_negative, nargs="+", default=[0], help="seeds for sizes of 1M nodes and more")
    p.add_argument("--seed", type=non_negative, default=0)
    p.add_argument("--model", choices=NAMES, default="vgae",
                   help="a named model of graphvae.estimators.zoo for --nodes (default: vgae, the paper's)")
    p.add_argument("--epochs", type=count, default=5, help="training epochs (seconds_per_epoch: median after the first)")
    p.add_argument("--device", default="cpu", help="with --nodes: where the model trains (cpu, cuda, cuda:N)")
    p.add_argument("--features", type=count, default=32)
    p.add_argument("--report-only", action="store_true", help="redraw the plot and docs section from the JSON")
    p.add_argument("--no-docs", action="store_true",
                   help="with --all or --report-only: write the JSON only, not the plot and docs/benchmarks.md "
                        "(--report-only prints the section instead)")
    p.add_argument("--profile", action="store_true", help="then profile a short fit stage by stage (torch.profiler)")
    p.add_argument("--profile-epochs", type=count, default=3, help="epochs of the profiled fit")
    p.add_argument("--timeout", type=seconds, default=3600, help="seconds allowed per subprocess run")
    p.add_argument("--no-huge-pages", action="store_true",
                   help="leave PyTorch's tensors on 4 kB pages (default: huge pages, as the CLI: graphvae.allocator)")
    args = p.parse_args(argv)
    if args.all:  # --all runs the paper's VGAE on the CPU at --sizes and --seeds: one size's options would be dropped
        one_size = [f"--{name}" for name, given in (("nodes", args.nodes is not None), ("model", args.model != "vgae"),
                                                   ("device", args.device != "cpu"), ("seed", args.seed != 0),
                                                   ("profile", args.profile)) if given]
        if one_size:
            p.error(f"{', '.join(one_size)} apply to one size (--nodes N) and not to --all, which measures the "
                    f"paper's VGAE on the CPU at --sizes with --seeds and --large-seeds")
    elif not args.report_only and (args.sizes != list(SIZES) or args.seeds != [0, 1, 2] or args.large_seeds != [0]):
        p.error("--sizes, --seeds and --large-seeds apply to --all; one size (--nodes N) takes --seed")
    if not args.report_only and args.epochs < 2:
        p.error(f"--epochs must be at least 2 (got {args.epochs}): seconds_per_epoch is the median of the epochs "
                f"after the first")
    if args.json is not None and not args.report_only and (args.json.is_dir() or args.json.parent.is_file()):
        p.error(f"--json {args.json}: not a file that can be written (a folder, or under a file)")
    if not args.no_huge_pages:
        use_huge_pages()  # before the first tensor is allocated: PyTorch reads the switch once
    if args.report_only:
        path = args.json or RESULTS
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            p.error(f"--report-only reads {path}: {e}")
        if not isinstance(report, dict) or not isinstance(report.get("runs"), list) or not report["runs"]:
            p.error(f"--report-only reads {path}: not a result of scale.py --all (no runs)")
        report.update(summarize(report["runs"]))
        write_json(path, report)
        if args.no_docs:
            print(markdown(report))
            return 0
        plot(report["sizes"], FIGURE)
        update_section("benchmarks.md", "scale", markdown(report))
        return 0
    if args.all:
        report = run_all(args.sizes, args.seeds, args.large_seeds, args.epochs, args.features, args.json or RESULTS,
                         args.timeout, not args.no_huge_pages, docs=not args.no_docs)
        print(json.dumps({"sizes": report["sizes"], "ratios_100k_to_1m": report["ratios_100k_to_1m"]}, indent=1))
        return 0
    if args.nodes is None:
        p.error("give --nodes N (one size) or --all")
    result = run_one(args.nodes, args.epochs, args.seed, args.features, args.profile, args.profile_epochs, args.model,
                     args.device)
    if args.json is not None:
        write_json(args.json, result)
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine",)}, indent=1))
    return 0


if __name__ == "__main__":
    run_benchmark(main)
