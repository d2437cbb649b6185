"""Audit of the evaluation layer (metrics, summaries, Fréchet distance, figures) and atomic writes on crafted inputs:
infinite and missing values, too few points or classes, more than 20 classes, empty mixture components, bad paths."""
from __future__ import annotations

import subprocess
import sys
import threading
import warnings
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest

from graphvae._validation import InputError
from graphvae.evaluation import frechet as fr
from graphvae.evaluation import plots
from graphvae.evaluation.metrics import auc_ap
from graphvae.evaluation.summary import mean_std
from graphvae.files import atomic_write


@pytest.fixture
def captured(monkeypatch):
    """The matplotlib figures the plot functions build, instead of writing them."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    return figures


def scatter_colours(fig):
    """label -> RGB of each scatter series (one colour per series; the alpha is the plot's)."""
    ax = fig.axes[0]
    return {c.get_label(): tuple(np.round(c.get_facecolor()[0][:3], 6)) for c in ax.collections}


# --------------------------------------------------------------------------- metrics and summaries

def test_auc_ap_counts_equal_infinite_scores_as_a_tie():
    from scipy.stats import rankdata
    from sklearn.metrics import average_precision_score, roc_auc_score

    # inf - inf is NaN: equal infinite scores used to be split into two thresholds, the positive ranked first
    assert auc_ap([np.inf], [np.inf]) == {"auc": 0.5, "ap": 0.5}
    for pos, neg in (([np.inf, np.inf], [np.inf, 0.5]), ([-np.inf, 1.0], [-np.inf, 0.0]),
                     ([np.inf, -np.inf, 0.2], [-np.inf, np.inf, 0.2, 0.1])):
        # scikit-learn refuses inf; the ranks are the same scores without it (AUC and AP depend on the order only)
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        ranks = rankdata(np.r_[pos, neg], method="dense")
        got = auc_ap(pos, neg)
        assert got["auc"] == pytest.approx(roc_auc_score(y, ranks), abs=1e-12)
        assert got["ap"] == pytest.approx(average_precision_score(y, ranks), abs=1e-12)


def test_mean_std_of_no_values_is_an_input_error():
    with pytest.raises(InputError, match="no values"):
        mean_std([])
    # population std, as the docs say ("mean ± std (population)")
    assert mean_std([1.0, 3.0]) == {"mean": 2.0, "std": float(np.std([1.0, 3.0], ddof=0))}


# --------------------------------------------------------------------------- Fréchet distance

@pytest.mark.parametrize("cov_x, match", [
    ([[-1.0]], "negative eigenvalue"),                      # a negative variance was clipped: distance 0
    ([[1.0, 5.0], [0.0, 1.0]], "not symmetric"),             # was symmetrized silently
    ([[np.nan, 0.0], [0.0, 1.0]], "NaN or inf"),             # was scipy's ValueError
    ([[1.0, 2.0], [2.0, 1.0]], "negative eigenvalue"),       # symmetric, eigenvalues 3 and -1
])
def test_frechet_distance_refuses_matrices_that_are_not_covariances(cov_x, match):
    k = len(cov_x)
    with pytest.raises(InputError, match=match):
        fr.frechet_distance(np.zeros(k), cov_x, np.zeros(k), np.eye(k))


def test_frechet_distance_refuses_an_infinite_mean_and_keeps_singular_sample_covariances():
    with pytest.raises(InputError, match="NaN or inf"):
        fr.frechet_distance([np.inf, 0.0], np.eye(2), [0.0, 0.0], np.eye(2))  # was inf
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6))  # fewer samples than features: singular, round-off negative eigenvalues
    assert fr.frechet_distance_samples(x, x) == pytest.approx(0.0, abs=1e-9)


def small_images(classes, n=40, seed=0):
    rng = np.random.default_rng(seed)
    y = np.asarray(classes)[np.arange(n) % len(classes)]
    codes = np.unique(y, return_inverse=True)[1]
    x = (rng.random((n, 8)) * 0.2 + np.eye(8)[codes % 8] * 0.8).astype(np.float32)
    return x, y


