"""Helpers shared by the subcommands: argument types and groups, input checks, JSON output, summaries.

Nothing here imports torch: a command validates its arguments and paths with these helpers first,
then imports what it needs inside ``run``.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

from .._validation import MAX_SEED, InputError, counted, readable_file, unwritable_folder, writable_path
from ..estimators.zoo import BEST, NAMES as MODEL_NAMES
from ..estimators.zoo import model_config


#: the largest count an option takes (epochs, widths, ...): 2**63 epochs overflowed in the progress bar's len(), a width
#: of 10**20 in torch's shape unpacking, both as tracebacks
MAX_COUNT = 2**31 - 1


def positive_int(text: str, most: int = MAX_COUNT) -> int:
    """An integer from 1 to ``most`` (an option's own limit, else :data:`MAX_COUNT`)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    if value > most:
        raise argparse.ArgumentTypeError(f"must be at most {most}, got {text}")
    return value


#: the most seeds one command runs
MAX_SEEDS = 10_000


def non_negative_int(text: str) -> int:
    """A seed: an integer from 0 to :data:`MAX_SEED`."""
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer of at most 2**63 - 1, got {text}")
    return value


def seed_count(text: str) -> int:
    """``--seeds``: how many seeds, 1 to :data:`MAX_SEEDS`."""
    return positive_int(text, MAX_SEEDS)


#: the most torch threads a command takes (far beyond any machine's cores; OpenMP crashes creating ~100k threads)
MAX_THREADS = 1024


def thread_count(text: str) -> int:
    """``--threads``: torch threads, 1 to :data:`MAX_THREADS`."""
    return positive_int(text, MAX_THREADS)


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:  # inf reached the estimator, whose message named its parameter, not the option
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a non-negative finite number, got {text}")
    return value


def fraction(text: str) -> float:
    """A fraction in [0, 1) (of edges hidden, say)."""
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def widths(text: str) -> tuple[int, ...]:
    """``"512,256"`` -> ``(512, 256)``: positive layer widths."""
    try:
        values = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers, got {text!r}")
    if max(values) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"widths must be at most {MAX_COUNT}, got {text!r}")
    return values


def check_inputs(args: argparse.Namespace, **what: str) -> None:
    """Fail fast, before torch is imported: each ``args.<attr>`` that is set must be a readable file
    (``what`` maps the attribute to its description, e.g. ``edges="edge-list file"``)."""
    for attr, description in what.items():
        path = getattr(args, attr, None)
        if path is not None:
            readable_file(path, description)


def check_output_dir(path: str | os.PathLike | None, what: str = "output") -> None:
    """Fail fast if the folder an output file goes into exists but cannot be written."""
    if path is not None:
        writable_path(path, what)


# --------------------------------------------------------------------------- graph commands

def add_graph_arguments(p: argparse.ArgumentParser, dataset_default: str | None) -> None:
    p.add_argument("--dataset", default=None,
                   help="registered dataset: cora, citeseer or pubmed (fetched on first use, then cached)"
                        + (f"; default: {dataset_default} unless --edges is given" if dataset_default else ""))
    p.set_defaults(default_dataset=dataset_default)
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding planetoid/<Name>/raw/ for a registered dataset, not with --edges (default: "
                        "$GRAPHVAE_DATA, then the cache)")
    p.add_argument("--edges", help="graph file instead of --dataset: edge list (CSV/TSV: source, target[, weight]), "
                                   ".graphml, .gml, .gexf, .net (Pajek) or .npz (scipy sparse adjacency)")
    p.add_argument("--features", help="node features: .npy or scipy.sparse .npz (one row per node), CSV keyed by "
                                      "node id, or an embed --out .emb/.npz file")
    header = p.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None, help="the edge list has a header row")
    header.add_argument("--no-header", dest="header", action="store_false", help="the edge list has no header row")


