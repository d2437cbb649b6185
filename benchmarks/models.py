"""Every named graph autoencoder on Cora and CiteSeer, plus an ablation of ``best``: test AUC/AP, s/seed.

    python benchmarks/models.py [--seeds 10] [--ablation-seeds 10] [--jobs 2] [--only cora:gnae,citeseer:vgnae]
                                [--no-ablation] [--epoch-times]

Protocol for every number: the 85/5/10 split of :func:`graphvae.split_edges` with seed ``s`` and the
model initialized with ``random_state=s``, seeds 0..9; the epoch (for all but ``gae``, ``vgae``, ``arga``, ``argva``, which keep
the paper's final epoch) is chosen on the validation edges only; mean ± std (population) of test AUC
and AP. Each (dataset, model, seed) is one task in a pool of ``--jobs`` worker processes with one torch
thread each; the s/seed column is the training time measured inside the worker.

Writes ``benchmarks/results/models_<dataset>_<variant>.json`` (per-seed test AUC/AP, validation AUC,
selected epoch, training seconds, the full model configuration) and the generated sections of
``docs/models.md``. ``best`` is checked against the model with the highest mean *validation* AUC.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

from _docs import ROOT, machine, update_section, run_benchmark, count

from graphvae.evaluation.summary import mean_std
from graphvae.files import write_json  # noqa: E402
from graphvae.estimators.zoo import BEST, MODELS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DATASETS = ("cora", "citeseer")

# published test AUC / AP (%), with their protocols (the anchors)
PUBLISHED = {
    "gae": ("91.0 / 92.0", "89.5 / 89.9", "Kipf & Welling 2016: 85/5/10, 10 runs, final epoch"),
    "vgae": ("91.4 / 92.6", "90.8 / 92.0", "Kipf & Welling 2016: 85/5/10, 10 runs, final epoch"),
    "arga": ("92.4 / 93.2", "91.9 / 93.0", "Pan et al. 2018: 85/5/10, 10 runs"),
    "argva": ("92.4 / 92.6", "92.4 / 93.0", "Pan et al. 2018: 85/5/10, 10 runs"),
    "VGNAE": ("95.4 / –", "97.0 / –", "Ahn & Kim 2021: trains on 80% of the edges"),
    "MaskGAE": ("96.4 / 95.9", "98.0 / 98.2",
                "Li et al. 2023: one fixed split, 10 runs, validation selection; test pairs scored on embeddings of "
                "the training + validation edges (PyG's RandomLinkSplit)"),
}
OTHER_PUBLISHED = [("S2GAE (Tan et al. 2023)", "95.1 / –", "94.9 / –", "as reported by the issue")]

# the ablation of best: each ingredient switched off (keyword overrides of the best configuration, or the
# named model that is exactly best without it)
ABLATION: dict[str, dict | str] = {
    "no batch norm": {"batch_norm": False},
    "no encoder dropout (0.8 on the features)": {"encoder_dropout": 0.0},
    "no degree decoder": {"degree_weight": 0.0},
    "inner-product decoder instead of the MLP (no degree decoder)": {"decoder": "inner", "degree_weight": 0.0},
    "no edge masking (the whole training graph reconstructed; no degree decoder)": {"mask_rate": 0.0,
                                                                                   "degree_weight": 0.0},
    "masking rate 0.7 (the published p) instead of 0.4": {"mask_rate": 0.7},
    "32 decoder units, 3 sampled partners per node": {"decoder_hidden": 32, "negatives_per_positive": 0.5},
    "64 decoder units, 3 sampled partners per node": {"negatives_per_positive": 0.5},
    "32 decoder units, 5 sampled partners per node": {"decoder_hidden": 32},
    "degree decoder weight 0.003 (MaskGAE's, and `best` until 2026-12-04 evening) instead of 0.01": {"degree_weight": 3e-3},
    "no snapshot ensemble: the best epoch alone (`maskgae-wide`, `best` until 2026-12-05)": "maskgae-wide",
    "no ELU after the encoder's head (a linear head)": {"head_activation": None},
    "no weight decay (5e-5)": {"weight_decay": 0.0},
}


def same_training(a: str, b: str) -> bool:
    """Whether two named models train identically (they differ at most in ``snapshots``, which only scores)."""
    strip = lambda name: {k: v for k, v in MODELS[name].items() if k != "snapshots"}
    return strip(a) == strip(b)


def run_seed(dataset: str, name: str, overrides: dict, seed: int) -> dict:
    import torch

    import graphvae as gv
    from graphvae.allocator import retain_freed_memory
    from graphvae.estimators.zoo import make_model

    torch.set_num_threads(1)
    retain_freed_memory()  # as the CLI does (graphvae.cli fit_model): freed tensor memory reused between steps
    graph = gv.load_dataset(dataset)
    split = gv.split_edges(graph, seed=seed)
    cpu = time.process_time()
    model = make_model(name, random_state=seed, **overrides).fit(split)
    cpu = time.process_time() - cpu  # the fit's CPU time (validation included): less sensitive to other jobs
    scores = model.score(split.test_pos, split.test_neg)
    out = {"seed": seed, **scores, "train_seconds": model.train_seconds_, "fit_cpu_seconds": cpu,
           "epochs_run": len(model.history_)}
    if model.early_stopping:
        out.update(val_auc=model.best_val_auc_, best_epoch=model.best_epoch_)
    else:
        out.update(val_auc=model.score(split.val_pos, split.val_neg)["auc"])
    config = {k: v for k, v in model.get_params().items() if k not in ("random_state", "progress")}
    return {"result": out, "config": config}


EPOCH_TIME_MODELS = ("gae", "gnae-wd", "maskgae", "maskgae-wide")


def epoch_times(epochs: int = 40, repeats: int = 2) -> dict:
    """Seconds per training epoch of :data:`EPOCH_TIME_MODELS` in this process (one torch thread, glibc's freed
    memory retained as the CLI does), ``epochs`` epochs without early stopping on seed 0's split, the faster of
    ``repeats`` runs; with the process CPU seconds per epoch of that run."""
    import torch

    import graphvae as gv
    from graphvae.allocator import retain_freed_memory
    from graphvae.estimators.zoo import make_model

    torch.set_num_threads(1)
    retain_freed_memory()
    out = {}
    for dataset in DATASETS:
        split = gv.split_edges(gv.load_dataset(dataset), seed=0)
        for name in EPOCH_TIME_MODELS:
            runs = []
            for _ in range(repeats):
                cpu = time.process_time()
                model = make_model(name, random_state=0, epochs=epochs, early_stopping=False).fit(split)
                runs.append((model.train_seconds_ / epochs, (time.process_time() - cpu) / epochs))
            wall, cpu = min(runs)
            out[f"{dataset}:{name}"] = {"seconds_per_epoch": wall, "cpu_seconds_per_epoch": cpu}
            print(f"{dataset:8s} {name:8s} {wall:.4f} s/epoch ({cpu:.4f} CPU)", flush=True)
    write_json(RESULTS / "models_epoch_times.json", {"epochs": epochs, "repeats": repeats, "times": out,
                                                      "machine": machine(), "load_average": os.getloadavg()})
    return out


def write_epoch_times() -> None:
    data = json.loads((RESULTS / "models_epoch_times.json").read_text())
    t = data["times"]
    lines = ["### Time per epoch", "", "```", "python benchmarks/models.py --epoch-times", "```", "",
             f"Each model in one process with one torch thread (glibc's freed memory retained, as the CLI does), "
             f"{data['epochs']} epochs without early stopping on seed 0's split, the faster of {data['repeats']} "
             f"runs; training wall seconds per epoch, process CPU seconds in brackets. Machine: {data['machine']}; "
             f"load average {data['load_average'][0]:.1f} at the end of the run (shared).", "",
             "| | Cora s/epoch | ratio to GAE | CiteSeer s/epoch | ratio to GAE |", "|---|---|---|---|---|"]
    for name in EPOCH_TIME_MODELS:
        mark = " (= `best`)" if name == BEST else (" (`best` trains as it does)" if same_training(name, BEST) else "")
        cells = []
        for d in DATASETS:
            r, g = t[f"{d}:{name}"], t[f"{d}:gae"]
            cells.append(f"{r['seconds_per_epoch']:.4f} ({r['cpu_seconds_per_epoch']:.4f}) | "
                         f"{r['seconds_per_epoch'] / g['seconds_per_epoch']:.1f}×")
        lines.append(f"| `{name}`{mark} | " + " | ".join(cells) + " |")
    update_section("models.md", "epoch-times", "\n".join(lines), title="Graph autoencoders beyond the 2016 paper")
    print("\n".join(lines))


def summarize(dataset: str, variant: str, name: str, overrides: dict, runs: list[dict]) -> dict:
    seeds = sorted((r["result"] for r in runs), key=lambda r: r["seed"])
    summary = {"dataset": dataset, "variant": variant, "model": name, "overrides": overrides,
               "auc": mean_std([r["auc"] for r in seeds]), "ap": mean_std([r["ap"] for r in seeds]),
               "val_auc": mean_std([r["val_auc"] for r in seeds]),
               "seconds_per_seed": mean_std([r["train_seconds"] for r in seeds]),
               **({"cpu_seconds_per_seed": mean_std([r["fit_cpu_seconds"] for r in seeds])}
                  if all("fit_cpu_seconds" in r for r in seeds) else {}),
               "config": runs[0]["config"], "seeds": seeds, "machine": machine()}
    write_json(RESULTS / f"models_{dataset}_{variant}.json", summary)
    return summary


def cell(s: dict, key: str) -> str:
    return f"{s[key]['mean']:.3f} ± {s[key]['std']:.3f}"


def seconds(s: dict) -> str:
    """Training seconds per seed (wall), with the fit's CPU seconds (validation included) where recorded."""
    cpu = s.get("cpu_seconds_per_seed")
    return f"{s['seconds_per_seed']['mean']:.1f}" + (f" ({cpu['mean']:.1f} CPU)" if cpu else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=count, default=10)
    parser.add_argument("--ablation-seeds", type=count, default=10, help="seeds 0..N-1 for the ablation variants")
    parser.add_argument("--jobs", type=count, default=2)
    parser.add_argument("--only", help="comma-separated dataset:variant cells to (re)run; the table uses saved JSON")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="rewrite the docs from the saved JSON")
    parser.add_argument("--epoch-times", action="store_true",
                        help=f"only time an epoch of {', '.join(EPOCH_TIME_MODELS)} (docs/models.md 'Time per epoch')")
    args = parser.parse_args()
    if args.epoch_times:
        epoch_times()
        write_epoch_times()
        return
    run_info = RESULTS / "models_run.json"

    variants = {name: (name, {}) for name in MODELS}
    if not args.no_ablation:
        for i, overrides in enumerate(ABLATION.values()):
            if isinstance(overrides, dict):
                variants[f"best-ablation{i}"] = (BEST, overrides)
    if args.report_only:
        info = json.loads(run_info.read_text())
        args.seeds, args.jobs = info["seeds"], info["jobs"]
        write_docs(variants, args, info["wall_minutes"], info.get("rerun"))  # the last --only run's note, kept
        return
    cells = [(d, v) for d in DATASETS for v in variants]
    if args.only:
        wanted = set(args.only.split(","))
        unknown = sorted(wanted - {f"{d}:{v}" for d, v in cells})
        if unknown:  # nothing would run, and the docs would still say these cells were re-run
            from graphvae import InputError

            raise InputError(f"--only: no cell {unknown[0]!r} (cells are dataset:variant, e.g. cora:maskgae)")
        cells = [c for c in cells if f"{c[0]}:{c[1]}" in wanted]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {(d, v): [pool.submit(run_seed, d, *variants[v], s)
                            for s in range(args.ablation_seeds if v.startswith("best-ablation") else args.seeds)]
                   for d, v in cells}
        for (d, v), fs in futures.items():
            s = summarize(d, v, *variants[v], [f.result() for f in fs])
            print(f"{d:8s} {v:16s} AUC {cell(s, 'auc')}  AP {cell(s, 'ap')}  val {cell(s, 'val_auc')}  "
                  f"{s['seconds_per_seed']['mean']:.1f} s/seed", flush=True)
    wall = (time.perf_counter() - start) / 60
    if not args.only:
        write_json(run_info, {"seeds": args.seeds, "jobs": args.jobs, "wall_minutes": wall})
    rerun = None
    if args.only and run_info.exists():  # the table mixes the last full run and these re-run cells
        rerun = f"re-run since with `--only {args.only}`" + (
            f" `--ablation-seeds {args.ablation_seeds}`" if args.ablation_seeds != 10 else "") + f" ({wall:.0f} min wall)"
        info = json.loads(run_info.read_text())
        wall = info["wall_minutes"]
        write_json(run_info, {**info, "rerun": rerun})  # for --report-only
    write_docs(variants, args, wall, rerun)


