"""Mutation audit (round 8) of the figures (``graphvae.evaluation.plots``), the shared input checks
(``graphvae._validation``) and ``node_tasks.node_labels``: each test names the hand-made mutant it kills, and the
figures are read from the matplotlib objects the plot functions build (lines, collections, patches, titles), never
from pixels."""
from __future__ import annotations

import os
import types
from pathlib import Path

import numpy as np
import pytest

import graphvae as gv
from graphvae.evaluation import plots


@pytest.fixture
def captured(monkeypatch) -> list:
    """The matplotlib figures the plot functions build, instead of writing them."""
    figures: list = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append(fig) or path)
    return figures


# --------------------------------------------------------------------------- _validation.py: bytes and bad paths

def test_readable_file_and_writable_path_take_a_bytes_path_as_its_decoded_text(tmp_path: Path) -> None:
    """A ``bytes`` path is the path ``os.fsdecode`` names (as ``open`` takes it), for reading and for writing; both
    raised pathlib's ``TypeError`` traceback before (bug fixed: ``path_text`` now shared with embedding_files)."""
    from graphvae._validation import readable_file, writable_path

    text = tmp_path / "é.txt"
    text.write_text("x")
    assert readable_file(os.fsencode(str(text))) == text
    out = tmp_path / "new" / "f.png"
    assert writable_path(os.fsencode(str(out))) == out
    with pytest.raises(gv.InputError, match="not found"):
        readable_file(os.fsencode(str(tmp_path / "missing.txt")))
    with pytest.raises(gv.InputError, match="the path is empty"):
        readable_file(b"  ")


@pytest.mark.parametrize("bad", [3, None, 2.5, ["a"]])
def test_a_path_of_another_type_is_an_input_type_error_naming_the_type(bad) -> None:
    """A path that is no str, bytes or PathLike is one :class:`InputTypeError` (an InputError and a TypeError) that
    names the argument and the type; it was pathlib's bare ``TypeError`` before."""
    from graphvae._validation import InputTypeError, readable_file, writable_path

    for check in (readable_file, writable_path):
        with pytest.raises(InputTypeError, match=f"figure: the path must be .*got {type(bad).__name__}"):
            check(bad, "figure")


# --------------------------------------------------------------------------- node_tasks.node_labels: 2-D y

def test_node_labels_refuse_a_one_hot_y_and_ravel_a_column() -> None:
    """A one-hot ``y`` of shape [n, c] is an InputError naming its shape (it was flattened into n * c "labels", so
    3 nodes got 9); a [n, 1] column is one label a node, as a flat y."""
    from graphvae.evaluation.node_tasks import node_labels

    one_hot = np.eye(3)[[0, 2, 1]]
    with pytest.raises(gv.InputError, match=r"shape \[3, 3\]"):
        node_labels(types.SimpleNamespace(y=one_hot))
    column = node_labels(types.SimpleNamespace(y=np.array([[2], [0], [1]])))
    assert column.tolist() == [2, 0, 1]
    assert column.tolist() == node_labels(types.SimpleNamespace(y=np.array([2, 0, 1]))).tolist()


def test_readable_file_refuses_a_blank_path_a_folder_and_an_unreadable_file(tmp_path: Path, monkeypatch) -> None:
    """A blank path (``Path("  ")`` would be looked up as a file named two spaces) is "the path is empty"; a folder is
    "not a regular file"; a file ``os.access`` says cannot be read is "not readable" (root reads everything, so the
    answer is stubbed). Kills v01 (only ``""`` counted as empty), v02 (no is_file check: a folder was returned) and
    v03 (no R_OK check)."""
    from graphvae._validation import readable_file

    with pytest.raises(gv.InputError, match="the path is empty"):
        readable_file("  ")
    with pytest.raises(gv.InputError, match="not a regular file"):
        readable_file(tmp_path)
    f = tmp_path / "f.txt"
    f.write_text("x")
    monkeypatch.setattr(os, "access", lambda path, mode, *a, **k: not mode & os.R_OK)
    with pytest.raises(gv.InputError, match="not readable"):
        readable_file(f)


# --------------------------------------------------------------------------- plots.py: marker sizes, legend, tiles