def add_model_arguments(p: argparse.ArgumentParser, seeds: bool = True) -> None:
    p.add_argument("--model", choices=MODEL_NAMES, default="vgae", metavar="NAME",
                   help=f"one of {', '.join(MODEL_NAMES)} (default: vgae, the paper's model; best: the strongest by "
                        f"validation AUC, now {BEST}: see docs/models.md)")
    p.add_argument("--epochs", type=positive_int, help="training epochs (default: the model's; paper: 200)")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (default: the model's; paper: 0.01)")
    p.add_argument("--hidden", type=positive_int, help="hidden GCN width (default: the model's; paper: 32)")
    p.add_argument("--latent", type=positive_int, help="latent dimension (default: the model's; paper: 16)")
    p.add_argument("--negatives", type=positive_float,
                   help="sampled pairs per positive pair and epoch (default: the model's; paper: 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar (drawn only when stderr is a terminal)")
    add_device_argument(p, seeds)


def add_device_argument(p, seeds: bool = True) -> None:
    """``--device``: where a training command trains (:func:`check_device`); ``seeds``: the command runs several."""
    p.add_argument("--device", default="cpu",
                   help="where to train: cpu (default), cuda or cuda:N" + (
                       " (the seeds then train one after another in this process)" if seeds else ""))


def check_device(args: argparse.Namespace) -> None:
    """``--device`` names a device torch can train on here (else one line, exit 2); a CUDA device refuses
    ``--workers`` (the worker processes are forked CPU trainers)."""
    from .._device import resolve_device

    device = resolve_device(args.device)
    args.device = str(device)  # as the model and the JSON config record it ("cuda" -> "cuda:0")
    if device.type != "cpu" and (getattr(args, "workers", None) or 1) > 1:
        raise InputError(f"--workers trains seeds in forked CPU processes: with --device {args.device} the seeds "
                         f"train one after another on the device; leave --workers out")
    if device.type != "cpu" and under_torchrun():
        raise InputError("a distributed run (torchrun) trains on the CPU: leave --device out")


def check_graph_arguments(args: argparse.Namespace) -> None:
    """The graph arguments' consistency and files, checked before anything heavy is imported; without
    ``--edges`` and ``--dataset`` the command's default dataset (if any) is filled in."""
    if args.edges is not None and args.dataset is not None:
        raise InputError("give --dataset NAME or --edges FILE, not both")
    if args.edges is None and args.dataset is None:
        args.dataset = getattr(args, "default_dataset", None)
    if args.edges is None and args.dataset is None:
        raise InputError("give --dataset NAME or --edges FILE")
    if args.edges is None and args.features:
        raise InputError("--features goes with --edges, not with a registered --dataset")
    if args.edges is not None and getattr(args, "data_dir", None) is not None:
        raise InputError("--data-dir is where registered datasets are found: it goes with --dataset, not with --edges")
    header = getattr(args, "header", None)
    if header is not None and (args.edges is None or os.path.splitext(args.edges)[1].lower() in NOT_EDGE_LISTS):
        raise InputError(f"--{'' if header else 'no-'}header applies to an edge-list file (--edges FILE.csv), not to "
                         + ("a registered --dataset" if args.edges is None else f"{args.edges}"))
    graph_file = args.edges is not None and os.path.splitext(args.edges)[1].lower() in NOT_EDGE_LISTS
    check_inputs(args, edges="graph file" if graph_file else "edge-list file", features="feature file")
    check_outputs_spare_inputs(args)
    check_plot_format(args, getattr(args, "plot", None))
    check_plot_dir(getattr(args, "plot", None),
                   names=tuple(figure_file(args, f) for f in GRAPH_FIGURES.get(getattr(args, "command", None), ())))


#: the graph datasets `graphvae ae` trains a graph autoencoder on (the other --dataset names are images)
GRAPH_DATASETS = ("cora", "citeseer")
#: graph files that are not edge lists, by suffix (graphvae.data.graph_files' NETWORKX_SUFFIXES and .npz; kept here so
#: that bad arguments answer without importing numpy; a test compares them)
NOT_EDGE_LISTS = (".graphml", ".gml", ".gexf", ".net", ".pajek", ".npz")
#: the figures each graph command writes into --plot DIR (file names without the --plot-format suffix)
GRAPH_FIGURES = {"embed": ("embedding_map",), "linkpred": ("link_curves",), "classify": ("label_map",),
                 "cluster": ("cluster_map",)}
#: the file formats of the --plot figures (graphvae.evaluation.plots.save_figure writes each by its suffix)
PLOT_FORMATS = ("png", "pdf", "svg")


def add_plot_format_argument(p) -> None:
    """``--plot-format``, beside a command's ``--plot DIR``."""
    p.add_argument("--plot-format", choices=PLOT_FORMATS, default=None,
                   help="file format of the --plot figures (default: png; pdf and svg are vector graphics)")


def check_plot_format(args: argparse.Namespace, plot_dir: str | None) -> None:
    """Refuse ``--plot-format`` without a figures folder; else set its default, png."""
    refuse_unused(args, [("plot_format", plot_dir is not None,
                          "--plot-format is the file format of the --plot figures: give --plot DIR too")])
    fill_defaults(args, {"plot_format": "png"})


def figure_file(args: argparse.Namespace, name: str) -> str:
    """The file of figure ``name`` in the --plot folder: ``name`` with the ``--plot-format`` suffix."""
    return f"{name}.{getattr(args, 'plot_format', None) or 'png'}"


def refuse_unused(args: argparse.Namespace, rules: list[tuple[str, bool, str]]) -> None:
    """Refuse an option given on the command line that the chosen kind, likelihood or data would ignore: ``rules``
    holds ``(attribute, applies, message)``; an attribute that is set (not ``None``, not ``False``: its default is
    ``None``, or ``False`` for a switch) where ``applies`` is false raises :class:`InputError` with ``message``."""
    for attr, applies, message in rules:
        value = getattr(args, attr, None)
        # identity, not equality: a number given as 0 (``--weight 0``) is given, though ``0 == False``
        if value is not None and value is not False and not applies:
            raise InputError(message)


def fill_defaults(args: argparse.Namespace, defaults: dict) -> None:
    """Set the options left out (``None``) to their defaults, once :func:`refuse_unused` has seen what was given."""
    for attr, value in defaults.items():
        if getattr(args, attr) is None:
            setattr(args, attr, value)


def check_outputs_spare_inputs(args: argparse.Namespace) -> None:
    """Refuse an output path (``--out``, ``--json``) that is one of the command's input files (``--edges``,
    ``--features``, ``--labels``; the image files ``--mnist``, ``--fashion-mnist``, ``--cifar``, or a file inside
    such a folder): writing it would replace the user's data with the results. The image commands' ``--out`` is
    their figures folder, which ``--json`` may not be either; nor may an input lie in the figures folder as a
    ``.png``/``.pdf``/``.svg`` file (a figure of that name replaced an edge list)."""
    inputs = [(flag, getattr(args, flag, None)) for flag in ("edges", "features", "labels", "mnist", "fashion_mnist",
                                                               "cifar")]
    images = getattr(args, "command", None) in ("vae", "ae")  # their --out is the figures folder (--plot)
    figures = getattr(args, "out", None) if images else getattr(args, "plot", None)
    for out_flag in ("json",) if images else ("out", "json"):
        out = getattr(args, out_flag, None)
        for in_flag, path in inputs:
            if out and path and (_same_file(out, path) or (os.path.isdir(path) and _inside(out, path))):
                raise InputError(f"--{out_flag} {out} is the --{in_flag.replace('_', '-')} input "
                                 f"{'file' if not os.path.isdir(path) else 'folder'}: writing it would replace your "
                                 f"data; choose another path")
    json_path, out = getattr(args, "json", None), None if images else getattr(args, "out", None)
    suffixes = tuple("." + f for f in PLOT_FORMATS)
    for flag, path in (("json", json_path), ("out", out)):
        if figures and path and (_same_file(path, figures) or (_inside(path, figures)
                                                               and path.lower().endswith(suffixes))):
            raise InputError(f"--{flag} {path} is the figures folder --plot {figures} or a figure in it: choose "
                             f"another path")
    if out and json_path and _same_file(out, json_path):
        raise InputError(f"--out and --json are the same file ({out}): the JSON would replace the output")
    for in_flag, path in inputs:  # an input named like a figure in the figures folder: the figure replaced it
        if figures and path and not os.path.isdir(path) and _inside(path, figures) and path.lower().endswith(suffixes):
            raise InputError(f"--{in_flag.replace('_', '-')} {path} lies in the figures folder {figures} under a "
                             f"figure's file type: the figures could replace it; choose another folder for them")


def _inside(path: str, folder: str) -> bool:
    folder = os.path.realpath(folder)
    return os.path.commonpath([os.path.realpath(path), folder]) == folder


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): the same path spelled the same way after resolving
        return os.path.realpath(a) == os.path.realpath(b)


