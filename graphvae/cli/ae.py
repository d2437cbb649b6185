"""``graphvae ae``: the autoencoder family (vanilla, denoising, sparse, contractive, stacked) on images or graphs.

Images (digits, MNIST files): test reconstruction error, the same on corrupted test inputs, a linear
probe of the codes, the encoder's mean Jacobian norm and mean hidden activation; for ``stacked`` the
fine-tuned and from-scratch test accuracies. Graphs (cora, citeseer; kinds vanilla, denoising,
sparse): test link AUC/AP, a linear probe of the node codes on the node labels, mean hidden activation.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._validation import InputError
from ..evaluation.summary import mean_std
from ..files import write_json
from ._common import (
    GRAPH_DATASETS,
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
    figure_file,
    fill_defaults,
    fraction,
    image_dataset_from_args,
    non_negative_float,
    positive_float,
    positive_int,
    refuse_unused,
    seed_count,
    thread_count,
    unit_fraction,
    widths,
)

#: choices of the command line (tests check them against graphvae.estimators.autoencoders' constants)
KINDS = ("vanilla", "denoising", "sparse", "contractive")
GRAPH_KINDS = ("vanilla", "denoising", "sparse")
NOISES = ("masking", "gaussian", "salt_pepper")
AE_ACTIVATIONS = ("sigmoid", "tanh", "relu")
IMAGE_DATASETS = ("digits", "mnist", "fashion-mnist")
ALL_KINDS = (*KINDS, "stacked")


def register(sub) -> None:
    p = sub.add_parser("ae", help="autoencoders: vanilla, denoising, sparse, contractive, stacked (images or graphs)",
                       description="Train an autoencoder of the lectures' family through the shared ELBO module "
                                   "(no KL term, plus the kind's penalty) and report its test metrics over seeds.")
    p.add_argument("--kind", choices=ALL_KINDS, default="vanilla", help="(default: vanilla)")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=[*IMAGE_DATASETS, *GRAPH_DATASETS],
                      help="digits (default), mnist, fashion-mnist, or a graph: cora, citeseer")
    add_image_arguments(data)
    data.add_argument("--data-dir", metavar="DIR",
                      help="with a graph --dataset: folder holding planetoid/<Name>/raw/ (default: $GRAPHVAE_DATA, "
                           "then the cache)")
    data.add_argument("--no-binarize", action="store_true",
                      help="images: keep pixels in [0, 1] instead of thresholding")
    data.add_argument("--test-size", type=positive_float, default=None,
                      help="digits (and graph-node probe) test fraction, stratified by seed (default: 0.2; image "
                           "files keep their own split)")
    model = p.add_argument_group("model")
    model.add_argument("--hidden", type=widths, default=None,
                       help="hidden widths, comma-separated (default: 64; stacked: 128,64; on a graph: 32, the "
                            "paper's GAE)")
    model.add_argument("--latent", type=positive_int, default=None,
                       help="code width, every kind but stacked, whose code is its last --hidden layer (default: 16)")
    model.add_argument("--activation", choices=AE_ACTIVATIONS, default="sigmoid", help="(default: sigmoid)")
    model.add_argument("--likelihood", choices=["bernoulli", "gaussian"], default=None,
                       help="images: pixel reconstruction, cross-entropy or MSE (default: bernoulli)")
    model.add_argument("--noise", choices=NOISES, default=None,
                       help="images, every kind but stacked: the denoising corruption, also that of the noisy test "
                            "error (default: masking)")
    model.add_argument("--noise-level", type=non_negative_float, default=None,
                       help="corruption level (images, every kind but stacked); on graphs (denoising) the fraction of "
                            "masked feature entries (default: 0.3)")
    model.add_argument("--hidden-edges", type=fraction, default=None,
                       help="denoising on graphs: fraction of edges hidden from the encoder each epoch (default: 0.2)")
    model.add_argument("--sparsity", type=unit_fraction, default=None,
                       help="sparse with the KL penalty: target mean activation rho (default: 0.05)")
    model.add_argument("--sparse-penalty", choices=["kl", "l1"], default=None, help="sparse: (default: kl)")
    model.add_argument("--weight", type=non_negative_float, default=None,
                       help="sparse and contractive: penalty weight lambda (default: 1 for KL, 0.001 for L1, "
                            "0.1 contractive)")
    model.add_argument("--jacobian", choices=["exact", "hutchinson"], default=None,
                       help="contractive: closed form or Hutchinson estimate (default: exact)")
    train = p.add_argument_group("training")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="(default: 50; stacked: per stage; on a graph: 200, the paper's GAE)")
    train.add_argument("--finetune-epochs", type=positive_int, default=None,
                       help="stacked: supervised epochs, also the from-scratch budget (default: --epochs)")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help="images (a graph is one batch) (default: 64)")
    train.add_argument("--lr", type=positive_float, default=None,
                       help="Adam learning rate (default: 0.005; on a graph: 0.01, the paper's GAE)")
    train.add_argument("--seeds", type=seed_count, default=1, help="number of seeds 0..N-1 (default: 1)")
    train.add_argument("--threads", type=thread_count, default=1, help="torch CPU threads (default: 1)")
    add_device_argument(train)
    out = p.add_argument_group("output")
    out.add_argument("--plot", "--out", dest="out", metavar="DIR",
                     help="write the figures of the first seed into DIR (--out: the former name)")
    add_plot_format_argument(out)
    out.add_argument("--json", metavar="PATH", help="write the results as JSON")
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar (drawn only when stderr is a terminal)")
    p.set_defaults(func=run)


def figure_names(args: argparse.Namespace) -> tuple[str, ...]:
    """The files ``--plot DIR`` receives: the node-code map on a graph; the code map, the first-layer features and
    (but for stacked) the reconstructions on images."""
    names = ("latent_map",) if args.dataset in GRAPH_DATASETS else \
        ("latent_map", "features", *(("reconstructions",) if args.kind != "stacked" else ()))
    return tuple(figure_file(args, name) for name in names)


def _autoencoder(args: argparse.Namespace, seed: int):
    from ..estimators.autoencoders import Autoencoder

    return Autoencoder(kind=args.kind, hidden=args.hidden, latent=args.latent, activation=args.activation,
                       likelihood=args.likelihood, noise=args.noise, noise_level=args.noise_level,
                       hidden_edges=args.hidden_edges, sparsity=args.sparsity, sparse_penalty=args.sparse_penalty,
                       weight=args.weight, jacobian=args.jacobian, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, random_state=seed, progress=not args.no_progress, device=args.device)


def first_layer_features(encoder):
    """The first layer's weights as one input-shaped image per unit: ``[units, inputs]``."""
    layer = encoder.layers[0] if len(encoder.layers) else encoder.head
    return layer.weight.detach().T.cpu().numpy()


