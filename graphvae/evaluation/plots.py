r"""The lecture's VAE figures, written as PNG files (matplotlib, Agg backend).

- :func:`plot_latent_map`: data in a 2-D latent space coloured by label (PCA or t-SNE for ``d > 2``).
- :func:`plot_latent_grid`: images decoded over a latent plane at Gaussian quantiles
  :math:`z_j = \Phi^{-1}(p_j)`, so that equal areas of prior mass get equal space.
- :func:`plot_reconstructions`: originals beside their reconstructions.
- :func:`plot_images`: any set of images as tiles (samples from the prior, first-layer features).
- :func:`plot_training_curves`: ELBO, reconstruction term and KL per epoch.

Every figure has a fixed size (``figsize`` inches times ``dpi``, no tight cropping), so the PNG's
pixel size is known in advance, and is written atomically. :func:`image_grid` is the tiling helper
the figures share; an image ``shape`` of ``(h, w)`` is grey, ``(3, h, w)`` is colour stored
channel-major (as CIFAR-10 is) and is shown as RGB.

matplotlib is imported on the first figure, not with the module.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .._validation import InputError, check_finite, writable_path
from ..files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

DPI = 100


def _figure(figsize) -> "Figure":
    """A new matplotlib ``Figure`` outside pyplot: no backend is chosen and no global figure registry is touched
    (``savefig`` renders PNG with Agg), and matplotlib is imported here so that ``import graphvae`` stays light."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _wrapped(text: str, fig: "Figure", fontsize: float, width: float = 0.95) -> str:
    """``text`` broken into lines that fit ``width`` of the figure's width at ``fontsize`` (about 0.55 em a character),
    its own line breaks kept: a title naming a long file path or model would otherwise run past the figure's edges."""
    import textwrap

    chars = max(20, int(fig.get_figwidth() * 72 * width / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def _top_below(title: str, fig: "Figure", fontsize: float) -> float:
    """The axes' top (a fraction of the figure's height) that leaves room above them for ``title``'s lines."""
    lines = title.count("\n") + 1
    return 1.0 - (0.25 + lines * 1.35 * fontsize / 72) / fig.get_figheight()


def _figure_title(fig: "Figure", title: str, top: float) -> float:
    """Put ``title``, wrapped, over the whole figure (panels with titles of their own); return the panels' top: ``top``,
    or lower where the title's lines and the panels' titles need more room."""
    title = _wrapped(title, fig, 10)
    fig.suptitle(title, fontsize=10)
    return min(top, _top_below(title + "\n", fig, 10))  # one more line: the panels' own titles


def _class_colours(n: int) -> list:
    """``n`` distinct colours: tab10 up to 10 classes; up to 20, tab20's ten dark shades (tab10's colours) then its ten
    light ones (tab20 in its own order gave classes 0 and 1 dark and light blue, every neighbour pair a near twin);
    else ``n`` evenly spaced hues of turbo (cycling tab20 gave classes 0 and 20 the same colour)."""
    import matplotlib

    if n <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return [cmap(i) for i in (*range(0, 20, 2), *range(1, 20, 2))][:n]
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(v) for v in np.linspace(0.0, 1.0, n)]


def _marker_size(n: int) -> float:
    """Scatter marker area (points²) for ``n`` points: 4 for a few thousand, up to 30 for a few dozen (a 34-node graph
    drawn with Cora's dots was a handful of specks)."""
    return float(np.clip(4.0 * np.sqrt(2000.0 / max(n, 1)), 4.0, 30.0))


def _axes_title(fig: "Figure", ax, text: str, fontsize: float) -> None:
    """``text`` as the axes' title, wrapped to fit the figure around the axes' centre (an axes narrowed for a legend
    beside it is off-centre: a title wrapped to the figure's width ran off its left edge), the axes' top lowered
    under its lines."""
    box = ax.get_position()
    centre = (box.x0 + box.x1) / 2
    heading = _wrapped(text, fig, fontsize, width=2 * min(centre, 1 - centre) - 0.03)
    ax.set_title(heading, fontsize=fontsize)
    fig.subplots_adjust(top=_top_below(heading, fig, fontsize))


def _legend_outside(fig: "Figure", ax, title: str | None = None, right: float = 0.98, size: float = 4.0):
    """The axes' legend to the right of the axes, outside them (inside, it hid the points under it), the axes
    narrowed so that it fits in the figure: its width is measured, not guessed. Long labels are cut to 24 characters
    and more than 24 entries go in several columns; ``size`` is the points' marker area."""
    handles, labels = ax.get_legend_handles_labels()
    labels = [t if len(t) <= 24 else t[:23] + "…" for t in labels]
    ncol = int(np.ceil(len(labels) / 24)) or 1
    legend = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8,
                       markerscale=max(1.0, np.sqrt(36.0 / size)),  # legend dots of about 6 pt, whatever the points'
                       ncol=ncol, title=title, title_fontsize=8, frameon=False)
    fig.draw_without_rendering()
    width = legend.get_window_extent().width / fig.bbox.width + 0.02 * ax.get_position().width
    fig.subplots_adjust(right=max(0.45, right - width))
    return legend