def graph_from_args(args: argparse.Namespace, check=None):
    """``(graph, name)`` for ``--edges`` (with a cleaning report on stderr) or ``--dataset``.

    Commands call :func:`check_graph_arguments` first, before they import torch. ``check(graph)``, if given, may
    raise :class:`InputError` for a graph the command cannot use: before the report, so that the error is the only line.
    """
    if args.edges:
        from ..data.graph import load_graph

        graph = load_graph(args.edges, args.features, args.header)
        graph.check_trainable(1)  # a graph without nodes or edges: the error alone, not after the summary below
        if check is not None:
            check(graph)
        c = graph.cleaning
        dropped = [counted(c["self_loops"], "self-loop"), counted(c["duplicates"], "duplicate edge")]
        if "zero_weight" in c:
            dropped.append(counted(c["zero_weight"], "edge of weight 0", "edges of weight 0"))
        hold_note(f"graph: {counted(graph.num_nodes, 'node')}, {counted(c['undirected_edges'], 'undirected edge')} "
                  f"(dropped {', '.join(dropped[:-1])} and {dropped[-1]}; "
                  f"symmetrized {counted(c['one_way'], 'one-way edge')})"
                  + (_weights_note(args) if getattr(graph, "edge_weight", None) is not None else "")
                  + (f"; skipped the header line {c['header']!r} and the first column, pandas' row index "
                     "(to_csv(index=False) writes none)"
                     if c.get("index_column") else
                     f"; skipped the header line {c['header']!r} (--no-header reads it as an edge)" if "header" in c else ""))
        stamps = _timestamp_range(getattr(graph, "edge_weight", None))
        if stamps is not None:
            hold_note(f"graphvae {args.command}: note: the weights ({stamps}) look like Unix timestamps (a temporal "
                      f"edge list's third column), not strengths: each scales its edge's entry of Â; for an "
                      f"unweighted graph give only the first two columns")
        if "possible_header" in c:
            hold_note(f"graphvae {args.command}: note: the first line {c['possible_header']!r} was read as an edge "
                      f"between two nodes that appear on no other line: if it is a header, give --header")
        return graph, str(args.edges)
    from ..data.datasets import load_dataset

    return (load_dataset(args.dataset, root=args.data_dir, progress=not getattr(args, "no_progress", False)),
            args.dataset.lower())