def _image_run(args, seed: int, out: Path | None) -> dict:
    import torch

    from ..estimators.autoencoders import StackedAutoencoder, linear_probe_accuracy
    from ..evaluation.plots import plot_images, plot_latent_map, plot_reconstructions
    from ..training.corruption import corrupt

    data = image_dataset_from_args(args, seed)
    x_tr, y_tr, x_te, y_te = data.x_train, data.y_train, data.x_test, data.y_test
    check_two_classes(data, "the linear probe of the codes")  # and stacked's fine-tuning
    check_test_images(data, "a test accuracy")  # one image scored 1.0 or 0.0
    if args.kind == "stacked":
        params = dict(hidden=args.hidden, activation=args.activation, likelihood=args.likelihood,
                      pretrain_epochs=args.epochs, finetune_epochs=args.finetune_epochs or args.epochs,
                      batch_size=args.batch_size, lr=args.lr, random_state=seed, progress=not args.no_progress,
                      device=args.device)
        model = StackedAutoencoder(pretrain=True, **params).fit(x_tr, y_tr)
        scratch = StackedAutoencoder(pretrain=False, **params).fit(x_tr, y_tr)
        r = {"finetuned_accuracy": model.score(x_te, y_te), "scratch_accuracy": scratch.score(x_te, y_te),
             "reconstruction_error": None, "noisy_reconstruction_error": None, "jacobian_norm": None}
    else:
        model = _autoencoder(args, seed).fit(x_tr)
        noisy = corrupt(torch.from_numpy(x_te), args.noise, args.noise_level, torch.Generator().manual_seed(seed))
        r = {"reconstruction_error": model.reconstruction_error(x_te),
             "noisy_reconstruction_error": model.reconstruction_error(noisy.numpy(), x_te),
             "jacobian_norm": float(model.jacobian_norm(x_te).mean())}
    codes_tr, codes_te = model.transform(x_tr), model.transform(x_te)
    r.update(probe_accuracy=linear_probe_accuracy(codes_tr, y_tr, codes_te, y_te, random_state=seed),
             hidden_activation=float(model.hidden_activations(x_te)[0].mean()), train_seconds=model.train_seconds_)
    figures = []
    if out is not None:
        title = f"{args.kind} autoencoder, {data.name} (seed {seed})"
        figures.append(plot_latent_map(codes_te, y_te, out / figure_file(args, "latent_map"), f"{title}, test codes",
                                       what="codes").name)
        features = first_layer_features(model.objective_.encoder)
        figures.append(plot_images(features[:100], data.shape, out / figure_file(args, "features"),
                                   f"{title}: first-layer features", normalize="each").name)
        if args.kind != "stacked":
            figures.append(plot_reconstructions(x_te[:32], model.reconstruct(x_te[:32]), data.shape,
                                                out / figure_file(args, "reconstructions"),
                                                f"{title}: test images (left), reconstructions (right)", n=32).name)
    return {"dataset": data.name, "figures": figures, **r}