def on_seeds(summary: dict, count: int) -> dict:
    """``summary`` restricted to its first ``count`` seeds (to compare with an ablation run on fewer seeds)."""
    seeds = summary["seeds"][:count]
    return {**summary, "seeds": seeds, **{k: mean_std([r[v] for r in seeds]) for k, v in
                                          (("auc", "auc"), ("ap", "ap"), ("val_auc", "val_auc"),
                                           ("seconds_per_seed", "train_seconds"),
                                           ("cpu_seconds_per_seed", "fit_cpu_seconds"))
                                          if all(v in r for r in seeds)}}


def load(dataset: str, variant: str) -> dict | None:
    path = RESULTS / f"models_{dataset}_{variant}.json"
    return json.loads(path.read_text()) if path.exists() else None


def write_docs(variants: dict, args, wall: float, rerun: str | None = None) -> None:
    command = "python benchmarks/models.py" + (f" --seeds {args.seeds}" if args.seeds != 10 else "") \
        + (f" --jobs {args.jobs}" if args.jobs != 2 else "")
    lines = ["## Every model on Cora and CiteSeer", "", "```", command, "```", "",
             f"Machine{' of the latest cells (earlier cells ran where their JSON says)' if rerun else ''}: "
             f"{machine()}; shared with other jobs during the run, so the s/seed column (training "
             f"wall seconds) is noisy; where given, `(x CPU)` is the fit's process CPU time, validation included, "
             f"less sensitive to the other jobs (each seed ran in one of {args.jobs} worker processes with one torch "
             "thread, glibc's freed memory retained as the CLI does, `graphvae.allocator`). "
             f"Last full run: {wall:.0f} min wall" + (f"; cells {rerun}." if rerun else "."), "",
             "Protocol: 85/5/10 split (`graphvae.split_edges`, seed s) and initialization `random_state=s`, "
             f"seeds 0..{args.seeds - 1}; all models but `gae`, `vgae`, `arga`, `argva` (the paper's 200 epochs, last "
             "one kept) keep the epoch with the best validation AUC; mean ± std of test AUC/AP. `val AUC` is the "
             "selection criterion (mean of Cora and CiteSeer; for the last-epoch models, that epoch's).", "",
             "| model | Cora AUC | Cora AP | Cora s/seed | CiteSeer AUC | CiteSeer AP | CiteSeer s/seed | val AUC |",
             "|---|---|---|---|---|---|---|---|"]
    best_val, best_name = -1.0, None
    for name in MODELS:
        rows = [load(d, name) for d in DATASETS]
        if None in rows:
            continue
        val = sum(r["val_auc"]["mean"] for r in rows) / 2
        if val > best_val:
            best_val, best_name = val, name
        mark = " (= `best`)" if name == BEST else ""
        lines.append(f"| `{name}`{mark} | " + " | ".join(
            f"{cell(r, 'auc')} | {cell(r, 'ap')} | {seconds(r)}" for r in rows) + f" | {val:.3f} |")
    if best_name == BEST:
        verdict = "."
    elif best_name is not None and same_training(best_name, BEST):
        verdict = (f", which trains as `{best_name}` does (the same validation AUC, the best epoch's) and averages "
                   f"the link probabilities of its {MODELS[BEST]['snapshots']} best validation epochs, chosen on "
                   "held-out halves of the validation pairs (\"Against the targets\").")
    else:
        verdict = " (**they differ: update graphvae/estimators/zoo.py**)."
    lines += ["", f"Highest mean validation AUC: `{best_name}`; `best` is `{BEST}`" + verdict, "",
              "Targets (issue 11): Cora AUC and AP ≥ 0.965, CiteSeer ≥ 0.980, ≤ 10 s training per seed.", "",
              "Published numbers (test AUC / AP, %), each under its own protocol:", "",
              "| model | Cora | CiteSeer | protocol |", "|---|---|---|---|"]
    for name, (cora, citeseer, protocol) in PUBLISHED.items():
        lines.append(f"| {name.upper() if name.islower() else name} | {cora} | {citeseer} | {protocol} |")
    for label, cora, citeseer, protocol in OTHER_PUBLISHED:
        lines.append(f"| {label} | {cora} | {citeseer} | {protocol} |")
    update_section("models.md", "models", "\n".join(lines), title="Graph autoencoders beyond the 2016 paper")

    ab_command = command + (f" --ablation-seeds {args.ablation_seeds}"
                             if getattr(args, "ablation_seeds", 10) != 10 else "")
    ab = ["## Ablation of `best`", "", "```", ab_command, "```", "",
          f"`best` = `{BEST}` with one ingredient switched off (or, in the last row, changed) at a time; same protocol; each variant is "
          "compared with `best` on the same seeds (the `seeds` column).", "",
          "| variant | seeds | Cora AUC | Cora AP | CiteSeer AUC | CiteSeer AP | val AUC | s/seed (Cora) |",
          "|---|---|---|---|---|---|---|---|"]
    rows_best = [load(d, BEST) for d in DATASETS]
    entries = [(label, [load(d, v if isinstance(v, str) else f"best-ablation{i}") for d in DATASETS])
               for i, (label, v) in enumerate(ABLATION.items())]
    counts = sorted({len(r["seeds"]) for _, rows in entries if None not in rows for r in rows}, reverse=True)
    if None not in rows_best:
        entries = [(f"`{BEST}` (all ingredients)", [on_seeds(r, k) for r in rows_best]) for k in counts
                   if k <= len(rows_best[0]["seeds"])] + entries
    for label, rows in entries:
        if None in rows:
            continue
        val = sum(r["val_auc"]["mean"] for r in rows) / 2
        ab.append(f"| {label} | 0..{len(rows[0]['seeds']) - 1} | {cell(rows[0], 'auc')} | {cell(rows[0], 'ap')} | "
                  f"{cell(rows[1], 'auc')} | {cell(rows[1], 'ap')} | {val:.3f} | "
                  f"{seconds(rows[0])} |")
    update_section("models.md", "ablation", "\n".join(ab), title="Graph autoencoders beyond the 2016 paper")
    print("\n".join(lines + [""] + ab))


if __name__ == "__main__":
    run_benchmark(main)