def _timestamp_range(weight) -> str | None:
    """``"min to max"`` when every edge weight lies where Unix times in seconds (1973-2100) or milliseconds lie, as
    SNAP's temporal edge lists (``src dst unixtime``) hold them in their third column; else ``None``."""
    if weight is None or not weight.numel():
        return None
    low, high = float(weight.min()), float(weight.max())
    if 1e8 <= low and high <= 4.2e9 or 1e11 <= low and high <= 4.2e12:
        return f"{low:.6g} to {high:.6g}"
    return None


def _weights_note(args: argparse.Namespace) -> str:
    """What the command does with a weighted graph's weights (docs/embeddings.md, "Edge weights")."""
    if getattr(args, "command", None) == "linkpred":
        return ("; edge weights enter the training graph's Â (of models that do not hide edges while training); "
                "held-out pairs are scored as edges or non-edges")
    return "; edge weights enter Â (of models that do not hide edges while training)"


def _model_kwargs(args: argparse.Namespace, **extra) -> dict:
    """The named model's configuration (:mod:`graphvae.estimators.zoo`) with the options given on the command line over it."""
    config = model_config(args.model)
    given = {"hidden": args.hidden, "latent": args.latent, "epochs": args.epochs, "lr": args.lr,
             "negatives_per_positive": args.negatives, "device": getattr(args, "device", None), **extra}
    config.update({k: v for k, v in given.items() if v is not None})
    return config


