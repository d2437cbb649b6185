"""graphvae on a CUDA device: the VGAE epoch against PyTorch Geometric's on the same GPU, each named model's epoch, the
whole ``linkpred`` commands, and a million nodes.

    python benchmarks/cuda.py [--budget 330] [--json benchmarks/results/cuda.json]
    python benchmarks/cuda.py --report-only      # the "cuda" section of docs/benchmarks.md from the JSON

Parts, each skipped once ``--budget`` seconds have passed (the JSON is rewritten after each, so a run cut short
keeps what it measured):

1. ``epochs``: Cora and CiteSeer, seeds 0-2, the paper's VGAE for 200 epochs, graphvae (``device="cuda"``) and
   PyG's ``VGAE`` over ``GCNConv`` (``benchmarks/speed.py``'s, moved to the GPU), milliseconds per epoch (median
   after 10 warm-up epochs; graphvae's epoch ends with the loss read back, PyG's with a synchronize) and test AUC.
2. ``models``: every named model of :mod:`graphvae.estimators.zoo` on Cora, 60 epochs without early stopping:
   milliseconds per epoch on the GPU (median after 10).
3. ``commands``: ``python -m graphvae linkpred --dataset D --model M --seeds 10 --device cuda`` start to finish
   (wall seconds, mean test AUC and AP), for ``vgae`` and ``best``.
4. ``scale``: ``benchmarks/scale.py --nodes 1000000 --device cuda`` for ``vgae`` (5 epochs) and ``best`` (3 epochs):
   seconds per epoch (median after the first), the GPU's peak memory and the host's peak RSS, test AUC.

There is no CUDA in CI: the numbers come from a lent machine (``docs/benchmarks.md`` names it).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import ROOT, machine, run_benchmark, update_section  # noqa: E402

from graphvae.files import write_json  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "cuda.json"
WARMUP = 10


def gpu_line() -> str:
    props = torch.cuda.get_device_properties(0)
    return (f"{props.name} ({props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs), "
            f"CUDA {torch.version.cuda}, host: {machine()}")


def part_epochs(report: dict, budget_left=None) -> None:
    from speed import time_graphvae, time_pyg

    import graphvae as gv
    rows = []
    for name in ("cora", "citeseer"):
        graph = gv.load_dataset(name)
        runs = []
        for seed in range(3):
            split = gv.split_edges(graph, seed=seed)
            ours, ours_auc = time_graphvae(split, 200, seed, device="cuda")
            pyg, pyg_auc = time_pyg(split, 200, seed, device="cuda")
            runs.append(dict(seed=seed, graphvae_ms=ours, pyg_ms=pyg, graphvae_auc=ours_auc, pyg_auc=pyg_auc))
        row = {"dataset": name, "runs": runs}
        for key in ("graphvae_ms", "pyg_ms", "graphvae_auc", "pyg_auc"):
            row[key] = statistics.mean(r[key] for r in runs)
        row["ratio"] = row["pyg_ms"] / row["graphvae_ms"]
        rows.append(row)
    report["epochs"] = rows


def part_models(report: dict, budget_left=None) -> None:
    import graphvae as gv
    from graphvae.estimators.zoo import NAMES, make_model

    split = gv.split_edges(gv.load_dataset("cora"), seed=0)
    rows = []
    for name in [n for n in NAMES if n != "best"]:
        model = make_model(name, epochs=60, early_stopping=False, random_state=0, device="cuda").fit(split)
        ms = [1e3 * h["seconds"] for h in model.history_][WARMUP:]
        rows.append({"model": name, "ms_per_epoch": statistics.median(ms)})
    report["models"] = rows


def images_epoch(device: str, epochs: int = 3) -> dict:
    """The image VAE at CIFAR-10's size on ``device``: 10,000 random 3x32x32 8-bit images, ``vae --cifar``'s model
    (Gaussian pixels with a learned std, dequantized, 256 hidden units, latent 128), seconds per epoch (median after
    the first) of 100 mini-batches."""
    import numpy as np

    import graphvae as gv
    x = np.random.default_rng(0).integers(0, 256, (10_000, 3072)).astype(np.float32) / 255
    model = gv.ImageVAE(latent=128, likelihood="gaussian", learn_sigma=True, sigma=0.1, dequantize=256, epochs=epochs,
                        random_state=0, device=device).fit(x)
    seconds = [h["seconds"] for h in model.history_]
    return {"device": device, "images": 10_000, "pixels": 3072, "epochs": epochs, "threads": torch.get_num_threads(),
            "seconds_per_epoch": statistics.median(seconds[1:]), "epoch_seconds": seconds}


def part_images(report: dict, budget_left=None) -> None:
    report["images"] = images_epoch("cuda")


def part_commands(report: dict, budget_left) -> None:
    rows = []
    for dataset, model in (("cora", "vgae"), ("cora", "best"), ("citeseer", "best")):
        if budget_left() < 60:
            break
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.json"
            start = time.perf_counter()
            run = subprocess.run([sys.executable, "-m", "graphvae", "linkpred", "--dataset", dataset, "--model", model,
                                  "--seeds", "10", "--device", "cuda", "--no-progress", "--json", str(out)],
                                 capture_output=True, text=True, cwd=ROOT, timeout=max(budget_left(), 1))
            wall = time.perf_counter() - start
            if run.returncode != 0:
                rows.append({"dataset": dataset, "model": model, "error": run.stderr.strip()[-2000:]})
                continue
            r = json.loads(out.read_text())
        rows.append({"dataset": dataset, "model": model, "wall_seconds": wall, "auc": r["auc"], "ap": r["ap"],
                     "train_seconds": r["train_seconds"], "seconds_per_fit": r["train_seconds"] / 10})
    report["commands"] = rows


def part_scale(report: dict, budget_left) -> None:
    rows = []
    for model, epochs in (("vgae", 5), ("best", 3)):
        if budget_left() < 90:
            break
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "s.json"
            run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--nodes", "1000000",
                                  "--model", model, "--epochs", str(epochs), "--device", "cuda", "--json", str(out)],
                                 capture_output=True, text=True, cwd=ROOT, timeout=max(budget_left(), 1))
            if run.returncode != 0:
                rows.append({"model": model, "error": run.stderr.strip()[-2000:]})
                continue
            r = json.loads(out.read_text())
        rows.append({k: r[k] for k in ("model", "nodes", "edges", "epochs", "seconds_per_epoch", "first_epoch_seconds",
                                       "peak_gpu_memory_gb", "peak_rss_gb", "test_auc", "test_ap", "setup_seconds")}
                    | {"stages": {k: v["seconds"] for k, v in r["stages"].items()}})
    report["scale"] = rows


#: the parts, in their default order; each takes the report to fill and the seconds left of the budget
PARTS = {"epochs": part_epochs, "models": part_models, "images": part_images, "commands": part_commands,
         "scale": part_scale}


def cpu_reference() -> dict:
    """The CPU figures the section sets the GPU's beside (2 cores, this repository's own result files), or ``{}``."""
    results, out = ROOT / "benchmarks" / "results", {}
    try:
        speed = json.loads((results / "speed.json").read_text())
        out["epoch_ms"] = {r["dataset"]: r["graphvae_ms"] for r in speed["datasets"]}
        out["vgae_10_seeds_s"] = speed["linkpred_cora_vgae_10_seeds_seconds"]
        scale = json.loads((results / "scale.json").read_text())
        out["vgae_1m_s"] = next(r["seconds_per_epoch"]["mean"] for r in scale["sizes"] if r["nodes"] == 1_000_000)
        out["best_1m_s"] = json.loads((results / "scale_1m_best.json").read_text())["seconds_per_epoch"]
        out["machine"] = speed["machine"]
    except (OSError, ValueError, KeyError, StopIteration):
        return {}
    return out


def _table(header: list[str], rows: list[dict], keys: int, cells) -> list[str]:
    """A markdown table: ``cells(row)`` for each measured row; a row that failed shows its first ``keys`` cells
    (what it was) and "failed"."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        values = cells(r) if "error" not in r else [*(r.get(k) for k in ("dataset", "model") if k in r)][:keys] + ["failed"]
        values += [""] * (len(header) - len(values))
        lines.append("| " + " | ".join(str(v) for v in values) + " |")
    return lines