def test_marker_area_is_4_for_thousands_and_capped_at_30_for_a_few_points(captured, tmp_path: Path) -> None:
    """The scatter's marker area (points², the collection's sizes) is 30 for a handful of points (the cap), and
    ``4 sqrt(2000 / n)`` between: 4 at n = 2000 (hand-computed). Kills p05 (a cap of 300)."""
    rng = np.random.default_rng(0)
    for n, area in ((5, 30.0), (2000, 4.0), (500, 8.0)):
        plots.plot_latent_map(rng.normal(size=(n, 2)), None, tmp_path / "m.png")
        (scatter,) = captured.pop().axes[0].collections
        np.testing.assert_allclose(scatter.get_sizes(), [area])


def test_legend_cuts_long_labels_to_24_characters_and_takes_a_column_per_24_entries(captured, tmp_path: Path) -> None:
    """A 30-character label is shown as its first 23 characters and "…" (24 in all); 30 classes are two legend
    columns (ceil(30 / 24)). Kills p06 (labels not cut) and p07 (always one column)."""
    long = "a_very_long_label_of_30_chars_"
    labels = np.array([long] + [f"c{i}" for i in range(29)])
    z = np.random.default_rng(1).normal(size=(30, 2))
    plots.plot_latent_map(z, labels, tmp_path / "m.png")
    legend = captured[0].axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert long[:23] + "…" in texts and long not in texts
    assert legend._ncols == 2


def test_a_three_axis_image_shape_must_start_with_3_channels() -> None:
    """An image shape of (2, h, w) is refused as a shape (not as a pixel-count mismatch). Kills p08 (the channel
    check dropped, so 7 values for (2, 2, 2) got the pixel-count message)."""
    with pytest.raises(gv.InputError, match=r"\(h, w\) or \(3, h, w\)"):
        plots.image_grid(np.zeros(7), (2, 2, 2))


def test_an_image_shape_with_a_zero_size_is_an_input_error() -> None:
    """An image shape of (0, 4) holds no pixels: "positive sizes", not a ZeroDivisionError from the pixel count.
    Kills p09 (``min(shape) < 0``)."""
    with pytest.raises(gv.InputError, match="positive sizes"):
        plots.image_grid(np.zeros(4), (0, 4))


def test_writable_path_refuses_a_folder_where_no_file_can_be_created(tmp_path: Path, monkeypatch) -> None:
    """A folder that ``os.access`` calls writable but where no file can be created (root on a read-only file system:
    ``mkstemp`` fails, stubbed here) is "not a writable folder". Kills v08 (a failed ``mkstemp`` taken as writable)."""
    import tempfile

    from graphvae._validation import writable_path

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(gv.InputError, match="not a writable folder"):
        writable_path(tmp_path / "f.png")


def test_colour_tiles_are_channel_major_images_clipped_to_0_1_at_their_padded_places() -> None:
    """Two channel-major (3, 2, 3) images tile as ``image.reshape(3, 2, 3).transpose(1, 2, 0)`` (numpy, written out)
    at rows 1-2 and columns 1-3 and 5-7 of a (4, 9, 3) grid of 0.5 padding, values clipped to [0, 1]. Kills p11
    (height and width swapped), p13 (no clip), p15 (row and column swapped) and p16 (no leading pad)."""
    rng = np.random.default_rng(2)
    images = rng.uniform(-0.5, 1.5, size=(2, 18))
    grid = plots.image_grid(images, (3, 2, 3))
    expected = np.full((4, 9, 3), 0.5)
    for i, left in enumerate((1, 5)):
        expected[1:3, left:left + 3] = np.clip(images[i].reshape(3, 2, 3).transpose(1, 2, 0), 0, 1)
    np.testing.assert_array_equal(grid, expected)