def task_embeddings(graph, name: str, seed: int, progress: bool, max_latent: int | None, device: str, **overrides):
    """:func:`graphvae.estimators.node_embeddings.fit_embeddings` for ``classify`` and ``cluster``, whose node tasks
    refuse embeddings that are all the same with their own one-line error: the fit's
    :class:`graphvae.CollapseWarning` would only say it a second time, so it is not shown."""
    import warnings

    from .._validation import CollapseWarning
    from ..estimators.node_embeddings import fit_embeddings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollapseWarning)
        return fit_embeddings(graph, name, seed, progress, max_latent, device, **overrides)


def model_latent(args: argparse.Namespace) -> int:
    """The latent dimension the command's model will have (the paper's 16 unless the model or --latent says)."""
    return int(_model_kwargs(args).get("latent", 16))


def narrow_default_latent(args: argparse.Namespace, graph, latent: int, set_latent: bool = True) -> int | None:
    """Fit a default latent dimension to a small graph: when ``--latent`` was not given and the model's own
    ``latent`` exceeds the graph's node count (the 128-dimensional models on the 34-node karate club), train with
    as many dimensions as nodes and say so on stderr; returns that cap (``None``: nothing narrowed). With
    ``set_latent`` it becomes ``args.latent``; without, the caller caps each part of a composed model where its own
    dimension exceeds it (``fit_embeddings(max_latent=...)``). A ``--latent`` given explicitly is left as it is
    (the model refuses one above the node count)."""
    n = int(graph.num_nodes)
    if args.latent is None and latent > n >= 2:
        if set_latent:
            args.latent = n
        hold_note(f"graphvae {args.command}: note: the model's latent dimension ({latent}) exceeds the {n} nodes: "
                  f"training with at most {n}")
        return n
    return None


def model_from_args(args: argparse.Namespace, seed: int, **extra):
    """The named model as a :class:`graphvae.VGAE`; ``extra`` given as ``None`` keeps the model's own value."""
    from ..estimators.models import VGAE

    return VGAE(**_model_kwargs(args, **extra), random_state=seed, progress=not args.no_progress and is_output_rank())


# --------------------------------------------------------------------------- torchrun

TORCHRUN_EPILOG = ("Several processes or machines: start the same command with torchrun, e.g. "
                   "'torchrun --standalone --nproc-per-node 2 -m graphvae ...'; rank 0 writes the outputs "
                   "(GRAPHVAE_DIST_TIMEOUT, GRAPHVAE_PARTITION: see docs/scale_out.md).")


def under_torchrun() -> bool:
    """Whether this process is one rank of a torchrun job (``WORLD_SIZE`` set)."""
    from ..training.distributed import launched

    return launched()


def is_output_rank() -> bool:
    """Whether this process writes outputs and logs: always, except on ranks other than 0 under torchrun."""
    from ..training.distributed import rank_from_env

    return not under_torchrun() or rank_from_env() == 0


def fit_model(model, data):
    """``model.fit(data)``, or, under torchrun (``WORLD_SIZE`` set), the same fit spread over the ranks
    (:func:`graphvae.training.distributed.fit.fit_distributed`); without torchrun nothing distributed is imported."""
    if not under_torchrun():
        return model.fit(data)
    from ..training.distributed.fit import fit_distributed

    return fit_distributed(model, data, keep_group=True)  # for the later seeds; runtime.leave ends it at exit


def say(*args, **kwargs) -> None:
    """``print`` on the output rank only (see :func:`is_output_rank`)."""
    if is_output_rank():
        print(*args, **kwargs)


#: informational lines for stderr that wait until the command's inputs are all checked (:func:`hold_note`)
_held_notes: list[str] = []


def hold_note(line: str) -> None:
    """An informational line for stderr (the graph's summary, a narrowed latent dimension), held back until
    :func:`release_notes`: a command checks its inputs after loading the graph (labels, ``--clusters``), and an
    error found there must be the only line it prints (:func:`graphvae.cli.main.main` drops the held lines)."""
    if is_output_rank():
        _held_notes.append(line)


def release_notes() -> None:
    """Print the held lines on stderr: a command calls this once its inputs are checked, before training."""
    lines = list(_held_notes)
    _held_notes.clear()
    for line in lines:
        print(line, file=sys.stderr)


