"""Image VAE benchmark: binarized digits (latent 8 and 2), or CIFAR-10 from the user's files, through ``graphvae vae``.

Usage::

    python benchmarks/image_vae.py [--seeds 3] [--epochs 300]
    python benchmarks/image_vae.py --cifar PATH [--seeds 3] [--epochs 50]

Digits: runs ``graphvae vae --dataset digits --latent D --hidden 256 --epochs 300 --batch-size 100 --lr 0.001
--iwae-k 1000 --seeds 3`` for D = 8 and D = 2 (the reference 64-256-d-256-64 MLP VAE), writes
``benchmarks/results/image_vae_latent{D}.json``, the figures of seed 0 under
``docs/figures/image_vae/latent{D}/`` and the ``image_vae`` section of ``docs/image_vae.md``.

CIFAR-10 (``--cifar PATH``: the python-version folder or ``cifar-10-python.tar.gz``, or a Keras-style
``.npz``; nothing is downloaded): runs ``graphvae vae --cifar PATH --latent 128 --hidden 512 --epochs 50
--batch-size 100 --lr 0.001 --iwae-k 100 --seeds 3`` (Gaussian pixels with learned std, uniform
dequantization), writes ``benchmarks/results/image_vae_cifar10.json``, the figures under
``docs/figures/image_vae/cifar10/`` and the ``image_vae_cifar10`` section of ``docs/image_vae.md``.
Without the files it says so and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _docs import ROOT, machine, update_section, run_benchmark, count  # noqa: E402


def main(argv: list[str]) -> int:
    """``graphvae`` with ``argv`` (imported here: a missing CIFAR path is reported without loading graphvae)."""
    from graphvae.cli import main as cli

    return cli(argv)

#: the issue's targets (mean of 3 seeds) and the plain-MLP reference numbers
TARGETS = {8: {"test_elbo": -18.3, "test_iwae": -17.3}, 2: {"test_elbo": -20.1}}
REFERENCE = {8: {"test_elbo": "−18.06 ± 0.06", "test_iwae": "−17.07 ± 0.07"}, 2: {"test_elbo": "−19.86 ± 0.27"}}
FIGURES = [("latent_map.png", "test set in the latent space, coloured by digit"),
           ("latent_grid.png", "images decoded over the latent plane at Gaussian quantiles"),
           ("reconstructions.png", "test images beside their reconstructions"),
           ("prior_samples.png", "64 samples from the prior (mean images)"),
           ("training_curves.png", "ELBO, reconstruction and KL per epoch (training averages)")]


def command(latent: int, seeds: int, epochs: int) -> list[str]:
    return ["vae", "--dataset", "digits", "--latent", str(latent), "--hidden", "256", "--epochs", str(epochs),
            "--batch-size", "100", "--lr", "0.001", "--iwae-k", "1000", "--seeds", str(seeds),
            "--plot", f"docs/figures/image_vae/latent{latent}", "--json", f"benchmarks/results/image_vae_latent{latent}.json",
            "--no-progress"]


def fmt(ms: dict) -> str:
    return f"{ms['mean']:.2f} ± {ms['std']:.2f}"


def page(results: dict[int, dict], cmds: dict[int, list[str]], total: float, epochs: int, seeds: int) -> str:
    lines = [
        "## Image VAE on binarized digits",
        "",
        "The image VAE is the VGAE on a graph with no edges (`graphvae.ImageVAE`): the GCN encoder on the",
        "identity operator is an MLP, the decoder is GCN layers on the same edgeless graph, and the loss is",
        "the shared `ELBO` module with Bernoulli pixels instead of links. Architecture 64-256-d-256-64 (ReLU),",
        f"Adam 1e-3, batch 100, {epochs} epochs; scikit-learn's digits binarized at pixel > 8 (of 16); 80/20 split",
        f"stratified by label with `random_state=seed`; {f'seeds 0..{seeds - 1}' if seeds > 1 else 'seed 0'}. Numbers are nats per image (higher is",
        "better), mean ± std (population) over the seeds. The test ELBO averages 10 posterior samples; IWAE uses",
        "k = 1000 importance samples. The margin is the mean minus the target (the smaller of the two for latent 8);",
        "the seed-to-seed std of the test ELBO is " + " and ".join(
            f"{r['mean_std']['test_elbo']['std']:.2f} nats at latent {d}" for d, r in results.items())
        + ", so a margin smaller than that is within noise.",
        "",
        f"Machine: {machine()}. Total wall time {total / 60:.1f} min.",
        "",
        "Commands:",
        "",
        "```",
        *("graphvae " + " ".join(c) for c in cmds.values()),
        "```",
        "",
        "| latent | test ELBO | IWAE (k=1000) | reconstruction | KL | Fréchet (ours) | Fréchet real vs real | train s / seed | target | reference MLP VAE | met? (margin, nats) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d, r in results.items():
        s = r["mean_std"]
        margin = min(s[k]["mean"] - v for k, v in TARGETS[d].items())
        target = ", ".join(f"{'ELBO' if k == 'test_elbo' else 'IWAE'} ≥ {v}" for k, v in TARGETS[d].items())
        ref = " / ".join(REFERENCE[d].values())
        lines.append(f"| {d} | {fmt(s['test_elbo'])} | {fmt(s['test_iwae'])} | {fmt(s['test_reconstruction'])} | "
                     f"{fmt(s['test_kl'])} | {fmt(s['frechet'])} | {fmt(s['frechet_real'])} | "
                     f"{s['train_seconds']['mean']:.1f} | {target} | {ref} | {'yes' if margin >= 0 else 'NO'} ({margin:+.2f}) |")
    lines += ["", "Per seed:", "", "| latent | seed | test ELBO | IWAE | Fréchet | classifier test accuracy |",
              "|---|---|---|---|---|---|"]
    for d, r in results.items():
        for s in r["seeds"]:
            lines.append(f"| {d} | {s['seed']} | {s['test_elbo']:.3f} | {s['test_iwae']:.3f} | {s['frechet']:.3f} | "
                         f"{s['classifier_accuracy']:.3f} |")
    lines += [
        "",
        "**The Fréchet distance here is not the Inception FID** and is not comparable with published FIDs.",
        "It is the FID formula ‖μ_X − μ_Y‖² + tr(Σ_X + Σ_Y − 2(Σ_X^½ Σ_Y Σ_X^½)^½) applied to the 64 features",
        "of the last hidden layer of a small MLP classifier (scikit-learn, 64-128-64-10) that graphvae trains on",
        "the same training split and caches; X = the 360 test images, Y = 360 prior samples shown as mean images.",
        "The \"real vs real\" column (test images against 360 training images) is the floor that sampling noise",
        "alone gives with so few images.",
        "",
    ]
    for d in results:
        lines += [f"### Figures, latent {d} (seed 0)", ""]
        for name, caption in FIGURES:
            if name == "latent_grid.png" and d > 2:  # the grid of a d-dimensional latent (graphvae.evaluation.plots)
                caption = "mean images decoded along the two leading PCA directions of the latent means at Gaussian quantiles"
            lines += [f"![{caption}](figures/image_vae/latent{d}/{name})", f"*{caption}*", ""]
    return "\n".join(lines)


CIFAR_FIGURES = [("test_images.png", "the first 64 test images"),
                 ("reconstructions.png", "test images beside their reconstructions (posterior mean, decoder mean)"),
                 ("prior_samples.png", "64 samples from the prior (mean images)"),
                 ("latent_map.png", "test set in the latent space (PCA of the 128-D posterior means), coloured by class"),
                 ("latent_grid.png", "mean images decoded along the two leading PCA directions at Gaussian quantiles"),
                 ("training_curves.png", "ELBO, reconstruction and KL per epoch (training averages, dequantized pixels)")]


def cifar_command(path: str, seeds: int, epochs: int) -> list[str]:
    return ["vae", "--cifar", path, "--latent", "128", "--hidden", "512", "--epochs", str(epochs), "--batch-size", "100",
            "--lr", "0.001", "--iwae-k", "100", "--seeds", str(seeds), "--plot", "docs/figures/image_vae/cifar10",
            "--json", "benchmarks/results/image_vae_cifar10.json", "--no-progress"]


def cifar_page(r: dict, cmd: list[str], total: float) -> str:
    s = r["mean_std"]
    lines = [
        "## Measured: CIFAR-10",
        "",
        f"Machine: {machine()}. Total wall time {total / 60:.1f} min. {r['n_train']} training and {r['n_test']} test",
        f"images; Gaussian pixels with a learned per-pixel std (started at {r['sigma']}), uniform dequantization;",
        f"the test ELBO averages {r['config']['elbo_samples']} posterior samples, IWAE uses k = {r['iwae_k']}.",
        "Mean ± std (population) over the seeds.",
        "",
        "```",
        "graphvae " + " ".join(cmd),
        "```",
        "",
        "| test ELBO (nats) | IWAE (nats) | ELBO bits/dim | IWAE bits/dim | reconstruction | KL | Fréchet (ours) | "
        "Fréchet real vs real | train s / seed |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {fmt(s['test_elbo'])} | {fmt(s['test_iwae'])} | {s['test_elbo_bits_per_dim']['mean']:.3f} ± "
        f"{s['test_elbo_bits_per_dim']['std']:.3f} | {s['test_iwae_bits_per_dim']['mean']:.3f} ± "
        f"{s['test_iwae_bits_per_dim']['std']:.3f} | {fmt(s['test_reconstruction'])} | {fmt(s['test_kl'])} | "
        f"{fmt(s['frechet'])} | {fmt(s['frechet_real'])} | {s['train_seconds']['mean']:.0f} |",
        "",
        "| seed | test ELBO | IWAE | IWAE bits/dim | mean learned σ | Fréchet | classifier test accuracy |",
        "|---|---|---|---|---|---|---|",
        *(f"| {x['seed']} | {x['test_elbo']:.1f} | {x['test_iwae']:.1f} | {x['test_iwae_bits_per_dim']:.3f} | "
          f"{x['sigma_mean']:.4f} | {x['frechet']:.2f} | {x['classifier_accuracy']:.3f} |" for x in r["seeds"]),
        "",
    ]
    for name, caption in CIFAR_FIGURES:
        lines += [f"![{caption}](figures/image_vae/cifar10/{name})", f"*{caption}*", ""]
    return "\n".join(lines)


def run_cifar(path: str, seeds: int, epochs: int) -> int:
    if not Path(path).exists():
        print(f"CIFAR-10 files not found at {path}: this benchmark needs your own copy (the python-version folder "
              f"cifar-10-batches-py/ or cifar-10-python.tar.gz, or a Keras-style .npz); nothing was run, "
              f"docs/image_vae.md is unchanged", file=sys.stderr)
        return 2
    path = str(Path(path).resolve())
    start = time.perf_counter()
    cmd = cifar_command(path, seeds, epochs)
    rc = main(cmd)
    if rc != 0:
        return rc
    result = json.loads((ROOT / cmd[cmd.index("--json") + 1]).read_text())
    out = update_section("image_vae.md", "image_vae_cifar10", cifar_page(result, cmd, time.perf_counter() - start),
                         title="Image VAE")
    print(f"wrote {out}")
    return 0


def run() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar", metavar="PATH", help="run the CIFAR-10 benchmark on your copy of the files")
    p.add_argument("--seeds", type=count, default=3)
    p.add_argument("--epochs", type=count, help="(default: 300 for digits, 50 for CIFAR-10)")
    args = p.parse_args()
    import os
    os.chdir(ROOT)
    if args.cifar:
        return run_cifar(args.cifar, args.seeds, args.epochs or 50)
    args.epochs = args.epochs or 300
    start = time.perf_counter()
    results, cmds = {}, {}
    for latent in (8, 2):
        cmds[latent] = command(latent, args.seeds, args.epochs)
        rc = main(cmds[latent])
        if rc != 0:
            return rc
        results[latent] = json.loads((ROOT / cmds[latent][cmds[latent].index("--json") + 1]).read_text())
    path = update_section("image_vae.md", "image_vae", page(results, cmds, time.perf_counter() - start, args.epochs, args.seeds),
                          title="Image VAE")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_benchmark(run)