def _tiles(images: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``[n, h, w]`` grey or ``[n, h, w, 3]`` RGB tiles from flattened (or not) images of ``shape``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[0] != 3):
        raise InputError(f"an image shape is (h, w) or (3, h, w), got {shape}")
    if min(shape) < 1:
        raise InputError(f"an image shape needs positive sizes, got {shape}")
    size = int(np.prod(shape))
    if np.size(images) % size:
        raise InputError(f"{np.size(images)} pixel values are not a whole number of images of shape {shape} "
                         f"({size} pixels each)")
    if len(shape) == 2:
        return np.asarray(images, dtype=np.float64).reshape(-1, *shape)
    if len(shape) == 3 and shape[0] == 3:
        # channel-major [n, 3, h, w] -> [n, h, w, 3] for imshow
        return np.asarray(images, dtype=np.float64).reshape(-1, *shape).transpose(0, 2, 3, 1)
    raise InputError(f"an image shape is (h, w) or (3, h, w), got {shape}")


def image_grid(images: np.ndarray, shape: Sequence[int], ncols: int | None = None, pad: int = 1,
               normalize: str = "none", fill: float = 0.5) -> np.ndarray:
    """Tile ``[n, pixels]`` (or unflattened) images into one ``[H, W]`` grey or ``[H, W, 3]`` RGB array, row by row.

    Args:
        images: the images, flattened or not.
        shape: ``(h, w)`` of one grey image, or ``(3, h, w)`` of a channel-major colour image.
        ncols: tiles per row (default: ``ceil(sqrt(n))``).
        pad: pixels of ``fill`` between tiles.
        normalize: ``"none"`` keeps the values (colour tiles are clipped to [0, 1], the range RGB display
            needs); ``"each"`` rescales every tile to [0, 1] (for weight images such as first-layer
            features, whose scale is arbitrary).
        fill: value of the padding and of empty tiles (0.5: a grey frame in either colour map).
    """
    tiles = _tiles(images, shape)
    n, h, w = tiles.shape[:3]
    if n == 0:
        raise InputError("image_grid needs at least one image")
    if normalize == "each":
        axes = tuple(range(1, tiles.ndim))
        lo = tiles.min(axis=axes, keepdims=True)
        span = tiles.max(axis=axes, keepdims=True) - lo
        tiles = (tiles - lo) / np.where(span > 0, span, 1.0)
    elif normalize != "none":
        raise InputError(f"normalize must be 'none' or 'each', got {normalize!r}")
    if tiles.ndim == 4:
        tiles = np.clip(tiles, 0.0, 1.0)
    ncols = int(np.ceil(np.sqrt(n))) if ncols is None else max(1, int(ncols))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, *tiles.shape[3:]), fill, dtype=np.float64)
    for i, img in enumerate(tiles):
        r, c = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top:top + h, left:left + w] = img
    return grid


