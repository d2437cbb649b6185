"""Figure checks of the sixth audit: what each figure claims (ellipses, AUC/AP, projections, orientation, layout),
read from the matplotlib objects the plot functions build, not from pixels."""
import matplotlib
import numpy as np
import pytest
from scipy.stats import norm

from graphvae.evaluation import plots


@pytest.fixture
def captured(monkeypatch):
    """The matplotlib figures the plot functions build, instead of writing them."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    return figures


def _inside_figure(fig, artist, tol=1.0):
    fig.draw_without_rendering()
    box, whole = artist.get_window_extent(), fig.bbox
    return box.x0 >= whole.x0 - tol and box.x1 <= whole.x1 + tol and box.y0 >= whole.y0 - tol and box.y1 <= whole.y1 + tol


def _blobs(k=3, d=3, n=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=20.0, size=(k, d))  # well apart: EM's soft means are the clusters' means
    scales = rng.uniform(0.3, 1.5, size=(k, d))
    x = np.concatenate([centres[i] + rng.normal(size=(n, d)) * scales[i] for i in range(k)])
    return x


# --------------------------------------------------------------------------- cluster map: the ellipses' maths

@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_cluster_ellipses_are_the_eigen_decomposition_of_the_projected_mixture_covariance(captured, tmp_path,
                                                                                          covariance_type):
    from sklearn.mixture import GaussianMixture

    x = _blobs()
    g = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(x)
    clusters = g.predict(x)
    plots.plot_cluster_map(x, clusters, tmp_path / "c.png", mixture=g)
    ax = captured[0].axes[0]
    centre, proj = plots.cluster_axes(x, clusters, g.means_, g.weights_)
    # the points drawn are the linear map of the points
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    expected = np.concatenate([(x[clusters == c] - centre) @ proj.T for c in np.unique(clusters)])
    np.testing.assert_allclose(drawn, expected, atol=1e-9)
    covs = plots._full_covariances(g.covariances_, covariance_type, 3, 3)
    assert len(ax.patches) == 2 * 3
    marks = [line for line in ax.lines if line.get_marker() == "x"]
    for i in range(3):
        m2 = proj @ (g.means_[i] - centre)
        c2 = proj @ covs[i] @ proj.T
        values, vectors = np.linalg.eigh(c2)
        for j, n_std in enumerate((1, 2)):
            e = ax.patches[2 * i + j]
            np.testing.assert_allclose(e.get_center(), m2, atol=1e-9)
            np.testing.assert_allclose([e.get_width(), e.get_height()],
                                       2 * n_std * np.sqrt(values[::-1]), rtol=1e-9)
            # the ellipse's own axes rebuild the covariance: R diag(a², b²) Rᵀ / n² == P Σ Pᵀ
            t = np.radians(e.get_angle())
            r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
            rebuilt = r @ np.diag([(e.get_width() / 2) ** 2, (e.get_height() / 2) ** 2]) @ r.T / n_std ** 2
            np.testing.assert_allclose(rebuilt, c2, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(np.r_[marks[i].get_xdata(), marks[i].get_ydata()], m2, atol=1e-9)
        # and it sits on its own points (well-separated blobs: the fitted mean is the points' mean)
        np.testing.assert_allclose(m2, ((x[clusters == i] - centre) @ proj.T).mean(axis=0), atol=1e-6)


def test_projected_components_is_the_exact_linear_image():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    cov = np.stack([a @ a.T + np.eye(4), np.eye(4) * 2])
    means = rng.normal(size=(2, 4))
    q, _ = np.linalg.qr(rng.normal(size=(4, 2)))
    proj, centre = q.T, rng.normal(size=4)
    m2, c2 = plots.projected_components(means, cov, centre, proj)
    samples = rng.multivariate_normal(means[0], cov[0], size=200_000)
    mapped = (samples - centre) @ proj.T
    np.testing.assert_allclose(m2[0], mapped.mean(axis=0), atol=0.03)
    np.testing.assert_allclose(c2[0], np.cov(mapped.T), atol=0.1)
    np.testing.assert_allclose(c2[1], 2 * np.eye(2), atol=1e-12)


def test_cluster_map_legend_is_beside_the_map_inside_the_figure_with_15_distinct_colours(captured, tmp_path, caplog):
    from sklearn.mixture import GaussianMixture

    x = _blobs(k=15, d=4, n=20)
    clusters = np.repeat(np.arange(15), 20)
    g = GaussianMixture(15, covariance_type="tied", random_state=0).fit(x)
    with caplog.at_level("WARNING"):
        plots.plot_cluster_map(x, g.predict(x), tmp_path / "c.png", title="a model of a graph with a long name " * 3,
                               mixture=g)
        captured[0].draw_without_rendering()
    assert not caplog.records  # was matplotlib's "Ignoring fixed x limits ..." on the command line's stderr
    fig = captured[0]
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [f"cluster {c}" for c in range(15)]
    fig.draw_without_rendering()
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1  # beside the points, not over them
    assert _inside_figure(fig, legend) and _inside_figure(fig, ax.title)  # nothing clipped
    colours = [tuple(np.round(c.get_facecolor()[0][:3], 6)) for c in ax.collections]
    assert len(set(colours)) == 15
    tab10 = [tuple(np.round(matplotlib.colormaps["tab10"](i)[:3], 6)) for i in range(10)]
    assert colours[:10] == tab10  # clusters 0..9: the ten distinct hues, not tab20's dark/light pairs
    # whitened points: one unit is as long on both axes
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert (x1 - x0) / box.width == pytest.approx((y1 - y0) / box.height, rel=1e-6)


def test_cluster_view_holds_every_component_mean(captured, tmp_path):
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(size=(400, 2)), [[0.0, 12.0]]]  # a component of 1 point far away: outside the central 99%
    clusters = np.r_[np.zeros(400, int), np.ones(1, int)]
    mixture = SimpleNamespace(means_=np.array([[0.0, 0.0], [0.0, 12.0]]), weights_=np.array([0.99, 0.01]),
                              covariance_type="spherical", covariances_=np.array([1.0, 1.0]))
    plots.plot_cluster_map(x, clusters, tmp_path / "c.png", mixture=mixture)
    ax = captured[0].axes[0]
    captured[0].draw_without_rendering()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert len(ax.patches) == 4  # a 1- and a 2-std ellipse per component (the loop checks nothing without them)
    for e in ax.patches[::2]:  # the 1-std ellipses
        (cx, cy), r = e.get_center(), e.get_width() / 2
        assert x0 <= cx - r and cx + r <= x1 and y0 <= cy - r and cy + r <= y1


# --------------------------------------------------------------------------- link curves

def test_link_curves_legends_state_sklearn_auc_ap_and_the_chance_levels(captured, tmp_path):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30, int), np.zeros(70, int)]
    s = rng.normal(size=100) + y
    plots.plot_link_curves(y, s, tmp_path / "l.png", title="VGAE on cora (seed 0)")
    fig = captured[0]
    roc, pr = fig.axes
    roc_texts = [t.get_text() for t in roc.get_legend().get_texts()]
    pr_texts = [t.get_text() for t in pr.get_legend().get_texts()]
    assert roc_texts[0] == f"AUC {roc_auc_score(y, s):.4f}"
    assert pr_texts[0] == f"AP {average_precision_score(y, s):.4f}"
    chance_roc, chance_pr = roc.lines[1], pr.lines[1]
    np.testing.assert_array_equal(chance_roc.get_xdata(), [0, 1])
    np.testing.assert_array_equal(chance_roc.get_ydata(), [0, 1])
    np.testing.assert_allclose(chance_pr.get_ydata(), [0.3, 0.3])  # the positive rate, not 0.5
    assert "0.300" in pr_texts[1]
    assert pr.lines[0].get_drawstyle() == "steps-post"  # average precision's staircase
    assert roc.get_xlabel() == "false positive rate" and pr.get_xlabel() == "recall"
    assert fig._suptitle.get_text() == "VGAE on cora (seed 0)"
    for ax in (roc, pr):
        assert ax.get_xlim()[0] < 0 < 1 < ax.get_xlim()[1]  # a curve along x = 0 or 1 is not under the frame


# --------------------------------------------------------------------------- latent maps

@pytest.mark.parametrize("d, method, title_has, xlabel", [(2, "pca", "latent space", "z1"), (5, "pca", "PCA", "principal"),
                                                          (5, "tsne", "t-SNE", "t-SNE 1"), (1, "pca", "1-D", "z1")])
def test_latent_map_names_its_projection_and_draws_every_point_once(captured, tmp_path, d, method, title_has, xlabel):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, d))
    labels = np.array(["Mr. Hi", "Officer"])[np.arange(40) % 2]
    plots.plot_latent_map(z, labels, tmp_path / "m.png", title="VGAE embeddings of karate", method=method)
    fig = captured[0]
    ax = fig.axes[0]
    assert title_has in ax.get_title() and "karate" in ax.get_title()
    assert ax.get_xlabel().startswith(xlabel) and ax.get_ylabel()
    assert sum(len(c.get_offsets()) for c in ax.collections) == 40
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Mr. Hi", "Officer"]
    fig.draw_without_rendering()
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    assert _inside_figure(fig, legend) and _inside_figure(fig, ax.title)
    assert all(c.get_sizes()[0] > 4 for c in ax.collections)  # 40 points: larger dots than Cora's 2708


# --------------------------------------------------------------------------- image grids: orientation

def test_latent_grid_puts_z1_left_to_right_and_large_z2_on_top(captured, tmp_path):
    n = 5

    def decode(z):  # a 2x3 image: pixel (0, 0) shows Phi(z1), pixel (1, 2) shows Phi(z2)
        img = np.zeros((len(z), 2, 3))
        img[:, 0, 0], img[:, 1, 2] = norm.cdf(z[:, 0]), norm.cdf(z[:, 1])
        return img.reshape(len(z), -1)

    plots.plot_latent_grid(decode, 2, (2, 3), tmp_path / "g.png", n=n)
    ax = captured[0].axes[0]
    grid = np.asarray(ax.images[0].get_array())
    tile = lambda r, c: grid[1 + r * 3:1 + r * 3 + 2, 1 + c * 4:1 + c * 4 + 3]  # noqa: E731 (pad 1)
    assert tile(0, 0)[0, 0] == pytest.approx(0.05) and tile(0, 0)[1, 2] == pytest.approx(0.95)  # top left
    assert tile(0, n - 1)[0, 0] == pytest.approx(0.95) and tile(n - 1, 0)[1, 2] == pytest.approx(0.05)
    assert ax.get_xlabel().startswith("z1") and ax.get_ylabel().startswith("z2")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-1.64", "0.00", "1.64"]
    ys = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())))  # image rows: top first
    assert [t for _, t in ys] == ["1.64", "0.00", "-1.64"]


def test_image_tiles_are_neither_transposed_nor_flipped(captured, tmp_path):
    grey = np.arange(6.0).reshape(1, 2, 3) / 6
    plots.plot_images(np.repeat(grey, 2, axis=0).reshape(2, -1), (2, 3), tmp_path / "i.png", ncols=2)
    grid = np.asarray(captured[0].axes[0].images[0].get_array())
    assert grid.shape == (1 + 2 + 1, 1 + 2 * (3 + 1))
    np.testing.assert_allclose(grid[1:3, 1:4], grey[0])
    rgb = np.zeros((1, 3, 2, 3))  # channel-major: red top left, blue bottom right
    rgb[0, 0, 0, 0], rgb[0, 2, 1, 2] = 1.0, 1.0
    plots.plot_images(rgb.reshape(1, -1), (3, 2, 3), tmp_path / "c.png")
    tile = np.asarray(captured[1].axes[0].images[0].get_array())[1:3, 1:4]
    np.testing.assert_allclose(tile[0, 0], [1, 0, 0]) and np.testing.assert_allclose(tile[1, 2], [0, 0, 1])
