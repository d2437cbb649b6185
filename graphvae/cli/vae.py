"""``graphvae vae``: an image VAE (the no-edge VGAE) on digits, MNIST-style or CIFAR-10 files: test ELBO, IWAE, Fréchet distance, figures.

Light at import: torch and the graphvae internals are imported in :func:`run`, after the arguments
and input paths are checked.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .._validation import InputError
from ..evaluation.summary import mean_std
from ..files import write_json
from ._common import (
    add_device_argument,
    add_image_arguments,
    add_plot_format_argument,
    check_device,
    check_image_arguments,
    check_output_dir,
    check_outputs_spare_inputs,
    check_plot_dir,
    check_plot_format,
    check_test_images,
    check_two_classes,
    fill_defaults,
    image_dataset_from_args,
    non_negative_float,
    positive_float,
    positive_int,
    refuse_unused,
    seed_count,
    thread_count,
    widths,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..data.image_files import ImageDataset
    from ..estimators.image_vae import ImageVAE

#: choices of the command line (tests check them against the library's ``DATASETS`` and ``ACTIVATIONS``)
IMAGE_DATASETS = ("digits", "mnist", "fashion-mnist")
COLOUR_DATASETS = ("cifar10",)
VAE_ACTIVATIONS = ("relu", "tanh", "elu")

#: the numbers reported per seed and summarized as {"mean", "std"}
METRICS = ("test_elbo", "test_reconstruction", "test_kl", "test_iwae", "frechet", "frechet_real", "train_seconds")
#: added for dequantized 8-bit data (CIFAR-10)
BITS_METRICS = ("test_elbo_bits_per_dim", "test_iwae_bits_per_dim")
#: the starting std of the learned Gaussian pixels for CIFAR-10 (natural images' pixel std is about 0.25)
CIFAR_SIGMA = 0.1
#: the CIFAR-10 class names, label 0..9
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FRECHET_NOTE = ("Fréchet distance in the last hidden layer of a small MLP classifier trained on this dataset's "
                "training split; not Inception FID, not comparable with published FIDs")
#: the most IWAE samples ``--iwae-k`` takes: 100 times the default, already hours on a CPU for a test set of
#: 10000 images (the bound's gain beyond a few thousand samples is far below its spread over seeds)
MAX_IWAE_K = 100_000
DEQUANTIZATION_NOTE = ("8-bit pixels k are modelled as y = (k + u)/256, u ~ U[0, 1): fresh u for every training "
                       "batch, one seeded u per test image and evaluation sample; test_elbo and test_iwae are nats "
                       "per image on y, bits/dim = (-L/3072 + ln 256)/ln 2")


def register(sub) -> None:
    p = sub.add_parser("vae", help="image VAE (a VGAE on a graph without edges): ELBO, IWAE, Fréchet distance, figures",
                       description="Train an image VAE, report test ELBO and IWAE bound (nats per image) and a "
                                   "Fréchet distance in a small classifier's features (not Inception FID), "
                                   "and write the lecture's figures.")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=IMAGE_DATASETS + COLOUR_DATASETS,
                      help="digits (bundled, default), mnist, fashion-mnist or cifar10")
    add_image_arguments(data)
    data.add_argument("--cifar", metavar="PATH",
                      help="CIFAR-10: the python-version folder (data_batch_1..5, test_batch) or "
                           "cifar-10-python.tar.gz, or a Keras-style .npz; 3x32x32 colour pixels in [0, 1], "
                           "Gaussian likelihood with uniform dequantization (reports bits/dim)")
    data.add_argument("--no-binarize", action="store_true",
                      help="grey images: keep pixels in [0, 1] instead of thresholding at half range (digits: "
                           "> 8 of 16; --cifar is never binarized)")
    data.add_argument("--test-size", type=positive_float, default=None,
                      help="digits test fraction, stratified, split with random_state=seed (default: 0.2; files "
                           "keep their own split)")
    model = p.add_argument_group("model")
    model.add_argument("--latent", type=positive_int, default=2, help="latent dimension (default: 2)")
    model.add_argument("--hidden", type=widths, default=(256,),
                       help="encoder hidden widths, comma-separated; the decoder mirrors them (default: 256)")
    model.add_argument("--activation", choices=VAE_ACTIVATIONS, default="relu", help="(default: relu)")
    model.add_argument("--likelihood", choices=["bernoulli", "gaussian"],
                       help="pixel likelihood (default: bernoulli; gaussian with --cifar, the only one allowed there)")
    model.add_argument("--sigma", type=positive_float,
                       help="Gaussian pixel std (with --likelihood gaussian or --cifar), fixed unless --learn-sigma "
                            "(default: 1; with --cifar and no --sigma the std is learned per pixel, starting from 0.1)")
    model.add_argument("--learn-sigma", action="store_true",
                       help="learn the Gaussian pixel std per pixel (with --likelihood gaussian or --cifar)")
    model.add_argument("--beta", type=non_negative_float, default=1.0, help="KL weight (default: 1)")
    train = p.add_argument_group("training and evaluation")
    train.add_argument("--epochs", type=positive_int, default=300, help="(default: 300)")
    train.add_argument("--batch-size", type=positive_int, default=100, help="(default: 100)")
    train.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (default: 0.001)")
    train.add_argument("--seeds", type=seed_count, default=1, help="number of seeds 0..N-1 (default: 1)")
    train.add_argument("--iwae-k", type=iwae_count,
                       help=f"IWAE importance samples k, at most {MAX_IWAE_K} (default: 1000; 100 with --cifar, where "
                            f"k=1000 over 10000 test images takes hours on a CPU)")
    train.add_argument("--elbo-samples", type=positive_int, default=10,
                       help="posterior samples averaged in the test ELBO (default: 10)")
    train.add_argument("--threads", type=thread_count, default=1,
                       help="torch CPU threads; small MLPs run fastest on one (default: 1)")
    add_device_argument(train)
    out = p.add_argument_group("output")
    out.add_argument("--plot", "--out", dest="out", metavar="DIR",
                     help="write the figures of the first seed into DIR (--out: the former name)")
    add_plot_format_argument(out)
    out.add_argument("--json", metavar="PATH", help="write the results as JSON")
    out.add_argument("--projection", choices=["pca", "tsne"], default=None,
                     help="2-D projection of the --plot latent map when --latent > 2 (default: pca)")
    out.add_argument("--cache-dir", metavar="DIR",
                     help="cache of the Fréchet feature classifier (default: frechet/ in graphvae's cache folder, "
                          "$XDG_CACHE_HOME/graphvae or ~/.cache/graphvae)")
    out.add_argument("--no-cache", action="store_true",
                     help="do not cache the feature classifier on disk (not with --cache-dir)")
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar (drawn only when stderr is a terminal)")
    p.set_defaults(func=run)


def iwae_count(text: str) -> int:
    """``--iwae-k``: an integer from 1 to :data:`MAX_IWAE_K`."""
    return positive_int(text, MAX_IWAE_K)


def _flag(name: str) -> str:
    return "--cifar" if name == "cifar10" else f"--{name}"


def dataset_choice(args: argparse.Namespace) -> tuple[str, str | None]:
    """``(dataset name, path or None)`` from ``--dataset`` and the path options, checked before any heavy import."""
    check_image_arguments(args)
    given = (("mnist", args.mnist), ("fashion-mnist", args.fashion_mnist), ("cifar10", args.cifar))
    paths = {name: path for name, path in given if path}
    if len(paths) > 1:
        raise InputError("give only one of --mnist, --fashion-mnist and --cifar")
    if args.cifar is not None and not Path(args.cifar).exists():
        raise InputError(f"--cifar: no such file or folder: {args.cifar}")
    name = args.dataset or next(iter(paths), "digits")
    if paths and name not in paths:
        raise InputError(f"--dataset {name} does not match the path given with {_flag(next(iter(paths)))}")
    if name != "digits" and name not in paths:
        raise InputError(f"{name} is not bundled: give its files with {_flag(name)} PATH")
    return name, paths.get(name)


def check_args(args: argparse.Namespace) -> dict:
    """Validate the combination of options; returns the dataset and the pixel-model settings."""
    name, path = dataset_choice(args)
    colour = name in COLOUR_DATASETS
    if colour and args.likelihood == "bernoulli":
        raise InputError("--cifar uses the Gaussian pixel likelihood on [0, 1] pixels; --likelihood bernoulli is not allowed")
    likelihood = "gaussian" if colour else (args.likelihood or "bernoulli")
    gaussian = " applies to the Gaussian pixel likelihood (--likelihood gaussian, or --cifar), not to Bernoulli pixels"
    refuse_unused(args, [
        ("sigma", likelihood == "gaussian", "--sigma, the pixel std," + gaussian),
        ("learn_sigma", likelihood == "gaussian", "--learn-sigma" + gaussian),
        ("test_size", name == "digits", f"--test-size splits the bundled digits: the {name} files keep their own "
                                        f"train/test split"),
        ("projection", args.out is not None and args.latent > 2, "--projection draws the --plot latent map of more "
                                                                 "than 2 latent dimensions: give --plot DIR and --latent 3 or more"),
        ("cache_dir", not args.no_cache, "give --cache-dir DIR or --no-cache, not both"),
        ("no_binarize", not colour, "--no-binarize keeps grey pixels unthresholded: --cifar colour pixels are never "
                                    "binarized"),
    ])
    fill_defaults(args, {"test_size": 0.2, "projection": "pca"})
    return {"name": name, "path": path, "likelihood": likelihood,
            "sigma": args.sigma if args.sigma is not None else (CIFAR_SIGMA if colour else 1.0),
            "learn_sigma": args.learn_sigma or (colour and args.sigma is None),
            "iwae_k": args.iwae_k or (100 if colour else 1000)}


def load_data(args: argparse.Namespace, setup: dict, seed: int) -> ImageDataset:
    """CIFAR-10 (never binarized) or the grey dataset the shared image options name."""
    if setup["name"] in COLOUR_DATASETS:
        from ..data.image_files import load_image_dataset

        return load_image_dataset(setup["name"], setup["path"], binarize=False)
    return image_dataset_from_args(args, seed)


def check_evaluable(data: ImageDataset) -> None:
    """Before training: the Fréchet distance needs at least 2 test images (a covariance) and its feature classifier
    training images of at least 2 classes."""
    check_test_images(data, "the Fréchet distance")
    check_two_classes(data, "the Fréchet distance's feature classifier")


def figure_names(latent: int, plot_format: str = "png") -> tuple[str, ...]:
    """The files :func:`write_figures` writes for a model with ``latent`` dimensions (the grid needs two)."""
    names = ("test_images", "latent_map", *(("latent_grid",) if latent >= 2 else ()), "reconstructions",
             "prior_samples", "training_curves")
    return tuple(f"{name}.{plot_format}" for name in names)


def write_figures(model: ImageVAE, data: ImageDataset, out: Path, projection: str, seed: int,
                  plot_format: str = "png") -> list[str]:
    """The lecture's figures for a fitted model (:func:`figure_names`), as ``plot_format`` files; returns the file
    names."""
    def at(name: str) -> Path:
        return out / f"{name}.{plot_format}"

    from ..evaluation.plots import (
        plot_images,
        plot_latent_grid,
        plot_latent_map,
        plot_reconstructions,
        plot_training_curves,
    )

    name = data.name
    z = model.transform(data.x_test)
    labels = data.y_test
    if name == "cifar10" and labels.min() >= 0 and labels.max() < len(CIFAR_CLASSES):
        labels = [f"{c} {CIFAR_CLASSES[c]}" for c in labels]
    files = [
        plot_images(data.x_test[:64], data.shape, at("test_images"), f"{name}: the first 64 test images", ncols=8),
        plot_latent_map(z, labels, at("latent_map"), f"{name} test set (seed {seed})", method=projection,
                        random_state=seed),
        *([plot_latent_grid(model.decode, model.latent, data.shape, at("latent_grid"), title=name, codes=z)]
          if model.latent >= 2 else []),  # a grid of decoded codes needs two latent dimensions
        plot_reconstructions(data.x_test[:32], model.reconstruct(data.x_test[:32]), data.shape,
                             at("reconstructions"), f"{name} test images (left) and reconstructions (right)", n=32),
        plot_images(model.sample(64, random_state=seed), data.shape, at("prior_samples"),
                    f"{name}: 64 samples from the prior (mean images)", ncols=8),
        plot_training_curves(model.history_per_image(), at("training_curves"),
                             title=f"{name}, latent {model.latent}: per-epoch training averages"),
    ]
    return [f.name for f in files]


def run(args: argparse.Namespace) -> int:
    setup = check_args(args)
    check_outputs_spare_inputs(args)
    check_output_dir(args.json, "JSON file")
    check_plot_format(args, args.out)
    check_plot_dir(args.out, "--plot", figure_names(args.latent, args.plot_format))
    check_plot_dir(args.cache_dir, "--cache-dir", what="the feature classifier")
    check_device(args)
    import torch

    from ..estimators.image_vae import ImageVAE
    from ..evaluation.frechet import default_cache_dir, feature_classifier
    from ..objectives.pixel_likelihood import bits_per_dim

    torch.set_num_threads(args.threads)
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    iwae_k = setup["iwae_k"]
    results, figures, start, data = [], [], time.perf_counter(), None
    for seed in range(args.seeds):
        if data is None or data.name == "digits":  # files keep their own split: read them once
            data = load_data(args, setup, seed)
            check_evaluable(data)
        model = ImageVAE(latent=args.latent, hidden=args.hidden, likelihood=setup["likelihood"], sigma=setup["sigma"],
                         learn_sigma=setup["learn_sigma"], beta=args.beta, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, activation=args.activation, random_state=seed,
                         progress=not args.no_progress, dequantize=data.levels, device=args.device).fit(data.x_train)
        terms = model.elbo(data.x_test, num_samples=args.elbo_samples, random_state=seed)
        clf = feature_classifier(data.x_train, data.y_train, random_state=0, x_test=data.x_test, y_test=data.y_test,
                                 cache_dir=cache_dir)
        n_test = len(data.x_test)
        r = {"seed": seed, "test_elbo": terms["elbo"], "test_reconstruction": terms["log_likelihood"],
             "test_kl": terms["kl"], "test_iwae": model.iwae(data.x_test, iwae_k, random_state=seed),
             "frechet": clf.frechet(data.x_test, model.sample(n_test, random_state=seed)),
             "frechet_real": clf.frechet(data.x_test, data.x_train[:n_test]),
             "classifier_accuracy": clf.accuracy, "train_seconds": model.train_seconds_}
        bad = [k for k in ("test_elbo", "test_iwae", "frechet") if not math.isfinite(r[k])]
        if bad:  # finite parameters, but an evaluation that overflowed: the same failure as a diverged training
            raise InputError(f"seed {seed}: the {bad[0].replace('_', ' ')} is {r[bad[0]]} (training diverged or the "
                             f"pixel likelihood overflowed): try a smaller learning rate than {args.lr:g}")
        line = f"test ELBO {r['test_elbo']:.3f}  IWAE(k={iwae_k}) {r['test_iwae']:.3f} nats/image"
        if data.levels is not None:
            dims = model.n_pixels_
            r["test_elbo_bits_per_dim"] = bits_per_dim(r["test_elbo"], dims, data.levels)
            r["test_iwae_bits_per_dim"] = bits_per_dim(r["test_iwae"], dims, data.levels)
            r["sigma_mean"] = float(model.objective_.likelihood.logstd.detach().exp().mean())
            line += f" ({r['test_elbo_bits_per_dim']:.3f} / {r['test_iwae_bits_per_dim']:.3f} bits/dim)"
        results.append(r)
        print(f"seed {seed}: {line}  Fréchet {r['frechet']:.3f} (real vs real {r['frechet_real']:.3f})  "
              f"training {r['train_seconds']:.1f} s", flush=True)
        if args.out and seed == 0:
            figures = write_figures(model, data, Path(args.out), args.projection, seed, args.plot_format)
    metrics = METRICS + (BITS_METRICS if data.levels is not None else ())
    summary = {k: mean_std([r[k] for r in results]) for k in metrics}
    s = summary
    bits = (f" ({s['test_iwae_bits_per_dim']['mean']:.3f} ± {s['test_iwae_bits_per_dim']['std']:.3f} bits/dim)"
            if data.levels is not None else "")
    print(f"{data.name}, latent {args.latent}, {args.seeds} seed(s): test ELBO {s['test_elbo']['mean']:.3f} ± "
          f"{s['test_elbo']['std']:.3f}  IWAE {s['test_iwae']['mean']:.3f} ± {s['test_iwae']['std']:.3f}{bits}  "
          f"Fréchet {s['frechet']['mean']:.3f} ± {s['frechet']['std']:.3f}")
    if args.out:
        print(f"figures: {', '.join(figures)} in {args.out}")
    if args.json:
        extra = {"dequantization": DEQUANTIZATION_NOTE, "levels": data.levels} if data.levels is not None else {}
        write_json(args.json, {
            "dataset": data.name, "binarized": data.binarized, "shape": list(data.shape),
            "n_train": int(len(data.x_train)), "n_test": int(len(data.x_test)), "iwae_k": iwae_k,
            "likelihood": setup["likelihood"], "sigma": setup["sigma"], "learn_sigma": setup["learn_sigma"], **extra,
            **{k: v["mean"] for k, v in summary.items()}, "mean_std": summary, "seeds": results,
            "frechet_note": FRECHET_NOTE, "figures": figures, "total_seconds": time.perf_counter() - start,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()
                       if k not in ("func", "command", "json", "out", "no_progress", "cache_dir", "no_cache")},
        })
    return 0