def test_feature_classifier_accuracy_is_right_for_two_classes_and_text_labels(monkeypatch):
    monkeypatch.setattr(fr, "_MEMORY_CACHE", OrderedDict())
    # two classes: one logistic output, whose argmax was always 0 (accuracy = the share of the first class)
    x, y = small_images([0, 1])
    clf = fr.feature_classifier(x, y, hidden=(8,), max_iter=300, x_test=x, y_test=y)
    assert clf.accuracy == 1.0
    # text labels: the cache key cast them to int64 (ValueError), and predicted indices never equal the labels
    x, y = small_images(["cat", "dog", "owl"])
    clf = fr.feature_classifier(x, y, hidden=(8,), max_iter=300, x_test=x, y_test=y)
    assert clf.accuracy == 1.0
    # labels that are not 0..C-1 (3, 7): compared as labels, not as output indices
    x, y = small_images([3, 7, 9])
    assert fr.feature_classifier(x, y, hidden=(8,), max_iter=300, x_test=x, y_test=y).accuracy == 1.0


def test_feature_classifier_refuses_one_class_and_nan_images(monkeypatch):
    monkeypatch.setattr(fr, "_MEMORY_CACHE", OrderedDict())
    x, y = small_images([0, 1])
    with pytest.raises(InputError, match="at least 2 classes"):
        fr.feature_classifier(x, np.zeros(len(x), int), hidden=(4,), max_iter=5)
    x[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        fr.feature_classifier(x, y, hidden=(4,), max_iter=5)


def test_feature_classifier_writes_its_disk_cache_after_a_memory_hit(tmp_path, monkeypatch):
    monkeypatch.setattr(fr, "_MEMORY_CACHE", OrderedDict())
    x, y = small_images([0, 1, 2])
    first = fr.feature_classifier(x, y, hidden=(4,), max_iter=5)          # memory only
    again = fr.feature_classifier(x, y, hidden=(4,), max_iter=5, cache_dir=tmp_path)
    assert again.weights is first.weights
    assert len(list(tmp_path.glob("frechet-classifier-*.npz"))) == 1       # was: nothing on disk


# --------------------------------------------------------------------------- latent and embedding maps

@pytest.mark.parametrize("z, kwargs, match", [
    (np.where(np.eye(6, 5) > 0, np.nan, 1.0) + np.arange(30).reshape(6, 5), {}, "NaN or inf"),  # was sklearn's
    (np.array([[np.inf, 0.0], [1.0, 2.0], [3.0, 4.0]]), {}, "NaN or inf"),   # 2-D: the point was silently left out
    (np.zeros((0, 5)), {}, "no latent means"),
    (np.ones((1, 5)), {}, "at least 2 points"),
    (np.arange(10.0).reshape(2, 5), {"method": "tsne"}, "at least 3 points"),  # perplexity >= n_samples
    (np.ones((4, 2)), {"method": "umap"}, "projection must be"),            # ignored in 2-D
])
def test_latent_map_bad_points_are_one_line_input_errors(tmp_path, z, kwargs, match):
    with pytest.raises(InputError, match=match):
        plots.plot_latent_map(z, None, tmp_path / "map.png", **kwargs)


def test_latent_map_labels_of_the_wrong_length_are_an_input_error(tmp_path):
    z = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(InputError, match="10 labels"):
        plots.plot_latent_map(z, np.arange(10), tmp_path / "map.png")  # was an IndexError


def test_latent_map_draws_missing_labels_as_unlabelled(captured, tmp_path):
    z = np.random.default_rng(0).normal(size=(20, 4))
    labels = [None if i % 5 == 0 else i % 3 for i in range(20)]  # node_labels' object array; was a TypeError
    plots.plot_latent_map(z, labels, tmp_path / "map.png")
    floats = np.where(np.arange(20) % 4 == 0, np.nan, np.arange(20) % 2).astype(float)
    plots.plot_latent_map(z, floats, tmp_path / "map.png")  # NaN labels: a legend entry with no points
    from collections import Counter

    first = Counter("unlabelled" if v is None else str(v) for v in labels)
    assert len(captured) == 2  # both maps were drawn (the loop below checks nothing otherwise)
    for fig, counts in zip(captured, (first, {"0.0": 5, "1.0": 10, "unlabelled": 5})):
        drawn = {c.get_label(): len(c.get_offsets()) for c in fig.axes[0].collections}
        assert drawn == counts


def test_more_than_20_classes_get_distinct_colours(captured, tmp_path):
    z = np.random.default_rng(0).normal(size=(250, 5))
    plots.plot_latent_map(z, np.arange(250) % 25, tmp_path / "map.png")  # tab20 cycled: class 20 = class 0
    colours = scatter_colours(captured[0])
    assert len(colours) == 25 and len(set(colours.values())) == 25
    plots.plot_latent_map(z, np.arange(250) % 7, tmp_path / "map.png")  # up to 10 classes: tab10 as before
    import matplotlib

    tab10 = [tuple(np.round(matplotlib.colormaps["tab10"](i)[:3], 6)) for i in range(7)]
    assert list(scatter_colours(captured[1]).values()) == tab10


def test_principal_directions_leave_numpy_global_random_state_alone():
    codes = np.random.default_rng(0).normal(size=(1000, 128))  # PCA's randomized solver for this shape
    before = np.random.get_state()[1].copy()
    plots.principal_directions(codes)
    assert np.array_equal(np.random.get_state()[1], before)
    with pytest.raises(InputError):
        plots.principal_directions(codes[:1])


def test_latent_grid_with_collapsed_codes_says_it_uses_the_coordinate_axes(captured, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was a RuntimeWarning (PCA of zero variance) and arbitrary directions
        plots.plot_latent_grid(lambda z: np.zeros((len(z), 16)), 3, (4, 4), tmp_path / "g.png", n=3,
                               codes=np.ones((10, 3)))
    title = captured[0].axes[0].get_title()
    assert "PCA" not in title and "= 0" in title


# --------------------------------------------------------------------------- cluster maps

def test_cluster_map_colours_points_and_ellipses_of_a_component_alike_when_another_is_empty(captured, tmp_path):
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    points = np.r_[rng.normal(size=(30, 2)) + means[0], rng.normal(size=(30, 2)) + means[2]]
    clusters = np.r_[np.zeros(30, int), np.full(30, 2)]  # component 1 got no point
    mixture = SimpleNamespace(means_=means, weights_=np.array([0.5, 0.0, 0.5]), covariance_type="spherical",
                              covariances_=np.ones(3))
    plots.plot_cluster_map(points, clusters, tmp_path / "c.png", mixture=mixture)
    ax = captured[0].axes[0]
    points_colour = scatter_colours(captured[0])["cluster 2"]
    ellipses = [p for p in ax.patches]
    ellipse_colour = tuple(np.round(ellipses[2 * 2].get_edgecolor()[:3], 6))  # component 2's 1-std ellipse
    assert points_colour == ellipse_colour  # was the colour of component 1's ellipse


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_cluster_map_draws_every_covariance_type(tmp_path, covariance_type):
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) + 5]
    g = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(x)
    path = plots.plot_cluster_map(x, g.predict(x), tmp_path / f"{covariance_type}.png", mixture=g)
    assert path.stat().st_size > 0