def save_figure(fig: "Figure", path: str | os.PathLike) -> Path:
    """Save ``fig`` atomically as PNG at :data:`DPI` (the size is exactly ``figsize * DPI``), or as PDF or SVG when
    ``path`` ends so (vector figures for a paper; a ``.pdf`` path used to get PNG bytes). Any other suffix: PNG."""
    path = writable_path(path, "figure")  # a folder, or a folder under a file: one line, not an OSError
    kind = path.suffix.lower().lstrip(".")
    kind = kind if kind in VECTOR_FORMATS else "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=kind, dpi=DPI))
    return path


#: the vector formats :func:`save_figure` writes when the path's suffix names one (else PNG)
VECTOR_FORMATS = ("pdf", "svg")


def _show_grid(ax, grid: np.ndarray, title: str, cmap: str = "gray_r", vmin: float = 0.0, vmax: float = 1.0) -> None:
    if grid.ndim == 3:  # RGB in [0, 1]: no colour map
        ax.imshow(grid, interpolation="nearest")
    else:
        ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def plot_images(images: np.ndarray, shape: Sequence[int], path: str | os.PathLike, title: str = "",
                ncols: int | None = None, normalize: str = "none", figsize: tuple[float, float] = (6.0, 6.0),
                cmap: str = "gray_r") -> Path:
    """Images as one grid of tiles: e.g. 64 samples from the prior, or first-layer weights with ``normalize="each"``."""
    fig = _figure(figsize)
    _show_grid(fig.add_subplot(), image_grid(images, shape, ncols, normalize=normalize, fill=0.5), title, cmap)
    return save_figure(fig, path)


def plot_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, shape: Sequence[int],
                         path: str | os.PathLike, title: str = "originals (left) and reconstructions (right)",
                         n: int = 16, figsize: tuple[float, float] = (8.0, 4.5)) -> Path:
    """The first ``n`` originals beside their reconstructions: column pairs (original, reconstruction)."""
    originals, reconstructions = np.asarray(originals), np.asarray(reconstructions)
    if originals.shape != reconstructions.shape:
        raise InputError(f"originals {originals.shape} and reconstructions {reconstructions.shape} differ in shape")
    n = min(n, len(originals))
    if n < 1:
        raise InputError("plot_reconstructions needs at least one image (and n of at least 1)")
    pairs = np.stack([originals[:n], reconstructions[:n]], axis=1).reshape(2 * n, -1)
    cols = 2 * int(np.ceil(np.sqrt(n)))
    fig = _figure(figsize)
    _show_grid(fig.add_subplot(), image_grid(pairs, shape, ncols=cols, fill=0.5), title)
    return save_figure(fig, path)


def project_2d(z: np.ndarray, method: str = "pca", random_state: int = 0,
               what: str = "latent means") -> tuple[np.ndarray, str]:
    """``(points [n, 2], description)``: ``z`` itself if 2-D, else its PCA or t-SNE projection."""
    try:
        z = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"the {what} must be numbers") from None
    if z.ndim != 2 or z.shape[1] < 1:
        raise InputError(f"latent codes must be a [n, d] array, got shape {z.shape}")
    if method not in ("pca", "tsne"):  # refused whatever the dimension, not only when it would be used
        raise InputError(f"projection must be 'pca' or 'tsne', got {method!r}")
    if len(z) == 0:
        raise InputError(f"no {what} to draw")
    check_finite(z, f"the {what}")  # NaN: scikit-learn's traceback; in 2-D, points silently left out
    if z.shape[1] == 1:
        return np.column_stack([z[:, 0], np.zeros(len(z))]), "1-D latent"
    if z.shape[1] == 2:
        return z, "latent space"
    from .node_tasks import collapsed

    if collapsed(z):  # PCA divides by zero, and scikit-learn's t-SNE crashed the process
        raise InputError(f"every point of the {what} is the same vector: there is no map to draw")
    if len(z) < (3 if method == "tsne" else 2):
        raise InputError(f"a {'t-SNE' if method == 'tsne' else 'PCA'} map of the {z.shape[1]}-D {what} needs at least "
                         f"{3 if method == 'tsne' else 2} points, got {len(z)}")
    if method == "pca":
        from sklearn.decomposition import PCA
        pca = PCA(n_components=2, random_state=random_state).fit(z)
        explained = 100 * pca.explained_variance_ratio_.sum()
        return pca.transform(z), f"PCA of the {z.shape[1]}-D {what} ({explained:.0f}% of variance)"
    from sklearn.manifold import TSNE  # method == "tsne" (checked above)
    perplexity = min(30.0, max(2.0, (len(z) - 1) / 3))
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(z)
    return points, f"t-SNE of the {z.shape[1]}-D {what}"