def test_grey_tiles_fill_ceil_sqrt_n_columns_row_by_row_and_each_normalizes_to_0_1() -> None:
    """Five 1x1 grey tiles: ceil(sqrt(5)) = 3 columns, so a (5, 7) grid with tile i at (1 + 2 (i // 3), 1 + 2 (i % 3));
    ``normalize="each"`` maps a (1, 3) tile [2, 4, 6] to [0, 0.5, 1]. Kills p14 (floor: 2 columns), p12 (the tile's
    minimum not subtracted)."""
    grid = plots.image_grid(np.arange(5.0), (1, 1))
    assert grid.shape == (5, 7)
    for i in range(5):
        assert grid[1 + 2 * (i // 3), 1 + 2 * (i % 3)] == i
    np.testing.assert_allclose(plots.image_grid(np.array([2.0, 4.0, 6.0]), (1, 3), normalize="each")[1, 1:4],
                               [0.0, 0.5, 1.0])


def test_plot_images_shows_the_normalized_grid_on_a_fixed_0_1_grey_scale(captured, tmp_path: Path) -> None:
    """The image drawn is ``image_grid(..., normalize=...)`` and grey tiles are drawn on the colour scale [0, 1] (a
    tile of one value would otherwise be stretched to the colour map's ends). Kills p18 (no vmin/vmax) and p19
    (``normalize`` not passed on)."""
    images = np.array([[2.0, 4.0, 6.0, 8.0], [1.0, 1.0, 1.0, 3.0]])
    plots.plot_images(images, (2, 2), tmp_path / "i.png", normalize="each")
    (image,) = captured[0].axes[0].get_images()
    assert image.get_clim() == (0.0, 1.0)
    np.testing.assert_array_equal(image.get_array(), plots.image_grid(images, (2, 2), normalize="each"))
    plots.plot_images(np.full((1, 4), 0.25), (2, 2), tmp_path / "i.png")  # grey on a [0, 1] scale, not its own range
    assert captured[1].axes[0].get_images()[0].get_clim() == (0.0, 1.0)


def test_reconstructions_alternate_original_and_reconstruction_of_the_first_n(captured, tmp_path: Path) -> None:
    """With n = 2 of three 1x1 images the drawn row is pad, o0, pad, r0, pad, o1, pad, r1, pad (2 ceil(sqrt 2) = 4
    columns); differently shaped arrays are an InputError. Kills p20 (originals then reconstructions), p21 (5
    columns), p22 (all three pairs drawn) and p23 (only the lengths compared: a numpy error)."""
    o, r = np.array([[10.0], [11.0], [12.0]]), np.array([[20.0], [21.0], [22.0]])
    plots.plot_reconstructions(o, r, (1, 1), tmp_path / "r.png", n=2)
    (image,) = captured[0].axes[0].get_images()
    np.testing.assert_array_equal(np.asarray(image.get_array())[1], [0.5, 10, 0.5, 20, 0.5, 11, 0.5, 21, 0.5])
    assert np.asarray(image.get_array()).shape == (3, 9)
    with pytest.raises(gv.InputError, match="differ in shape"):
        plots.plot_reconstructions(np.zeros((2, 4)), np.zeros((2, 5)), (2, 2), tmp_path / "r.png")


def test_image_grid_refuses_an_unknown_normalization() -> None:
    """``normalize`` is "none" or "each"; anything else is an InputError, not silently "none". Kills p17."""
    with pytest.raises(gv.InputError, match="normalize must be"):
        plots.image_grid(np.zeros(4), (2, 2), normalize="all")


# --------------------------------------------------------------------------- _validation.py: the check_* helpers

def test_check_int_takes_both_bounds_and_returns_a_plain_int() -> None:
    """``check_int`` takes ``maximum`` itself, and a numpy integer comes back as a Python ``int`` (JSON cannot write
    numpy's). Kills v11 (``value >= maximum`` refused) and v12 (the numpy integer returned as it is)."""
    from graphvae._validation import check_int

    assert check_int(5, "k", 1, 5) == 5
    with pytest.raises(gv.InputError, match="from 1 to 5"):
        check_int(6, "k", 1, 5)
    back = check_int(np.int64(3), "k")
    assert type(back) is int and back == 3


def test_check_optional_bool_refuses_text_and_check_seed_stops_at_int64() -> None:
    """``"no"`` is no bool (it would count as true): an InputTypeError; a seed of 2**63 overflows torch's int64 and is
    refused, 2**63 - 1 (torch takes it: reference) and 0 are not. Kills v13 (any value taken) and v14 (2**64 - 1 as
    the largest seed)."""
    import torch

    from graphvae._validation import InputTypeError, check_optional_bool, check_seed

    with pytest.raises(InputTypeError, match="True, False or None"):
        check_optional_bool("no", "flag")
    assert check_optional_bool(np.bool_(False), "flag") is False
    torch.Generator().manual_seed(2**63 - 1)
    assert check_seed(2**63 - 1) == 2**63 - 1 and check_seed(0) == 0
    with pytest.raises(gv.InputError, match="random_state"):
        check_seed(2**63)


def test_counted_rows_all_equal_and_plain_ids_on_their_edge_cases() -> None:
    """``counted`` puts 0 in the plural ("0 self-loops"); one row is not a collapse (nothing to tell apart); a node id
    of shape (2,) is refused; a numpy array of ids gives plain Python ints. Kills v16 (``count <= 1`` singular), v17
    (one row "all equal"), v19 (no shape check) and v29 (``list(ids)``: numpy scalars)."""
    from graphvae._validation import counted, plain_ids, rows_all_equal

    assert counted(0, "self-loop") == "0 self-loops" and counted(1, "self-loop") == "1 self-loop"
    assert not rows_all_equal(np.ones((1, 3))) and rows_all_equal(np.ones((2, 3)))
    with pytest.raises(gv.InputError, match=r"shape \(2,\)"):
        plain_ids([np.array([1, 2])])
    assert [type(i) for i in plain_ids(np.array([4, 5]))] == [int, int]


@pytest.mark.parametrize("bad", [np.array(["1.5"]), np.array([1 + 2j], dtype=object)])
def test_real_array_refuses_text_and_complex_objects(bad) -> None:
    """Text (numpy would cast "1.5" to 1.5) and an object array of complex numbers (numpy drops the imaginary part with
    a warning) are not real numbers. Kills v20 (text and dates let through) and v21 (the ComplexWarning ignored)."""
    from graphvae._validation import InputTypeError, real_array

    with pytest.raises(InputTypeError, match="must be real numbers"):
        real_array(bad, "values")


def test_float32_range_and_finiteness_name_the_first_bad_row_and_the_largest_magnitude() -> None:
    """float64 values beyond float32's largest (``np.finfo(np.float32).max``, reference) are refused, negative ones too,
    naming the first such row and the largest magnitude; inf is left to ``check_finite``, which names the first row
    (not column) with NaN; ``as_float32`` applies both. Kills v22/v28 (a check dropped from as_float32), v23 (float64
    skipped), v24 (inf counted as out of range), v25 (last row named), v26 (column named), v27 (smallest magnitude)
    and v30 (only the maximum compared)."""
    from graphvae._validation import as_float32, check_finite, check_float32_range

    big = float(np.finfo(np.float32).max) * 10
    with pytest.raises(gv.InputError, match=r"at row 1 \(magnitude up to 6\.8\d*e\+39"):
        check_float32_range(np.array([[0.0], [big / 2], [0.0], [big * 2]]), "values")
    with pytest.raises(gv.InputError, match="at row 0"):
        check_float32_range(np.array([-big, 0.0]), "values")
    check_float32_range(np.array([1.0, np.inf, -np.inf]), "values")  # not this check's business
    with pytest.raises(gv.InputError, match=r"first at row 1\)"):
        check_finite(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, np.nan]]), "values")
    with pytest.raises(gv.InputError, match="float32's range"):
        as_float32([[big]], "values")
    with pytest.raises(gv.InputError, match="NaN or inf"):
        as_float32([[np.nan]], "values")