@pytest.mark.parametrize("case", ["nan", "length", "mixture-dim", "labels-not-components"])
def test_cluster_map_bad_input_is_an_input_error(tmp_path, case):
    rng = np.random.default_rng(0)
    x, clusters = rng.normal(size=(20, 3)), np.arange(20) % 2
    mixture = None
    if case == "nan":
        x[4, 1] = np.nan  # was numpy's LinAlgError
    elif case == "length":
        clusters = clusters[:5]  # was an IndexError
    else:
        mixture = SimpleNamespace(means_=np.zeros((2, 2 if case == "mixture-dim" else 3)), weights_=np.ones(2) / 2,
                                  covariance_type="spherical", covariances_=np.ones(2))
        if case == "labels-not-components":
            clusters = clusters + 5
    with pytest.raises(InputError):
        plots.plot_cluster_map(x, clusters, tmp_path / "c.png", mixture=mixture)


def test_cluster_map_of_one_point_or_1d_points_sets_no_empty_axis_range(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was "Attempting to set identical low and high ylims"
        plots.plot_cluster_map(np.array([[1.0, 2.0]]), np.zeros(1, int), tmp_path / "one.png")
        x = np.r_[np.zeros(10), np.ones(10)][:, None] + np.linspace(0, 0.1, 20)[:, None]
        plots.plot_cluster_map(x, (x[:, 0] > 0.5).astype(int), tmp_path / "flat.png")


# --------------------------------------------------------------------------- link curves, images, curves

@pytest.mark.parametrize("y, s, match", [
    (np.ones(10), np.linspace(0, 1, 10), "both edges"),                   # was warnings and a meaningless figure
    (np.r_[np.ones(5), np.zeros(5)], np.r_[np.nan, np.ones(9)], "NaN"),    # was scikit-learn's ValueError
    (np.r_[np.ones(5), -np.ones(5)], np.linspace(0, 1, 10), "1 \\(edge\\) or 0"),  # the chance line was at 0
    (np.r_[np.ones(5), np.zeros(5)], np.ones(4), "one score per pair"),
])
def test_link_curves_bad_input_is_an_input_error(tmp_path, y, s, match):
    with pytest.raises(InputError, match=match):
        plots.plot_link_curves(y, s, tmp_path / "l.png")


def test_link_curves_take_boolean_labels(tmp_path):
    y = np.arange(20) % 2 == 0
    assert plots.plot_link_curves(y, np.linspace(0, 1, 20), tmp_path / "l.png").is_file()


def test_image_and_curve_figures_bad_input_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="whole number of images"):
        plots.image_grid(np.zeros((3, 10)), (8, 8))  # was numpy's reshape ValueError
    with pytest.raises(InputError):
        plots.plot_reconstructions(np.ones((3, 16)), np.ones((3, 16)), (4, 4), tmp_path / "r.png", n=0)
    history = [{"epoch": 0, "elbo": -1.0}]
    with pytest.raises(InputError, match="kl"):
        plots.plot_training_curves(history, tmp_path / "t.png")  # was a KeyError
    with pytest.raises(InputError, match="per"):
        plots.plot_training_curves(history, tmp_path / "t.png", per=0, keys=(("elbo", "ELBO"),))
    with pytest.raises(InputError, match="quantiles"):
        plots.latent_quantile_grid(3, 2, low=0.0)  # Phi^-1(0) = -inf codes