def drop_notes() -> None:
    """Forget the held lines (the command stopped on an error, which is then the only line)."""
    _held_notes.clear()


# --------------------------------------------------------------------------- image commands

def add_image_arguments(data: argparse._ArgumentGroup) -> None:
    data.add_argument("--mnist", metavar="PATH", help="MNIST: a directory of IDX files (.gz or not) or a Keras mnist.npz")
    data.add_argument("--fashion-mnist", metavar="PATH", help="Fashion-MNIST, in the same formats as --mnist")


def check_image_arguments(args: argparse.Namespace) -> None:
    if args.test_size is not None and not args.test_size < 1:
        raise InputError(f"--test-size must be below 1, got {args.test_size}")
    for attr in ("mnist", "fashion_mnist"):
        path = getattr(args, attr, None)
        if path is not None and not os.path.exists(path):
            raise InputError(f"--{attr.replace('_', '-')}: no such file or folder: {path}")


def image_dataset_from_args(args: argparse.Namespace, seed: int):
    """The image dataset named by ``--dataset`` / ``--mnist`` / ``--fashion-mnist``."""
    from ..data.image_files import load_image_dataset

    paths = {name: path for name, path in (("mnist", args.mnist), ("fashion-mnist", args.fashion_mnist)) if path}
    if len(paths) > 1:
        raise InputError("give only one of --mnist and --fashion-mnist")
    name = args.dataset or next(iter(paths), "digits")
    if paths and name not in paths:
        raise InputError(f"--dataset {name} does not match the path given with --{next(iter(paths))}")
    if name != "digits" and name not in paths:
        raise InputError(f"{name} is not bundled: give its files with --{name} PATH")
    return load_image_dataset(name, paths.get(name), binarize=not args.no_binarize, seed=seed, test_size=args.test_size)


def check_two_classes(data, needs: str) -> None:
    """Before training: :class:`InputError` if an image dataset's training labels hold one class, which ``needs``
    (what uses the labels: a linear probe, a feature classifier) cannot learn from."""
    import numpy as np

    classes = np.unique(data.y_train)
    if len(classes) < 2:
        raise InputError(f"{data.name}: the training labels hold one class ({classes[0]}): {needs} needs at least two")


def check_test_images(data, needs: str) -> None:
    """Before training: :class:`InputError` if an image dataset holds fewer than 2 test images, too few for ``needs``
    (a covariance, an accuracy that is more than right or wrong)."""
    if len(data.x_test) < 2:
        raise InputError(f"{data.name}: {len(data.x_test)} test image(s): {needs} needs at least 2")


def unit_fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


#: the names of graphvae.estimators.node_embeddings.EMBEDDING_MODELS (kept here so --help imports no torch; a test compares them)
EMBEDDING_MODELS = ["gae", "vgae", "vgae-wide", "vgae-wide-smooth", "gnae-wd", "gnae-wd-smooth",
                    "gnae-wd-denoise", "maskgae-cat", "gnae-maskgae-s2gc"]


def add_threads_argument(p) -> None:
    """``--threads``: the torch thread count of a training command (:func:`set_threads` chooses when it is not given)."""
    p.add_argument("--threads", type=thread_count, default=None,
                   help="torch threads (default: 1 for graphs of up to 200k nodes per step, so a seed's result "
                        "does not depend on how the command ran; else torch's default)")


def add_embedding_arguments(p: argparse.ArgumentParser, default_model: str) -> None:
    """The embedding model of ``classify`` and ``cluster``: a named configuration plus overrides."""
    g = p.add_argument_group("embedding model")
    g.add_argument("--model", choices=EMBEDDING_MODELS, default=default_model,
                   help=f"named configuration (default: {default_model}; see docs/embeddings.md)")
    g.add_argument("--epochs", type=positive_int, help="override the model's training epochs")
    g.add_argument("--hidden", type=positive_int, help="override the hidden GCN width")
    g.add_argument("--latent", type=positive_int, help="override the latent dimension")
    g.add_argument("--lr", type=positive_float, help="override the Adam learning rate")
    g.add_argument("--representation", choices=["latent", "hidden+latent", "layers"],
                   help="override what is embedded: mu, the last hidden layer concatenated with mu, or every layer's output concatenated")
    g.add_argument("--hops", type=int, help="override the propagation steps applied to the representation")
    g.add_argument("--seeds", type=seed_count, default=1, help="number of seeds 0..N-1 (default: 1)")
    g.add_argument("--json", metavar="PATH", help="write the results as JSON")
    g.add_argument("--plot", metavar="DIR", help="write the figures (first seed) into DIR")
    add_plot_format_argument(g)
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar (drawn only when stderr is a terminal)")
    add_device_argument(g)
    add_threads_argument(g)
    add_workers_argument(g)