# --------------------------------------------------------------------------- plots.py: latent maps

def test_a_2d_latent_map_draws_each_class_at_its_own_codes_in_its_own_tab10_colour(captured, tmp_path: Path) -> None:
    """2-D codes are drawn as they are: class c's collection holds exactly ``z[labels == c]`` (x = z1, y = z2) in
    tab10's colour number c; a [n, 1] column of labels is one label a point. Kills p24 (z1 and z2 swapped), p30 (the
    column refused), p32 (every class in the first colour) and p33 (x and y swapped per class)."""
    import matplotlib

    z = np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 7.0], [3.0, 8.0], [4.0, 9.0]])
    labels = np.array([[0], [1], [0], [2], [1]])
    plots.plot_latent_map(z, labels, tmp_path / "m.png")
    collections = captured[0].axes[0].collections
    assert [c.get_label() for c in collections] == ["0", "1", "2"]
    for i, c in enumerate(collections):
        np.testing.assert_array_equal(c.get_offsets(), z[labels.ravel() == i])
        np.testing.assert_allclose(c.get_facecolors()[0][:3], matplotlib.colormaps["tab10"](i)[:3])


def test_a_pca_map_is_scikit_learns_projection_with_its_explained_variance_in_the_title(captured, tmp_path) -> None:
    """A 4-D map is scikit-learn's own 2-component PCA of the codes (reference: fitted here), its title naming the
    projection, the user's title and the share of variance of both components (80%, not the first one's 50%); the
    axes are "principal component 1/2". Kills p26 (first component only), p28 (t-SNE drawn), p34 (the user's title
    alone), p35 (t-SNE axis labels) and p74 (PCA fitted on permuted columns)."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(3)
    z = rng.normal(size=(400, 4)) * [5.0, 4.0, 2.0, 1.0] @ np.linalg.qr(rng.normal(size=(4, 4)))[0]
    plots.plot_latent_map(z, None, tmp_path / "m.png", title="model X")
    ax = captured[0].axes[0]
    pca = PCA(n_components=2).fit(z)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), pca.transform(z), atol=1e-9)
    share = 100 * pca.explained_variance_ratio_.sum()
    title = ax.get_title().replace("\n", " ")
    assert f"({share:.0f}% of variance)" in title and title.startswith("model X: PCA of the 4-D latent means")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("principal component 1", "principal component 2")


def test_a_tsne_map_of_five_points_lowers_the_perplexity_and_says_t_sne(captured, tmp_path: Path) -> None:
    """t-SNE of 5 points (scikit-learn needs a perplexity below n: it is (n - 1) / 3, at least 2) is drawn, its title
    "t-SNE of the 3-D latent means" and its axes "t-SNE 1/2". Kills p27 (titled PCA) and p29 (perplexity 30: scikit-
    learn refuses it)."""
    z = np.random.default_rng(4).normal(size=(5, 3))
    plots.plot_latent_map(z, None, tmp_path / "m.png", method="tsne")
    ax = captured[0].axes[0]
    assert ax.get_title() == "t-SNE of the 3-D latent means"
    assert len(ax.collections[0].get_offsets()) == 5 and ax.get_xlabel() == "t-SNE 1"


# --------------------------------------------------------------------------- plots.py: training and link curves

def test_training_panels_are_titled_by_their_labels_and_per_zero_is_refused(captured, tmp_path: Path) -> None:
    """Each panel draws its own key (KL falls while the ELBO rises) under its label; ``per=0`` (a division by zero) is
    an InputError. Kills p42 (per = 0 let through), p72 (every panel the ELBO) and p73 (panels titled by key)."""
    history = [{"epoch": e, "elbo": -10.0 + e, "kl": 5.0 - e} for e in range(3)]
    plots.plot_training_curves(history, tmp_path / "c.png", keys=(("elbo", "ELBO"), ("kl", "KL(q || p)")))
    axes = captured[0].axes
    assert [ax.get_title() for ax in axes] == ["ELBO", "KL(q || p)"]
    assert list(axes[1].get_lines()[0].get_ydata()) == [5.0, 4.0, 3.0]
    with pytest.raises(gv.InputError, match="per must be"):
        plots.plot_training_curves(history, tmp_path / "c.png", per=0, keys=(("kl", "KL"),))


def test_link_curves_draw_scikit_learns_roc_and_step_precision_recall(captured, tmp_path: Path) -> None:
    """The ROC line is (fpr, tpr) and the precision-recall line (recall, precision) as steps, both of scikit-learn's
    curves (reference), with the chance level at the positive rate 0.4. Kills p43 (fpr/tpr swapped), p44 (precision on
    x), p45 (chance at 0.5), p49 (straight segments) and p75 (labels flipped)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.3, 0.35, 0.2, 0.6, 0.05, 0.4])
    plots.plot_link_curves(y, s, tmp_path / "l.png")
    roc, pr = captured[0].axes
    fpr, tpr, _ = roc_curve(y, s)
    precision, recall, _ = precision_recall_curve(y, s)
    np.testing.assert_allclose(roc.get_lines()[0].get_xydata(), np.column_stack([fpr, tpr]))
    curve = pr.get_lines()[0]
    np.testing.assert_allclose(curve.get_xydata(), np.column_stack([recall, precision]))
    assert curve.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(pr.get_lines()[1].get_ydata(), [0.4, 0.4])