# --------------------------------------------------------------------------- output paths and atomic writes

def test_a_figure_over_a_folder_or_under_a_file_is_an_input_error(tmp_path):
    z = np.random.default_rng(0).normal(size=(10, 2))
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file").write_text("x")
    for path in (tmp_path / "folder.png", tmp_path / "file" / "map.png"):
        with pytest.raises(InputError, match="cannot write the figure"):
            plots.plot_latent_map(z, None, path)  # were IsADirectoryError and FileExistsError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.png"]  # no temporary file left


def test_figures_go_into_new_unicode_folders_and_replace_themselves(tmp_path):
    z = np.random.default_rng(0).normal(size=(10, 2))
    path = tmp_path / "neu Ordner" / "ü 図.png"
    plots.plot_latent_map(z, None, path)
    plots.plot_latent_map(z, None, path)
    assert [p.name for p in path.parent.iterdir()] == ["ü 図.png"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_atomic_write_over_a_folder_names_the_folder_and_writes_nothing(tmp_path):
    (tmp_path / "out").mkdir()
    calls = []
    with pytest.raises(IsADirectoryError) as e:
        atomic_write(tmp_path / "out", lambda tmp: calls.append(tmp) or tmp.write_text("x"))
    assert calls == [] and ".tmp-" not in str(e.value) and "out" in str(e.value)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_write_from_two_threads_to_one_path(tmp_path):
    path = tmp_path / "same.txt"
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def writer(text):
        def write(tmp):
            tmp.write_text(text)
            barrier.wait()  # both temporary files written before either is renamed
        try:
            atomic_write(path, write)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and path.read_text() in ("first", "second")  # one temporary name: one clobbered the other
    assert [p.name for p in tmp_path.iterdir()] == ["same.txt"]


def test_drawing_every_figure_opens_no_window_and_changes_no_global_state(tmp_path):
    # regression guard: outside pyplot (no backend chosen, no display needed), rcParams and numpy's generator untouched
    code = f"""
import sys, numpy as np
from pathlib import Path
import matplotlib
rc = {{k: repr(v) for k, v in matplotlib.rcParams.items() if k != "backend"}}
state = np.random.get_state()[1].copy()
from graphvae.evaluation import plots
out = Path({str(tmp_path)!r})
r = np.random.default_rng(0)
plots.plot_latent_map(r.normal(size=(30, 5)), np.arange(30) % 3, out / "a.png")
plots.plot_cluster_map(r.normal(size=(30, 3)), np.arange(30) % 3, out / "b.png")
plots.plot_link_curves(np.arange(20) % 2, r.random(20), out / "c.png")
plots.plot_images(r.random((4, 16)), (4, 4), out / "d.png")
plots.plot_training_curves([{{"epoch": 0, "elbo": 1, "log_likelihood": 1, "kl": 0}}], out / "e.png")
plots.plot_latent_grid(lambda z: np.zeros((len(z), 16)), 3, (4, 4), out / "f.png", n=3, codes=r.normal(size=(9, 3)))
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert rc == {{k: repr(v) for k, v in matplotlib.rcParams.items() if k != "backend"}}, "rcParams changed"
assert np.array_equal(state, np.random.get_state()[1]), "numpy's global random state changed"
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "DISPLAY": ":99", "MPLBACKEND": "TkAgg"})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def _inside_the_figure(fig) -> list:
    """The titles of ``fig`` (axes titles and the suptitle) that run past its edges or into their axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    bad = []
    texts = [(ax.title, ax) for ax in fig.axes if ax.get_title()]
    texts += [(fig._suptitle, None)] if fig._suptitle is not None else []
    for text, ax in texts:
        box = text.get_window_extent(renderer)
        above = ax is None or box.y0 >= ax.get_window_extent(renderer).y1 - 1
        if box.x0 < 0 or box.x1 > width or box.y1 > height or not above:
            bad.append(text.get_text())
    return bad


def test_long_titles_wrap_inside_the_figure(captured, tmp_path):
    """A title with a long file path ran past both edges of the 6-inch maps (the classify/cluster/embed pictures of a
    graph file): titles are wrapped to the figure's width and the axes make room for their lines."""
    rng = np.random.default_rng(0)
    z, labels = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    long = "gnae-maskgae-s2gc embeddings of /home/someone/projects/citation-graphs/edges_2026.csv (seed 0) by label"
    plots.plot_latent_map(z, labels, tmp_path / "a.png", title=long, method="pca")
    plots.plot_cluster_map(z, labels, tmp_path / "b.png", title=long + ": EM on a Gaussian mixture, K=3")
    y = np.r_[np.ones(30), np.zeros(30)]
    plots.plot_link_curves(y, rng.normal(size=60) + y, tmp_path / "c.png", title=long + long)
    plots.plot_training_curves([{"epoch": e, "elbo": -e, "log_likelihood": -e, "kl": e} for e in range(3)],
                               tmp_path / "d.png", title=long + long)
    assert len(captured) == 4
    for fig in captured:
        assert _inside_the_figure(fig) == []