def embedding_overrides(args: argparse.Namespace) -> dict:
    """The ``--epochs/--hidden/...`` overrides given on the command line (``None`` when not given)."""
    return {k: getattr(args, k) for k in ("epochs", "hidden", "latent", "lr", "representation", "hops")}


def check_plot_dir(path: str | None, flag: str = "--plot", names: tuple[str, ...] = (), what: str = "the figures") -> None:
    """Fail fast, before training, if the figures folder (``--plot``, or ``flag``, holding ``what``) cannot be created
    or written, or one of the figure files ``names`` the command writes there cannot be replaced (a folder of that
    name, or a link into a folder that cannot be written)."""
    if path is None:
        return
    if path == "":  # else no figures at all, and exit status 0
        raise InputError(f"{flag} needs a folder name, got an empty one")
    folder = unwritable_folder(os.path.abspath(path))
    if folder is not None:
        raise InputError(f"cannot write {what} into the {flag} folder {path}: {folder} is not a writable folder")
    if flag == "--plot":
        check_matplotlib()
    for name in names:
        target = os.path.join(path, name)
        check_output_dir(os.path.realpath(target) if os.path.islink(target) else target, f"figure {name} in {flag}")


def check_matplotlib() -> None:
    """Fail fast, before training, if matplotlib cannot be imported: it validates ``MPLBACKEND`` while it imports,
    so a misspelt or retired backend name (``MPLBACKEND=gtk``) failed only when the figures were drawn, after
    training, with a traceback. graphvae draws without a backend (``matplotlib.figure.Figure``), so any valid one
    serves."""
    try:
        import matplotlib  # noqa: F401
    except ValueError as e:
        if "MPLBACKEND" not in os.environ:
            raise
        reason = str(e).split(";")[0].removeprefix("Key backend: ")
        raise InputError(f"--plot: matplotlib cannot start with MPLBACKEND={os.environ['MPLBACKEND']!r} ({reason}): "
                         "unset MPLBACKEND or set it to a valid backend, e.g. MPLBACKEND=Agg") from None


#: up to this many nodes per training step a graph counts as small for :func:`set_threads`
SMALL_GRAPH_NODES = 200_000


#: cores' worth of CPU used by other processes from which a small graph's seeds stay in one process
BUSY_CORES = 0.5
#: the fallback without ``/proc/stat``: 1-minute load average from which a small graph's seeds stay in one process
BUSY_LOAD = 0.75