# --------------------------------------------------------------------------- plots.py: latent grid

def test_latent_grid_refuses_quantiles_0_and_1_and_spans_the_codes_principal_plane(captured, tmp_path) -> None:
    """Quantiles 0 and 1 are infinite codes: refused. With 3-D codes spread mostly along (0, 0, 1) then (1, 0, 0), the
    grid lies in the plane of scikit-learn's two leading PCA directions (reference), ordered, and the title says so;
    without codes it names z3 = 0; the y tick labels are the rows' second coordinates (top large). Kills p37, p38
    (directions swapped), p40 (row labels read from the first row), p76 (codes ignored) and p77 (z3 not named)."""
    from scipy.stats import norm
    from sklearn.decomposition import PCA

    with pytest.raises(gv.InputError, match="0 < low < high < 1"):
        plots.latent_quantile_grid(3, 2, low=0.0, high=1.0)
    codes = np.random.default_rng(5).normal(size=(200, 3)) * [3.0, 0.1, 10.0]
    decoded = []
    decode = lambda z: decoded.append(z) or np.zeros((len(z), 4))  # noqa: E731
    plots.plot_latent_grid(decode, 3, (2, 2), tmp_path / "g.png", n=3, codes=codes)
    components = PCA(n_components=2).fit(codes).components_
    q = norm.ppf([0.05, 0.5, 0.95])
    np.testing.assert_allclose(decoded[0] @ components.T, np.column_stack([np.tile(q, 3), np.repeat(q[::-1], 3)]),
                               atol=1e-9)
    ax = captured[0].axes[0]
    assert "2 PCA directions of the 3-D means" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{v:.2f}" for v in q[::-1]]
    plots.plot_latent_grid(decode, 3, (2, 2), tmp_path / "g.png", n=3)
    assert "(z3..z3 = 0)" in captured[1].axes[0].get_title()