def markdown(report: dict) -> str:
    cpu = cpu_reference()
    lines = ["## CUDA", "",
             f"Measured with `python benchmarks/cuda.py` on a lent GPU machine: {report['gpu']}. The graph is read and split on the CPU (the masking models' directed, path and denoising views are drawn there too; undirected masks, as `best` uses, and image mini-batches on the GPU), then trained "
             "on the GPU (`device=\"cuda\"`, `--device cuda`). CI has no GPU: `tests/test_cuda.py` ran there "
             f"({report.get('tests', 'see the JSON')}).", ""]
    if report.get("epochs"):
        lines += ["VGAE epoch, graphvae against PyTorch Geometric on the same GPU (3 seeds, 200 epochs, median ms per "
                  "epoch after 10 warm-up epochs, mean over the seeds):", "",
                  "| dataset | graphvae ms | PyG ms | PyG / graphvae | graphvae test AUC | PyG test AUC |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['dataset']} | {r['graphvae_ms']:.2f} | {r['pyg_ms']:.2f} | {r['ratio']:.2f}x | "
                  f"{r['graphvae_auc']:.4f} | {r['pyg_auc']:.4f} |" for r in report["epochs"]]
        lines.append("")
    if report.get("models"):
        lines += ["Each named model's epoch on Cora on the GPU (60 epochs, median ms after 10): "
                  + ", ".join(f"{r['model']} {r['ms_per_epoch']:.1f}" for r in report["models"]) + ".", ""]
    if report.get("images"):
        im, cpu_im = report["images"], report.get("images_cpu")
        lines += ["The image VAE at CIFAR-10's size (`vae --cifar`'s model on 10,000 random 3x32x32 images, 100 "
                  f"mini-batches per epoch): {im['seconds_per_epoch']:.3f} s per epoch on the GPU"
                  + (f", {cpu_im['seconds_per_epoch']:.2f} s on two CPU cores ({cpu_im['machine']})" if cpu_im else "")
                  + (f" ({report['images_before_on_device_batches']['seconds_per_epoch']:.2f} s on the GPU when each "
                     "mini-batch was drawn and dequantized on the CPU and copied over; the images now move to the GPU "
                     "once and their batches and noise are drawn there)" if report.get("images_before_on_device_batches")
                     else "") + ".", ""]
    if report.get("determinism"):
        det = report["determinism"]
        fits = lambda path: ", ".join(f"{m} {'the same bits' if det[f'fit {m} {path}']['bitwise'] else 'up to %.1e' % det[f'fit {m} {path}']['max_diff']}"
                                      for m in ("vgae", "gnae-wd", "maskgae") if f"fit {m} {path}" in det)
        lines += ["Run to run on the GPU (" + det["script"] + "): cuSPARSE's CSR product `Â @ H` was "
                  + ("not " if not det["A@H cusparse"]["deterministic"] else "") + "bitwise repeatable, `embedding_bag`'s "
                  + ("was" if det["A@H embedding_bag"]["deterministic"] else "was not") + f" ({det['A@H embedding_bag']['ms']:.3f} "
                  f"against {det['A@H cusparse']['ms']:.3f} ms on Cora; {det['1M A@H embedding_bag']['ms']:.2f} against "
                  f"{det['1M A@H cusparse']['ms']:.2f} ms on a 1M-node, 5M-entry matrix), and so were not torch's atomic "
                  "`index_add_` and `scatter_add_` (the MLP decoder's backward); two fits of one seed with cuSPARSE: "
                  + fits("cusparse") + "; with `embedding_bag`: " + fits("embedding_bag") + ". So by default CUDA fits "
                  "are repeatable up to the order of float sums, and under `torch.use_deterministic_algorithms(True)` "
                  "graphvae's CSR products take `embedding_bag` (and torch's `index_add_`/`scatter_add_` their "
                  "deterministic paths): `tests/test_cuda.py` checks those fits bit for bit.", ""]
    if report.get("commands"):
        lines += ["Whole commands, `python -m graphvae linkpred --dataset D --model M --seeds 10 --device cuda` "
                  "(wall seconds start to finish, the seeds one after another in one process):", "",
                  *_table(["dataset", "model", "wall s", "s per seed", "test AUC", "test AP"], report["commands"], 2,
                          lambda r: [r["dataset"], r["model"], f"{r['wall_seconds']:.1f}", f"{r['wall_seconds'] / 10:.2f}",
                                     f"{r['auc']['mean']:.4f} ± {r['auc']['std']:.4f}",
                                     f"{r['ap']['mean']:.4f} ± {r['ap']['std']:.4f}"]), ""]
    if report.get("commands_second_run"):
        second = report["commands_second_run"]
        lines += [f"Second run ({second['note']}; `{second['command']}`): "
                  + "; ".join(f"{r['dataset']} {r['model']} {r['wall_seconds']:.1f} s wall ({r['train_seconds']:.1f} s "
                              f"training), test AUC {r['auc']['mean']:.4f} ± {r['auc']['std']:.4f}"
                              for r in second["rows"] if "wall_seconds" in r)
                  + ". The wall time moves with the host (interpreter start, imports and data on a fresh machine: "
                  "up to 9 s of the VGAE command) more than with the change.", ""]
        if report.get("commands_note"):
            lines += [f"(The commands were {report['commands_note']}.)", ""]
    if report.get("scale"):
        lines += ["A million nodes (`benchmarks/scale.py --nodes 1000000 --device cuda`; seconds per epoch: median "
                  "after the first):", "",
                  *_table(["model", "epochs", "s per epoch", "GPU peak GB", "host peak RSS GB", "test AUC"],
                          report["scale"], 1,
                          lambda r: [r["model"], r["epochs"], f"{r['seconds_per_epoch']:.3f}",
                                     f"{r['peak_gpu_memory_gb']:.2f}", f"{r['peak_rss_gb']:.2f}", f"{r['test_auc']:.4f}"]),
                  ""]
    if cpu and report.get("scale") and report.get("commands") and report.get("epochs"):
        gpu_1m = {r["model"]: r["seconds_per_epoch"] for r in report["scale"] if "error" not in r}
        vgae_cmd = next((r["wall_seconds"] for r in report["commands"] if r["model"] == "vgae" and "error" not in r), None)
        lines += [f"Beside the CPU ({cpu['machine']}; `benchmarks/results/speed.json`, `scale.json`, `scale_1m_best.json`): "
                  "the GPU pays off with the graph's size. A Cora epoch is a stream of small kernels whose launches "
                  f"and Python dominate on either side ({report['epochs'][0]['graphvae_ms']:.2f} ms on the H200 against "
                  f"{cpu['epoch_ms']['cora']:.2f} ms on two CPU cores), and the 10-seed Cora VGAE command is slower on "
                  f"one GPU process ({vgae_cmd:.1f} s) than in two CPU worker processes ({cpu['vgae_10_seeds_s']:.1f} s "
                  "in speed.py's run): for graphs of Cora's size keep the default `--device cpu`. At a million nodes "
                  + (f"the VGAE epoch takes {gpu_1m['vgae']:.3f} s against {cpu['vgae_1m_s']:.2f} s on the CPU "
                     f"({cpu['vgae_1m_s'] / gpu_1m['vgae']:.0f}x)" if "vgae" in gpu_1m else "the VGAE did not run")
                  + (f", and `best`'s {gpu_1m['best']:.2f} s against {cpu['best_1m_s']:.1f} s "
                     f"({cpu['best_1m_s'] / gpu_1m['best']:.0f}x; its undirected masks are drawn on the GPU"
                     + (f"; drawn on the CPU and copied over each epoch, as the other masking modes still are, it took "
                        f"{report['scale_best_masks_drawn_on_the_cpu']['seconds_per_epoch']:.2f} s"
                        if report.get("scale_best_masks_drawn_on_the_cpu") else "") + ")"
                     if "best" in gpu_1m else "") + ".",
                  "",
                  "A CUDA fit draws its sampled pairs and its dropout from CUDA generators, so its models are not the CPU "
                  "fits of the same seeds (`tests/test_cuda.py` compares them by test AUC, and the operator, encoder, "
                  "likelihood and optimizer exactly); the AUCs above are those models', not a second measurement of "
                  "docs/models.md's table.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", type=Path, default=RESULTS)
    p.add_argument("--budget", type=float, default=330.0, help="seconds after which the remaining parts are skipped")
    p.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    p.add_argument("--cpu-images", action="store_true",
                   help="add the image part's CPU reference (this machine, 2 threads) to the JSON and the docs")
    p.add_argument("--report-only", action="store_true", help="write the docs section from the JSON")
    args = p.parse_args(argv)
    if args.cpu_images:
        torch.set_num_threads(2)
        report = json.loads(args.json.read_text())
        report["images_cpu"] = images_epoch("cpu") | {"machine": machine()}
        write_json(args.json, report)
        update_section("benchmarks.md", "cuda", markdown(report))
        return 0
    if args.report_only:
        update_section("benchmarks.md", "cuda", markdown(json.loads(args.json.read_text())))
        return 0
    if not torch.cuda.is_available():
        print("cuda.py: error: torch finds no CUDA device here", file=sys.stderr)
        return 2
    start = time.perf_counter()
    budget_left = lambda: args.budget - (time.perf_counter() - start)
    report = {"gpu": gpu_line(), "torch": torch.__version__, "command": "python benchmarks/cuda.py " + " ".join(argv or sys.argv[1:])}
    for part in args.parts:
        if budget_left() <= 0:
            report.setdefault("skipped", []).append(part)
            continue
        t = time.perf_counter()
        try:
            PARTS[part](report, budget_left)
        except Exception as error:  # keep the other parts' numbers
            report.setdefault("errors", {})[part] = f"{type(error).__name__}: {error}"
        report.setdefault("part_seconds", {})[part] = time.perf_counter() - t
        write_json(args.json, report)
        print(f"{part}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    print(markdown(report))
    return 0


if __name__ == "__main__":
    run_benchmark(main)