def _graph_run(args, seed: int, out: Path | None) -> dict:
    if args.kind not in GRAPH_KINDS:
        raise InputError(f"--kind {args.kind} is for images; on a graph choose from: {', '.join(GRAPH_KINDS)}")
    import numpy as np
    from sklearn.model_selection import train_test_split

    from ..data.datasets import load_dataset
    from ..data.split import split_edges
    from ..estimators.autoencoders import linear_probe_accuracy
    from ..evaluation.plots import plot_latent_map

    graph = load_dataset(args.dataset, root=args.data_dir, progress=not getattr(args, "no_progress", False))
    y = graph.y.numpy()
    try:  # before training: a fraction that leaves a class out fails at once
        tr, te = train_test_split(np.arange(len(y)), test_size=args.test_size, random_state=seed, stratify=y)
    except ValueError as e:  # a side too small to hold every class
        raise InputError(f"--test-size {args.test_size} cannot split the {len(y)} labelled nodes with every class on "
                         f"both sides ({str(e).splitlines()[0]})") from None
    split = split_edges(graph, seed=seed)
    model = _autoencoder(args, seed).fit(split)
    codes = model.transform()
    r = {**model.score(split.test_pos, split.test_neg),
         "probe_accuracy": linear_probe_accuracy(codes[tr], y[tr], codes[te], y[te], random_state=seed),
         "hidden_activation": float(model.hidden_activations()[0].mean()), "train_seconds": model.train_seconds_}
    figures = []
    if out is not None:
        figures.append(plot_latent_map(codes, y, out / figure_file(args, "latent_map"),
                                       f"{args.kind} graph autoencoder, {args.dataset} node codes (seed {seed})",
                                       what="codes").name)
    return {"dataset": args.dataset, "figures": figures, **r}