def test_node_labels_from_a_file_are_keyed_by_the_graphs_node_ids(tmp_path: Path) -> None:
    """Labels read from a file follow the graph's node ids (written here in another order than the graph's). Kills
    n03 (the ids not passed: the file's own order)."""
    from graphvae.evaluation.node_tasks import node_labels

    f = tmp_path / "labels.csv"
    f.write_text("node,label\nb,1\na,0\nc,2\n")
    labels = node_labels(types.SimpleNamespace(node_ids=["a", "b", "c"], y=None), str(f))
    assert [str(v) for v in labels] == ["0", "1", "2"]


# --------------------------------------------------------------------------- plots.py: cluster map

def test_cluster_map_is_an_isometry_of_2d_points_cropped_to_the_central_99_percent(captured, tmp_path: Path) -> None:
    """2-D points seen on two orthonormal axes keep every distance (reference: the points' own pairwise distances);
    each cluster is labelled "cluster c"; the view holds the 0.5-99.5 % range of both coordinates and leaves out one
    point 1000 units away. Kills p56 (0-100 %: the outlier in view), p66 (view centred on the low end) and p70 (y
    drawn as x)."""
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(6)
    points = np.concatenate([rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + [8.0, 3.0], [[1000.0, 0.0]]])
    clusters = np.repeat([0, 1], [300, 301])
    plots.plot_cluster_map(points, clusters, tmp_path / "c.png")
    ax = captured[0].axes[0]
    assert [c.get_label() for c in ax.collections] == ["cluster 0", "cluster 1"]
    xy = np.concatenate([np.asarray(c.get_offsets()) for c in ax.collections])
    np.testing.assert_allclose(pdist(xy), pdist(points), rtol=1e-9, atol=1e-9)
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < lo[0] and hi[0] < x1 and y0 < lo[1] and hi[1] < y1
    far = xy[np.argmax(np.linalg.norm(xy - np.median(xy, axis=0), axis=1))]
    assert not (x0 <= far[0] <= x1 and y0 <= far[1] <= y1)