def _point_labels(labels, n: int) -> np.ndarray:
    """``labels`` as a 1-d array of ``n`` class labels; missing ones (``None``, NaN) become ``"unlabelled"`` and then
    every label is text (``None`` beside integers made ``np.unique`` raise a ``TypeError``)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    if labels.shape != (n,):
        raise InputError(f"{labels.size} labels of shape {list(labels.shape)} for {n} points (need one label a point)")
    if labels.dtype.kind in "fO":
        from .node_tasks import _missing

        values = labels.tolist()
        missing = [_missing(v) for v in values]
        if any(missing):
            return np.array(["unlabelled" if m else str(v) for v, m in zip(values, missing)])
        try:
            np.unique(labels)
        except TypeError:  # labels of several types that do not compare: compared as text
            return np.array([str(v) for v in values])
    return labels


#: a t-SNE map draws at most this many points, a random sample of them (scikit-learn's t-SNE took 145 s for 20,000
#: nodes and grows faster than linearly; about 20 s for this many); PCA maps draw every point
TSNE_MAX_POINTS = 5000


def plot_latent_map(z: np.ndarray, labels: np.ndarray | None, path: str | os.PathLike, title: str = "",
                    method: str = "pca", random_state: int = 0, figsize: tuple[float, float] = (6.0, 5.0),
                    what: str = "latent means", legend_title: str = "label") -> Path:
    """Latent codes (e.g. posterior means of the test set) as points coloured by label (``legend_title`` names
    what the colours are: ``"cluster"`` for a clustering).

    For ``d > 2`` the points are a 2-D projection (``method``: ``"pca"`` or ``"tsne"``), named in the
    title together with ``what`` the codes are. A t-SNE map of more than :data:`TSNE_MAX_POINTS` codes draws that
    many, drawn at random (``random_state``), and says so in its title.
    """
    sample = ""
    if method == "tsne" and np.ndim(z) == 2 and np.shape(z)[1] > 2 and len(z) > TSNE_MAX_POINTS:
        rows = np.sort(np.random.default_rng(random_state).choice(len(z), TSNE_MAX_POINTS, replace=False))
        sample = f", {TSNE_MAX_POINTS:,} random points of {len(z):,}"
        if labels is not None:  # checked against every code first (a wrong count is an error, not a wrong colour)
            labels = _point_labels(labels, len(z))[rows]
        z = np.asarray(z)[rows]
    points, how = project_2d(z, method, random_state, what)
    how += sample
    labels = None if labels is None else _point_labels(labels, len(points))
    fig = _figure(figsize)
    ax = fig.add_subplot()
    size = _marker_size(len(points))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=size, alpha=0.7)
    else:
        classes = np.unique(labels)
        colours = _class_colours(len(classes))
        for i, c in enumerate(classes):
            m = labels == c
            ax.scatter(points[m, 0], points[m, 1], s=size, alpha=0.7, color=colours[i], label=str(c))
    xlabel, ylabel = _map_axis_labels(np.shape(z)[1], method)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if labels is not None:  # outside the axes, on the right: inside, it covered the points under it
        _legend_outside(fig, ax, title=legend_title, size=size)
    _axes_title(fig, ax, f"{title}: {how}" if title else how, 10)
    return save_figure(fig, path)


def _map_axis_labels(d: int, method: str) -> tuple[str, str]:
    """The axis labels of a :func:`project_2d` map of ``d``-D codes: what each coordinate is (the maps had none)."""
    if d == 1:
        return "z1", "(1-D latent: no second coordinate)"
    if d == 2:
        return "z1", "z2"
    if method == "pca":
        return "principal component 1", "principal component 2"
    return "t-SNE 1", "t-SNE 2"


def latent_quantile_grid(n: int = 15, latent: int = 2, basis: np.ndarray | None = None, low: float = 0.05,
                         high: float = 0.95) -> np.ndarray:
    r"""``[n*n, latent]`` points :math:`z = \Phi^{-1}(p_1)\, b_1 + \Phi^{-1}(p_2)\, b_2` on a plane of the latent space.

    ``basis`` holds two orthonormal rows :math:`b_1, b_2` (default: the first two coordinate axes).
    The projection of :math:`\mathcal N(0, I)` on a unit vector is :math:`\mathcal N(0, 1)`, so the
    quantiles split the prior mass along each direction evenly. Rows run from high to low
    :math:`p_2` (top of the figure = large), columns from low to high :math:`p_1`.
    """
    from scipy.stats import norm

    if latent < 2:
        raise InputError(f"a latent grid needs at least 2 latent dimensions, got {latent}")
    if not 0 < low < high < 1:  # a quantile of 0 or 1 is an infinite code
        raise InputError(f"the grid's quantiles need 0 < low < high < 1, got low={low}, high={high}")
    basis = np.eye(2, latent) if basis is None else np.asarray(basis, dtype=np.float64)
    if basis.shape != (2, latent):
        raise InputError(f"the grid basis must have shape (2, {latent}), got {basis.shape}")
    q = norm.ppf(np.linspace(low, high, n))
    q1, q2 = np.meshgrid(q, q[::-1])
    return np.column_stack([q1.ravel(), q2.ravel()]) @ basis


def principal_directions(z: np.ndarray) -> np.ndarray:
    """The two leading principal directions (orthonormal rows, ``[2, d]``) of latent codes ``z``."""
    from sklearn.decomposition import PCA

    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 2 or z.shape[1] < 2:
        raise InputError(f"principal directions need at least 2 codes of at least 2 dimensions, got shape {z.shape}")
    check_finite(z, "latent codes")
    # a fixed random_state: PCA's randomized solver (chosen for e.g. [1000, 128]) drew from numpy's global generator
    return PCA(n_components=2, random_state=0).fit(z).components_


def plot_latent_grid(decode: Callable[[np.ndarray], np.ndarray], latent: int, shape: Sequence[int],
                     path: str | os.PathLike, n: int = 15, title: str = "", codes: np.ndarray | None = None,
                     figsize: tuple[float, float] = (6.0, 6.0)) -> Path:
    """Decoded images over a latent plane at Gaussian quantiles (``decode: [m, latent] -> [m, pixels]``).

    For ``latent == 2`` the plane is the latent space itself. For ``latent > 2`` it is spanned by the
    two leading principal directions of ``codes`` (e.g. the test set's posterior means) if given, else
    by the first two coordinates; the title says which.
    """
    basis, how = None, "decoded at Gaussian quantiles of z1, z2"
    from .node_tasks import collapsed

    if codes is not None and collapsed(np.asarray(codes)):  # no principal directions: the coordinate axes, said so
        codes = None
    if latent > 2 and codes is not None:
        basis, how = principal_directions(codes), f"Gaussian quantiles along 2 PCA directions of the {latent}-D means"
    elif latent > 2:
        how += f" (z3..z{latent} = 0)"
    points = latent_quantile_grid(n, latent, basis)
    images = decode(points)
    fig = _figure(figsize)
    ax = fig.add_subplot()
    _show_grid(ax, image_grid(images, shape, ncols=n), f"{title}: {how}" if title else how)
    # which way each coordinate grows, and its values (the grid had no axes: z1 and z2 could not be told apart):
    # the grid points' coordinates along the two directions (orthonormal rows), + 0.0: no "-0.00"
    along = np.round(points @ (np.eye(2, latent) if basis is None else basis).T, 2) + 0.0
    h, w = tuple(int(v) for v in shape)[-2:]
    shown = sorted({0, (n - 1) // 2, n - 1})
    ax.set_axis_on()
    ax.set_xticks([1 + c * (w + 1) + (w - 1) / 2 for c in shown], [f"{along[c, 0]:.2f}" for c in shown], fontsize=8)
    ax.set_yticks([1 + r * (h + 1) + (h - 1) / 2 for r in shown], [f"{along[r * n, 1]:.2f}" for r in shown],
                  fontsize=8)
    ax.tick_params(length=2)
    for spine in ax.spines.values():
        spine.set_visible(False)
    first, second = ("z1", "z2") if basis is None else ("PCA direction 1", "PCA direction 2")
    ax.set_xlabel(f"{first} →", fontsize=9)
    ax.set_ylabel(f"{second} →", fontsize=9)
    return save_figure(fig, path)


def plot_training_curves(history: Sequence[dict], path: str | os.PathLike, per: float = 1.0,
                         keys: Sequence[tuple[str, str]] = (("elbo", "ELBO"), ("log_likelihood", "reconstruction log p(x|z)"),
                                                            ("kl", "KL(q || p)")),
                         title: str = "", unit: str = "nats per image",
                         figsize: tuple[float, float] = (10.0, 3.2)) -> Path:
    """One panel per history key (default: ELBO, reconstruction term, KL) against the epoch, divided by ``per``."""
    if len(history) == 0:
        raise InputError("no training history to plot")
    if len(keys) == 0:
        raise InputError("no history keys to plot")
    absent = sorted({k for k, _ in (("epoch", ""), *keys) if any(k not in h for h in history)})
    if absent:
        raise InputError(f"the training history lacks {', '.join(map(repr, absent))} in some epochs")
    if not (isinstance(per, (int, float, np.integer, np.floating)) and np.isfinite(per) and per != 0):
        raise InputError(f"per must be a finite nonzero number, got {per!r}")
    epochs = [h["epoch"] + 1 for h in history]
    fig = _figure(figsize)
    axes = fig.subplots(1, len(keys))
    for ax, (key, label) in zip(np.atleast_1d(axes), keys):
        ax.plot(epochs, [h[key] / per for h in history], lw=1.2)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(unit, fontsize=8)
        ax.grid(alpha=0.3)
    top = _figure_title(fig, title, 0.82) if title else 0.88
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=top, wspace=0.35)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- node embeddings

def plot_link_curves(y_true: np.ndarray, scores: np.ndarray, path: str | os.PathLike, title: str = "",
                     figsize: tuple[float, float] = (10.0, 4.5)) -> Path:
    """ROC and precision-recall curves of held-out pairs (``y_true`` 1 for edges, 0 for sampled non-edges)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    y_true, scores = np.asarray(y_true), np.asarray(scores)
    if y_true.ndim != 1 or scores.shape != y_true.shape:
        raise InputError(f"need one score per pair: labels of shape {list(y_true.shape)}, scores {list(scores.shape)}")
    if y_true.dtype.kind not in "biuf" or not np.isin(y_true, (0, 1)).all():
        raise InputError("link labels must be 1 (edge) or 0 (non-edge)")  # the chance line is the mean of 0/1 labels
    if np.unique(y_true).size < 2:
        raise InputError("ROC and precision-recall curves need both edges (1) and non-edges (0)")
    if scores.dtype.kind not in "biuf":
        raise InputError(f"link scores must be numbers, got dtype {scores.dtype}")
    check_finite(scores, "link scores")
    y_true = y_true.astype(np.int64)
    fpr, tpr, _ = roc_curve(y_true, scores)
    precision, recall, _ = precision_recall_curve(y_true, scores)
    fig = _figure(figsize)
    roc, pr = fig.subplots(1, 2)
    # 4 decimals: the command line prints AUC and AP with 4, and the legend is to be read against them
    roc.plot(fpr, tpr, lw=1.5, label=f"AUC {roc_auc_score(y_true, scores):.4f}")
    roc.plot([0, 1], [0, 1], ls="--", lw=0.8, color="grey", label="chance (AUC 0.5)")
    # the precision-recall curve as steps, as average precision sums it (straight segments between its points
    # drew precisions no threshold gives, above and below the steps: scikit-learn draws it so too)
    pr.plot(recall, precision, lw=1.5, drawstyle="steps-post",
            label=f"AP {average_precision_score(y_true, scores):.4f}")
    rate = y_true.mean()
    pr.axhline(rate, ls="--", lw=0.8, color="grey", label=f"chance (positive rate {rate:.3f})")
    # a small margin: a curve along x = 1 or y = 0 was hidden under the axes' frame
    lim = (-0.01, 1.01)
    roc.set(xlabel="false positive rate", ylabel="true positive rate", xlim=lim, ylim=lim)
    pr.set(xlabel="recall", ylabel="precision", xlim=lim, ylim=lim)
    roc.set_title("ROC curve", fontsize=10)
    pr.set_title("precision-recall curve", fontsize=10)
    for ax in (roc, pr):
        ax.legend(loc="best", fontsize=8)  # wherever the curve is not (the PR curve of a weak model is low on the left)
        ax.grid(alpha=0.3)
    top = _figure_title(fig, title, 0.84) if title else 0.9
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=top, wspace=0.25)
    return save_figure(fig, path)