def check_options(args: argparse.Namespace) -> None:
    """Refuse an option given for a kind or data type that ignores it (:func:`refuse_unused`), then fill in the
    defaults of those left out."""
    kind, on_graph = args.kind, args.dataset in GRAPH_DATASETS
    data = args.dataset or ("mnist" if args.mnist else "fashion-mnist" if args.fashion_mnist else "digits")
    penalty = args.sparse_penalty or "kl"
    refuse_unused(args, [
        ("weight", kind in ("sparse", "contractive"), f"--weight is the penalty weight of --kind sparse or contractive: "
                                                      f"--kind {kind} has no penalty"),
        ("sparse_penalty", kind == "sparse", f"--sparse-penalty applies to --kind sparse, not to --kind {kind}"),
        ("sparsity", kind == "sparse" and penalty == "kl", "--sparsity is the target activation of the KL penalty of "
                                                           "--kind sparse" + (" (the L1 penalty has none)" if kind ==
                                                                              "sparse" else f", not of --kind {kind}")),
        ("jacobian", kind == "contractive", f"--jacobian applies to --kind contractive, not to --kind {kind}"),
        ("finetune_epochs", kind == "stacked", f"--finetune-epochs applies to --kind stacked, not to --kind {kind}"),
        ("latent", kind != "stacked", "--latent is the code width of the other kinds: --kind stacked codes with its last "
                                      "--hidden layer"),
        ("hidden_edges", on_graph and kind == "denoising", f"--hidden-edges hides graph edges: it applies to --kind "
                                                           f"denoising on --dataset {' or '.join(GRAPH_DATASETS)}"),
        ("noise", not on_graph and kind != "stacked", "--noise corrupts images, for every kind but stacked: it does not "
                                                      "apply " + ("to a graph --dataset" if on_graph else "to --kind stacked")),
        ("noise_level", kind != "stacked" and (not on_graph or kind == "denoising"),
         "--noise-level applies to images (every kind but stacked) and to --kind denoising on a graph, not to "
         + (f"--kind {kind} on a graph" if on_graph else "--kind stacked")),
        ("likelihood", not on_graph, "--likelihood is the pixel reconstruction of images: a graph autoencoder "
                                     "reconstructs edges"),
        ("batch_size", not on_graph, "--batch-size applies to images: a graph trains as one batch"),
        ("no_binarize", not on_graph, "--no-binarize applies to images, not to a graph --dataset"),
        ("data_dir", on_graph, f"--data-dir is where the graph datasets are found: it applies to --dataset "
                               f"{' or '.join(GRAPH_DATASETS)}, not to images"),
        ("test_size", data in ("digits", *GRAPH_DATASETS), f"--test-size splits the bundled digits or a graph's nodes: "
                                                           f"the {data} files keep their own train/test split"),
    ])
    # a graph's defaults are the paper's GAE (Kipf & Welling 2016: 32-16, 200 epochs, Adam 0.01), the images' those of
    # the lectures' autoencoders; with the images' on Cora a vanilla graph autoencoder reached about 0.7 test AUC
    graph_defaults = {"hidden": (32,), "epochs": 200, "lr": 0.01}
    image_defaults = {"hidden": (128, 64) if kind == "stacked" else (64,), "epochs": 50, "lr": 0.005}
    fill_defaults(args, graph_defaults if on_graph else image_defaults)
    fill_defaults(args, {"latent": 16, "hidden_edges": 0.2, "noise": "masking", "noise_level": 0.3, "sparsity": 0.05,
                         "sparse_penalty": "kl", "jacobian": "exact", "likelihood": "bernoulli", "batch_size": 64,
                         "test_size": 0.2})


def run(args: argparse.Namespace) -> int:
    check_options(args)
    check_image_arguments(args)
    check_outputs_spare_inputs(args)
    check_output_dir(args.json, "JSON file")
    check_plot_format(args, args.out)
    check_plot_dir(args.out, "--plot", figure_names(args))
    check_device(args)
    import torch

    torch.set_num_threads(args.threads)
    on_graph = args.dataset in GRAPH_DATASETS
    if on_graph and (args.mnist or args.fashion_mnist):
        raise InputError("--mnist/--fashion-mnist go with image datasets, not with a graph --dataset")
    results, start, figures = [], time.perf_counter(), []
    for seed in range(args.seeds):
        out = Path(args.out) if args.out and seed == 0 else None
        r = (_graph_run if on_graph else _image_run)(args, seed, out)
        drawn = r.pop("figures")  # every seed's row keeps the same keys: the figures are the first seed's
        figures = drawn if seed == 0 else figures
        results.append({"seed": seed, **r})
        shown = "  ".join(f"{k} {v:.4f}" for k, v in r.items() if isinstance(v, float))
        print(f"seed {seed}: {shown}", flush=True)
    keys = [k for k, v in results[0].items() if isinstance(v, float)]
    summary = {k: mean_std([r[k] for r in results]) for k in keys}
    name = results[0]["dataset"]
    print(f"{args.kind} autoencoder on {name}, {args.seeds} seed(s): " + "  ".join(
        f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in summary.items() if k != "train_seconds"))
    if args.out:
        print(f"figures: {', '.join(figures)} in {args.out}")
    if args.json:
        write_json(args.json, {
            "kind": args.kind, "dataset": name, **{k: v["mean"] for k, v in summary.items()}, "mean_std": summary,
            "seeds": results, "figures": figures, "total_seconds": time.perf_counter() - start,
            "notes": {"reconstruction_error": "mean squared error per pixel of the mean reconstruction (test set)",
                      "noisy_reconstruction_error": f"the same for test inputs corrupted by {args.noise} "
                                                    f"noise at level {args.noise_level}, against the clean images",
                      "jacobian_norm": "mean over test images of ||dz/dx||_F of the encoder",
                      "hidden_activation": "mean activation of the first hidden layer (test set)",
                      "probe_accuracy": "logistic regression on standardized codes, test accuracy"},
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()
                       if k not in ("func", "command", "json", "out", "no_progress")},
        })
    return 0