def test_cluster_map_ellipses_are_1_and_2_std_of_each_component_around_its_marked_mean(captured, tmp_path) -> None:
    """For a 2-D mixture (the map is a rotation) component i's ellipses have the full widths 2 and 4 times the square
    root of its covariance's eigenvalues (numpy ``eigvalsh``: reference), solid then dashed, centred on the "x" marking
    its mean; the marks lie as far apart as the means. Kills p59 (styles swapped), p60 (3 std), p61 (mark at (y, x)),
    p64 (half widths) and p65 (width along the minor axis)."""
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(size=(200, 2)) * [3.0, 0.5], rng.normal(size=(200, 2)) * [0.5, 2.0] + [12.0, 4.0]])
    gm = GaussianMixture(2, random_state=0).fit(x)
    plots.plot_cluster_map(x, gm.predict(x), tmp_path / "c.png", mixture=gm)
    ax = captured[0].axes[0]
    marks = [line.get_xydata()[0] for line in ax.get_lines() if line.get_marker() == "x"]
    np.testing.assert_allclose(np.linalg.norm(marks[0] - marks[1]), np.linalg.norm(gm.means_[0] - gm.means_[1]))
    for i, cov in enumerate(gm.covariances_):
        small, large = np.sqrt(np.linalg.eigvalsh(cov))
        for n_std, style, patch in zip((1, 2), ("-", "--"), ax.patches[2 * i:2 * i + 2]):
            np.testing.assert_allclose([patch.width, patch.height], [2 * n_std * large, 2 * n_std * small])
            np.testing.assert_allclose(patch.center, marks[i])
            assert patch.get_linestyle() == style


def test_cluster_map_with_a_mixture_refuses_labels_beyond_its_components_and_nan_points(tmp_path: Path) -> None:
    """With a 2-component mixture a label 2 is no component index, points of another dimension do not fit it, and a
    NaN point is refused. Kills p55 (label k let through), p68 (NaN drawn) and p69 (the dimension not compared)."""
    from sklearn.mixture import GaussianMixture

    x = np.random.default_rng(8).normal(size=(40, 2))
    gm = GaussianMixture(2, random_state=0).fit(x)
    with pytest.raises(gv.InputError, match=r"component indices 0\.\.1"):
        plots.plot_cluster_map(x, np.arange(40) % 3, tmp_path / "c.png", mixture=gm)
    with pytest.raises(gv.InputError, match="mixture is over 2-D points"):
        plots.plot_cluster_map(np.zeros((40, 3)), np.arange(40) % 2, tmp_path / "c.png", mixture=gm)
    with pytest.raises(gv.InputError, match="NaN"):
        plots.plot_cluster_map(np.where(np.arange(80).reshape(40, 2) == 5, np.nan, x), np.arange(40) % 2,
                               tmp_path / "c.png")


def test_cluster_axes_of_two_clusters_add_the_largest_spread_orthogonal_to_the_means(tmp_path: Path) -> None:
    """Two 3-D clusters apart along x, spread most along y: axis 1 is ± the difference of the cluster means (numpy),
    axis 2 about ±y (the points' main variance orthogonal to it, by construction), orthonormal. Kills p51 (a zero singular
    direction of the means kept as axis 2) and p52 (axis 1 not projected out: axis 2 = axis 1)."""
    from graphvae.evaluation.plots import cluster_axes

    rng = np.random.default_rng(9)
    base = rng.normal(size=(200, 3)) * [0.2, 4.0, 0.5]
    points = np.concatenate([base[:100], base[100:] + [30.0, 0.0, 0.0]])
    _, proj = cluster_axes(points, np.repeat([0, 1], 100))
    apart = points[100:].mean(axis=0) - points[:100].mean(axis=0)
    np.testing.assert_allclose(abs(proj[0] @ apart) / np.linalg.norm(apart), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.abs(proj[1]), [0.0, 1.0, 0.0], atol=0.05)
    np.testing.assert_allclose(proj @ proj.T, np.eye(2), atol=1e-9)


def test_mixture_axes_weigh_component_means_by_their_weights_and_tied_covariances_repeat() -> None:
    """Given means and weights, axis 1 is the leading eigenvector of the weighted scatter ``sum_i w_i (m_i - c)
    (m_i - c)^T`` (numpy ``eigh``: reference); a tied covariance is every component's. Kills p53 (weights instead of
    their square roots: w_i² in the scatter) and p50 (a tied covariance's off-diagonal dropped)."""
    from graphvae.evaluation.plots import _full_covariances, cluster_axes

    means = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])
    weights = np.array([0.6, 0.1, 0.3])
    centre, proj = cluster_axes(np.zeros((1, 2)), np.zeros(1, dtype=int), means, weights)
    scatter = sum(w * np.outer(m - centre, m - centre) for w, m in zip(weights, means))
    leading = np.linalg.eigh(scatter)[1][:, -1]
    np.testing.assert_allclose(abs(proj[0] @ leading), 1.0, atol=1e-9)
    tied = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(_full_covariances(tied, "tied", 3, 2), [tied] * 3)