def _full_covariances(covariances: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """scikit-learn's ``covariances_`` of any ``covariance_type`` as ``[k, d, d]``."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c
    if covariance_type == "tied":
        return np.broadcast_to(c, (k, d, d))
    if covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([v * np.eye(d) for v in c])  # spherical


def cluster_axes(points: np.ndarray, clusters: np.ndarray, means: np.ndarray | None = None,
                 weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(centre, P [2, d])``: the two orthonormal directions along which the cluster means spread most.

    The principal axes of the (weighted) cluster means -- on whitened points, the discriminant axes
    that separate the clusters best. With only two clusters the second axis is the points' main
    direction of variance orthogonal to the first.
    """
    points = np.asarray(points, dtype=np.float64)
    clusters = np.asarray(clusters)
    if means is None:
        ids, counts = np.unique(clusters, return_counts=True)
        means = np.stack([points[clusters == c].mean(axis=0) for c in ids])
        weights = counts / counts.sum()
    weights = np.ones(len(means)) / len(means) if weights is None else np.asarray(weights, dtype=np.float64)
    centre = weights @ means
    _, sv, vt = np.linalg.svd(np.sqrt(weights)[:, None] * (means - centre), full_matrices=False)
    axes = [v for v, s in zip(vt, sv) if s > 1e-12][:2]
    while len(axes) < 2:
        if len(axes) >= points.shape[1]:  # 1-D points: no second direction; a flat second coordinate
            axes.append(np.zeros(points.shape[1]))
            continue
        rest = points - centre
        for a in axes:
            rest = rest - np.outer(rest @ a, a)
        _, _, rvt = np.linalg.svd(rest, full_matrices=False)
        axes.append(rvt[0])
    return centre, np.stack(axes[:2])


def plot_cluster_map(points: np.ndarray, clusters: np.ndarray, path: str | os.PathLike, title: str = "",
                     mixture=None, figsize: tuple[float, float] = (6.0, 5.0)) -> Path:
    """The clustered points on the two axes that separate the cluster means best, coloured by cluster.

    With a fitted ``sklearn.mixture.GaussianMixture`` on ``points``, each component is drawn as its
    1- and 2-standard-deviation ellipses: the projection is linear (:math:`P`), so component
    :math:`\\mathcal N(m, \\Sigma)` projects exactly to :math:`\\mathcal N(Pm, P\\Sigma P^\\top)`.
    The view is cropped to the central 99% of the points along each axis.
    """
    points = np.asarray(points, dtype=np.float64)
    clusters = np.asarray(clusters)
    if points.ndim != 2 or len(points) == 0 or points.shape[1] < 1:
        raise InputError(f"cluster points must be a non-empty [n, d] array, got shape {list(points.shape)}")
    check_finite(points, "cluster points")
    if clusters.shape != (len(points),):
        raise InputError(f"{clusters.size} cluster labels of shape {list(clusters.shape)} for {len(points)} points")
    ids = np.unique(clusters)
    if mixture is not None:
        k, d = mixture.means_.shape
        if d != points.shape[1]:
            raise InputError(f"the mixture is over {d}-D points, the points are {points.shape[1]}-D")
        if clusters.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= k:
            raise InputError(f"with a mixture the cluster labels must be its component indices 0..{k - 1}")
        # colour = component index, so that a component no point fell into shifts no colour: its ellipse and its
        # points (and the legend) agree
        colours = _class_colours(k)
        colour_of = {c: colours[int(c)] for c in ids}
    else:
        colours = _class_colours(len(ids))
        colour_of = {c: colours[i] for i, c in enumerate(ids)}
    if mixture is not None:
        centre, proj = cluster_axes(points, clusters, mixture.means_, mixture.weights_)
    else:
        centre, proj = cluster_axes(points, clusters)
    xy = (points - centre) @ proj.T
    fig = _figure(figsize)
    ax = fig.add_subplot()
    size = _marker_size(len(points))
    for c in ids:
        m = clusters == c
        ax.scatter(xy[m, 0], xy[m, 1], s=size, alpha=0.6, color=colour_of[c], label=f"cluster {c}")
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    if mixture is not None:
        covs = _full_covariances(mixture.covariances_, mixture.covariance_type, k, d)
        for i, (m2, c2) in enumerate(zip(*projected_components(mixture.means_, covs, centre, proj))):
            for n_std in (1, 2):
                ax.add_patch(_std_ellipse(m2, c2, n_std, fill=False, lw=1.2, ls="-" if n_std == 1 else "--",
                                          color=colours[i]))
            ax.plot(*m2, marker="x", color="black", ms=6)
            # the view holds every component's mean and 1-std ellipse (the tails' 0.5% of points may fall outside)
            half = np.sqrt(np.maximum(np.diag(c2), 0))  # the 1-std ellipse's half-extents along the two axes
            lo, hi = np.minimum(lo, m2 - half), np.maximum(hi, m2 + half)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)  # one point, or 1-D points (a flat second axis): a unit margin
    lo, hi = lo - pad, hi + pad
    ax.set_xlabel("cluster axis 1")
    ax.set_ylabel("cluster axis 2")
    how = "axes separating the cluster means (whitened embeddings)"
    if mixture is not None:
        how += ";\nellipses: 1 std (solid) and 2 std (dashed) of each mixture component, x its mean"
    _legend_outside(fig, ax, size=size)  # inside, it covered points and ellipses (15 clusters: a fifth of the map)
    _axes_title(fig, ax, f"{title}\n{how}" if title else how, 8)
    # one unit as long on both axes (the points are whitened: a round cluster drawn oval misled): the shorter range
    # widened about its centre to the axes' shape (matplotlib's own equal aspect warned that it ignored the limits)
    box = ax.get_position()
    shape = np.array([box.width * fig.get_figwidth(), box.height * fig.get_figheight()])
    span = np.max((hi - lo) / shape) * shape
    mid = (lo + hi) / 2
    ax.set_xlim(mid[0] - span[0] / 2, mid[0] + span[0] / 2)
    ax.set_ylim(mid[1] - span[1] / 2, mid[1] + span[1] / 2)
    return save_figure(fig, path)


def projected_components(means: np.ndarray, covariances: np.ndarray, centre: np.ndarray,
                         proj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(means [k, 2], covariances [k, 2, 2])`` of Gaussian components :math:`\mathcal N(m, \Sigma)` seen in the map
    :math:`x \mapsto P (x - c)`: :math:`\mathcal N(P(m - c), P \Sigma P^\top)`, exactly (the map is linear)."""
    proj = np.asarray(proj, dtype=np.float64)
    means = (np.asarray(means, dtype=np.float64) - centre) @ proj.T
    covariances = np.einsum("ij,kjl,ml->kim", proj, np.asarray(covariances, dtype=np.float64), proj)
    return means, covariances


def _std_ellipse(mean: np.ndarray, cov: np.ndarray, n_std: float, **kwargs):
    """The ``n_std``-standard-deviation ellipse of a 2-D Gaussian: centred on ``mean``, its axes along the eigenvectors
    of ``cov`` with half-lengths ``n_std`` times the square roots of the eigenvalues (``width`` along the largest)."""
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(cov)  # ascending: the last is the major axis
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2 * n_std * np.sqrt(np.maximum(values[::-1], 0))
    return Ellipse(mean, width, height, angle=angle, **kwargs)