def cores_in_use(window: float = 0.06, stat: str = "/proc/stat") -> float | None:
    """How many cores' worth of CPU the machine's processes used during the next ``window`` seconds (from
    ``/proc/stat``; this process sleeps meanwhile), or ``None`` where there is no ``/proc/stat``."""
    import time

    def sample() -> tuple[int, int]:
        with open(stat) as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        return sum(ticks[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(window)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return 0.0
    return (1 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


def prepare_training(requested_threads: int | None, nodes_per_step: int) -> int:
    """Tune this CLI process for training and return torch's thread count: glibc keeps freed tensor memory for
    the next step (:func:`graphvae.allocator.retain_freed_memory`; about 30% of MaskGAE's epoch was page faults
    without it), Python's garbage collector resumes with the imported libraries' objects frozen if the command
    paused it (:func:`graphvae.allocator.keep_imported_objects`), and :func:`set_threads` chooses the threads.
    The CLI owns its process; library calls never do this."""
    from ..allocator import keep_imported_objects, retain_freed_memory

    keep_imported_objects()
    retain_freed_memory()
    return set_threads(requested_threads, nodes_per_step)


def set_threads(requested: int | None, nodes_per_step: int) -> int:
    """Set torch's thread count for this CLI process and return it.

    ``requested`` if given; else one thread for a small graph (up to :data:`SMALL_GRAPH_NODES` nodes per
    step) and torch's default for a larger one. The choice depends on the command line and the graph only,
    never on the machine's load, so a seed's numbers are those of a one-thread run however the command ran
    (one process or worker processes, an idle or a busy machine): a different thread count sums in a
    different order, and training amplifies that rounding (one seed's Cora embedding moved by up to 0.12
    between one and two threads, its probe accuracy by 0.001). One thread also costs little here: torch's
    threads wait for each other at every small kernel, so one thread held up by another process stalls them
    all (on a shared 2-core machine two threads made a 10-seed Cora run 10-30x slower under load), and on an
    idle machine a single Cora model trained about as fast on one thread as on two (docs/benchmarks.md).
    ``--threads`` overrides it. Only the CLI entry points call this (it changes process-wide state); library
    calls never do.
    """
    import torch

    if requested is None and nodes_per_step <= SMALL_GRAPH_NODES:
        requested = 1
    if requested is not None:
        torch.set_num_threads(requested)
    return torch.get_num_threads()


def machine_busy() -> bool:
    """Whether other processes are running now: at least half a core busy over 60 ms of ``/proc/stat``
    (:func:`cores_in_use`); without it, a 1-minute load average of at least 0.75."""
    used = cores_in_use()
    if used is not None:
        return used >= BUSY_CORES
    try:
        return os.getloadavg()[0] >= BUSY_LOAD
    except OSError:  # no load average on this platform
        return False


def add_workers_argument(p) -> None:
    """``--workers``: seeds trained in parallel worker processes (:func:`prepare_workers` chooses when not given)."""
    p.add_argument("--workers", type=positive_int, default=None,
                   help="train the seeds in this many worker processes with one torch thread each (Linux; default: "
                        "one per core for graphs of up to 200k nodes on an idle machine when --threads is not given, "
                        "else 1); a seed's result does not depend on the number of workers")


def prepare_workers(requested_workers: int | None, requested_threads: int | None, tasks: int,
                    nodes_per_task: int, device: str = "cpu") -> tuple[int, int]:
    """Tune this CLI process for training ``tasks`` independent runs (:func:`prepare_training`) and return
    ``(workers, threads)``: the worker processes to run them in (:func:`graphvae.cli._workers.map_in_workers`)
    and the torch threads of each process.

    ``requested_workers`` if given (more than one needs Linux, refuses ``--threads`` and torchrun); else, for a small
    graph, no ``--threads`` and more than one task, one worker per core on an idle machine. A small graph's epoch
    is a stream of small kernels that two torch threads share poorly (one waits on the other at every kernel, and
    the Python between kernels runs on one core), so two single-threaded processes train two seeds in about the
    time two threads train one and a half (docs/benchmarks.md). Otherwise one process and :func:`set_threads`'s choice,
    always for a CUDA ``device`` (one process drives it; :func:`check_device` refused ``--workers``).
    """
    from ._workers import available_cores, can_fork

    if requested_workers is not None and requested_workers > 1:
        if under_torchrun():
            raise InputError("--workers runs seeds in processes of their own; under torchrun every seed is one "
                             "distributed fit: leave --workers out")
        if not can_fork():
            raise InputError("--workers needs Linux (the worker processes are forked from this one)")
        if requested_threads is not None:
            raise InputError("--workers trains each seed on one torch thread: give --threads without --workers")
    workers, threads = requested_workers, requested_threads
    if device != "cpu":
        workers = 1
    if workers is None:
        workers = 1
        if (tasks > 1 and threads is None and nodes_per_task <= SMALL_GRAPH_NODES and not under_torchrun()
                and available_cores() > 1 and can_fork()):
            if not machine_busy():  # a busy machine: one process (set_threads takes one thread)
                workers = available_cores()
    workers = min(workers, max(tasks, 1))
    if workers > 1:
        prepare_training(1, nodes_per_task)
        return workers, 1
    return 1, prepare_training(threads, nodes_per_task)
