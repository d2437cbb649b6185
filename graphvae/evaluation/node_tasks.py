r"""What node embeddings are for: a classification probe and clustering (EM on a Gaussian mixture, k-means).

**Probe.** A multinomial logistic regression (scikit-learn) on standardized embeddings (a composed model's
blocks as they are: they carry their own scaling), trained on
labelled training nodes and scored on test nodes by accuracy and macro-F1. The embeddings are
learned without labels, so the probe measures how linearly separable the classes are in them.

**Clustering by EM.** A Gaussian mixture :math:`p(z) = \sum_k \pi_k \mathcal N(z; m_k, \Sigma_k)` is
the latent-variable model the VAE generalizes: the cluster :math:`c` of a node is a discrete latent
variable. EM alternates the E-step, the responsibilities
:math:`r_{ik} = p(c_i = k \mid z_i) = \pi_k \mathcal N(z_i; m_k, \Sigma_k) / \sum_l \pi_l \mathcal N(z_i; m_l, \Sigma_l)`,
and the M-step, the weighted maximum-likelihood :math:`\pi_k, m_k, \Sigma_k`; each step does not
decrease the log-likelihood. k-means is the limit of equal spherical covariances shrinking to 0
(hard responsibilities). Both run on the ``K`` leading PCA axes of the standardized embeddings,
whitened (:func:`whiten`), so no dimension dominates by scale and full covariances stay well
conditioned.

**Scores with labels.** ACC is the accuracy under the best one-to-one matching of clusters to
classes (the Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`); NMI and ARI come
from scikit-learn.
"""
from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from .._validation import InputError, check_int, rows_all_equal

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
CLUSTER_METHODS = ("gmm", "kmeans")
#: inverse L2 strength of the probe: 0.01 beat 0.003 and 0.1 on the Cora validation nodes (``gnae-wd``); a
#: model may carry its own (``probe_C`` in :data:`graphvae.estimators.node_embeddings.EMBEDDING_MODELS`)
PROBE_C = 0.01
#: runs of EM (or k-means) from different initializations; the highest likelihood is kept (:func:`cluster`)
CLUSTER_RESTARTS = 10


# --------------------------------------------------------------------------- labels and splits

def encode_labels(labels: Sequence, what: str = "labels") -> tuple[np.ndarray, np.ndarray, list]:
    """``(labelled node indices, class index per labelled node, class names)``; ``None`` (or a float NaN, a NaT,
    pandas' ``NA``/``NaT``) means unlabelled. Labels are compared as strings (``1`` and ``1.0`` are two classes).

    Raises :class:`InputError` for fewer than 2 classes.
    """
    labels = np.asarray(labels, dtype=object)
    labelled = np.flatnonzero(np.array([not _missing(v) for v in labels], dtype=bool))
    names, codes = np.unique(np.array([str(v) for v in labels[labelled]], dtype=str), return_inverse=True)
    _check_two_classes(len(names), what)
    return labelled, codes.astype(np.int64), names.tolist()


def _check_two_classes(count: int, what: str = "labels") -> None:
    if count < 2:
        raise InputError(f"{what}: a probe or clustering score needs at least 2 classes, got {count}")


def _missing(value: Any) -> bool:
    """``None``, a float NaN, a datetime NaT or pandas' ``NA``/``NaT`` (what nullable pandas columns hold)."""
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return True
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    pd = sys.modules.get("pandas")  # only a pandas user has its missing values
    return pd is not None and (value is pd.NA or value is pd.NaT)


def _class_labels(y: Any, what: str = "labels") -> np.ndarray:
    """``y`` as a 1-d array of class labels, or :class:`InputError` for missing values (use :func:`encode_labels`)."""
    raw, y = y, np.asarray(y)
    if y.dtype.kind in "biuf" and not hasattr(raw, "dtype"):  # a plain sequence that numpy turned into numbers
        objects = np.asarray(raw, dtype=object)
        if len({type(v) for v in objects.ravel().tolist()}) > 1:  # 1 and 1.0 (or True): two classes, as in
            y = objects  # encode_labels, which the CLI's class names come from (numpy made them one number)
    if y.ndim == 2 and y.shape[1] == 1:  # a column vector
        y = y.ravel()
    if y.ndim != 1:
        raise InputError(f"{what} must be a 1-d sequence of class labels, got shape {list(y.shape)}")
    values = y.tolist() if y.dtype.kind in "fcmMO" else []  # integers, booleans and strings have no missing value
    missing = next((k for k, v in enumerate(values) if _missing(v)), None)
    if missing is not None:
        hint = ("keep the labelled nodes only (graphvae.evaluation.node_tasks.encode_labels)" if what == "labels"
                else "every row needs one")
        raise InputError(f"{what}: the label of row {missing} is a missing value ({values[missing]!r}): {hint}")
    return y.astype(str) if y.dtype == object else y  # mixed types (1 and "b") compared as text, as encode_labels does


def _indices(rows: Any, n: int, what: str) -> np.ndarray:
    """Row indices (or a boolean mask of ``n``) into ``n`` rows as an int array, else :class:`InputError`."""
    rows = np.asarray(rows)
    if rows.dtype == bool and rows.shape == (n,):
        return np.flatnonzero(rows)
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0 or rows.max() >= n:
        raise InputError(f"{what} must be integer indices in 0..{n - 1} (or a boolean mask of {n} rows), got "
                         f"{rows.dtype} values of shape {list(rows.shape)}")
    return rows


def require_all_labelled(labels: Sequence, node_ids: Sequence, what: str = "labels") -> None:
    """:class:`InputError` naming the first unlabelled node, for tasks that need every node's label."""
    missing = [node_ids[i] for i, v in enumerate(labels) if _missing(v)]
    if missing:
        raise InputError(f"{what}: {len(missing)} graph nodes have no label (e.g. {missing[0]!r}); "
                         "this task needs a label for every node")


def label_splits(y: np.ndarray, folds: int | None = None, test_size: float = 0.5,
                 random_state: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs into ``y``: stratified k-fold (``folds``) or one stratified split.

    Raises :class:`InputError` for fewer than 2 classes or a class too small to appear on both sides.
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    if folds is not None:
        folds = check_int(folds, "the number of folds", minimum=2)
    if folds is None and (not isinstance(test_size, (int, float, np.integer, np.floating)) or not 0 < test_size < 1):
        raise InputError(f"the test fraction must lie strictly between 0 and 1, got {test_size}")
    y = _class_labels(y)
    if len(y) == 0:
        raise InputError("no labelled nodes to split")
    classes, counts = np.unique(y, return_counts=True)
    _check_two_classes(len(classes))
    need = folds if folds else 2
    if counts.min() < need:
        raise InputError(f"the smallest class has {counts.min()} labelled node(s): too few to stratify "
                         f"({'a ' + str(folds) + '-fold split' if folds else 'a train/test split'} needs at least {need})")
    index = np.arange(len(y))
    if folds:
        kfold = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        return [(tr, te) for tr, te in kfold.split(index, y)]
    n_classes = len(counts)
    n_test = int(np.ceil(test_size * len(y)))  # as scikit-learn's train_test_split rounds it
    if n_test < n_classes or len(y) - n_test < n_classes:
        raise InputError(f"{len(y)} labelled nodes in {n_classes} classes: too few for a stratified "
                         f"{1 - test_size:.0%}/{test_size:.0%} split (each side needs one node per class)")
    tr, te = train_test_split(index, test_size=test_size, stratify=y, random_state=random_state)
    for side, rows in (("training", tr), ("test", te)):  # a small class may get no node on one side
        absent = np.setdiff1d(classes, y[rows])
        if absent.size:
            c = absent[0]
            raise InputError(f"class {c!r} has {int(counts[classes == c][0])} labelled node(s): the stratified "
                             f"{1 - test_size:.0%}/{test_size:.0%} split leaves it without {side} nodes; choose "
                             f"another test fraction or --folds")
    return [(np.sort(tr), np.sort(te))]


# --------------------------------------------------------------------------- probe

def probe_scores(z: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, C: float = PROBE_C,
                 random_state: int = 0, standardize: bool = True) -> dict[str, float]:
    """Accuracy and macro-F1 on ``test`` of a logistic regression fitted on ``train`` (on ``z`` standardized with the
    training rows' means and deviations, or as it is with ``standardize=False``).

    ``y`` holds one class label per row of ``z`` (a missing value, such as NaN or ``None``, raises
    :class:`InputError`: keep the labelled rows only, :func:`encode_labels`); ``train`` and ``test`` are row indices
    or boolean masks of ``len(y)`` rows, and must not share a row."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = _class_labels(y)
    z = check_embeddings(z, len(y))
    random_state = check_sklearn_seed(random_state)
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):  # scikit-learn: "Unknown label type: continuous"
        raise InputError("labels must be classes, got non-integer numbers (a regression target?): a probe classifies")
    number = isinstance(C, (int, float, np.integer, np.floating)) and not isinstance(C, (bool, np.bool_))
    if not number or not 0 < C < np.inf:
        raise InputError(f"the probe's C must be a positive finite number, got {C!r}")
    if collapsed(z):
        raise InputError(f"every node has the same embedding: a probe on it scores chance ({_COLLAPSE_CAUSES})")
    train, test = _indices(train, len(y), "training nodes"), _indices(test, len(y), "test nodes")
    both = np.intersect1d(train, test)
    if both.size:  # a node the probe was trained on scores its own label: an accuracy that measures nothing
        raise InputError(f"{both.size} node(s) are both training and test nodes of the probe (e.g. row {both[0]}): "
                         f"the two sets must not overlap")
    if len(test) == 0 or len(np.unique(y[train])) < 2:
        raise InputError(f"the probe needs training nodes of at least 2 classes and some test nodes, got "
                         f"{len(np.unique(y[train]))} class(es) and {len(test)} test node(s)")
    steps = [StandardScaler()] if standardize else []
    probe = make_pipeline(*steps, LogisticRegression(C=C, max_iter=3000, random_state=random_state))
    probe.fit(z[train], y[train])
    pred = probe.predict(z[test])
    return {"accuracy": float(accuracy_score(y[test], pred)),
            "macro_f1": float(f1_score(y[test], pred, average="macro"))}


def check_embeddings(z: Any, rows: int | None = None) -> np.ndarray:
    """``z`` as a finite ``[n, d]`` array (with ``rows`` rows when given; float arrays keep their precision),
    else :class:`InputError`."""
    z = np.asarray(z)
    if np.iscomplexobj(z):
        raise InputError("embeddings must be real numbers, got complex values")
    if not np.issubdtype(z.dtype, np.floating):
        try:
            z = z.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError(f"embeddings must be numbers, got dtype {z.dtype}") from None
    if z.ndim != 2 or z.shape[1] < 1:
        raise InputError(f"embeddings must be a [nodes, dimensions] array, got shape {list(z.shape)}")
    if rows is not None and z.shape[0] != rows:
        raise InputError(f"{z.shape[0]} embeddings for {rows} labels")
    if not np.isfinite(z).all():
        raise InputError("embeddings contain NaN or inf (did training diverge?)")
    with np.errstate(over="ignore"):  # finite, but their squares overflow: standardizing them gives NaN
        if not np.isfinite(np.square(z, dtype=np.float64).sum(axis=0)).all():
            raise InputError(f"embeddings are too large to standardize (magnitude up to {np.abs(z).max():.3g}): "
                             "rescale them")
    return z


def check_sklearn_seed(value: Any) -> int:
    """A ``random_state`` scikit-learn takes: an integer from 0 to 2**32 - 1."""
    return check_int(value, "random_state", 0, 2**32 - 1)


def collapsed(z: np.ndarray) -> bool:
    """Whether every row of ``z`` (two or more) is the same vector: a collapsed training (e.g. every hidden
    unit inactive after too large a step), whose embeddings tell no nodes apart."""
    return rows_all_equal(z)


#: why every node can get the same embedding, for the errors of the probe and the clustering
_COLLAPSE_CAUSES = ("a graph whose nodes the encoder cannot tell apart, such as a complete graph or a cycle without "
                    "features, or a collapsed training: try a smaller learning rate")


# --------------------------------------------------------------------------- clustering

def check_clusters(k: Any, num_nodes: int) -> int:
    """``k`` as an int in ``2..num_nodes``, else :class:`InputError`."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 2 <= int(k) <= num_nodes:
        raise InputError(f"the number of clusters must be an integer between 2 and the number of nodes ({num_nodes}), "
                         f"got {k!r}")
    return int(k)


def whiten(z: np.ndarray, components: int, random_state: int = 0) -> np.ndarray:
    """Standardized, then PCA-whitened embeddings: the ``components`` leading principal axes, unit variance each.

    ``K`` well-separated cluster means span at most ``K - 1`` directions, so :func:`cluster` keeps
    ``K`` axes: the trailing ones mostly carry within-cluster noise that would blur the mixture
    (on the Cora validation nodes, keeping 16 or all axes lowered NMI by 0.04-0.17).
    """
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    z = StandardScaler().fit_transform(np.asarray(z, dtype=np.float64))
    components = max(1, min(components, *z.shape))
    pca = PCA(n_components=components, whiten=True, random_state=random_state).fit(z)
    keep = pca.explained_variance_ > 1e-10 * max(pca.explained_variance_.max(), 1e-300)
    return pca.transform(z)[:, keep]


def cluster(z: np.ndarray, k: int, method: str = "gmm", covariance_type: str = "tied", random_state: int = 0,
            n_init: int = CLUSTER_RESTARTS, progress: bool = False) -> dict[str, Any]:
    """Cluster the rows of ``z`` into ``k`` groups on PCA-whitened embeddings.

    ``n_init`` runs of EM (or k-means) from different initializations; the one with the highest likelihood (lowest
    inertia) is kept, a label-free choice. EM on a mixture stops in local optima: on Cora's default embeddings five
    runs left three of five seeds below the optimum that 10, 20 and 50 runs all reach (``docs/embeddings.md``).
    ``progress``: a bar over EM's restarts (run one by one, the mixture scikit-learn's ``n_init`` loop fits).

    Returns ``labels`` ``[n]``, ``responsibilities`` ``[n, k]`` (EM's :math:`r_{ik}`; one-hot for
    k-means), ``points`` (the whitened embeddings clustered) and the fitted scikit-learn ``model``.
    """
    if method not in CLUSTER_METHODS:
        raise InputError(f"unknown clustering method '{method}' (choose from: {', '.join(CLUSTER_METHODS)})")
    if covariance_type not in COVARIANCE_TYPES:
        raise InputError(f"unknown covariance type '{covariance_type}' (choose from: {', '.join(COVARIANCE_TYPES)})")
    z = check_embeddings(z)
    k = check_clusters(k, len(z))
    n_init = check_int(n_init, "the number of restarts")
    random_state = check_sklearn_seed(random_state)
    if collapsed(z):
        raise InputError(f"every node has the same embedding: nothing to cluster ({_COLLAPSE_CAUSES})")
    points = whiten(z, k, random_state=random_state)
    distinct = len(np.unique(points, axis=0))
    if distinct < k:  # some clusters would stay empty (and scikit-learn would warn over many lines)
        raise InputError(f"the embeddings take only {distinct} distinct values: too few for {k} clusters; "
                         f"choose --clusters of at most {distinct}")
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        model = _restarted_mixture(points, GaussianMixture(k, covariance_type=covariance_type, reg_covar=1e-4),
                                   n_init, random_state, progress)
        resp = model.predict_proba(points)
        labels = resp.argmax(axis=1)
    else:
        from sklearn.cluster import KMeans

        model = KMeans(k, n_init=n_init, random_state=random_state).fit(points)
        labels = model.labels_
        resp = np.eye(k)[labels]
    return {"labels": labels.astype(np.int64), "responsibilities": resp, "points": points, "model": model}


def _restarted_mixture(points: np.ndarray, mixture: Any, n_init: int, random_state: int, progress: bool) -> Any:
    """The best of ``n_init`` EM runs of ``mixture`` (highest lower bound, the first among equals), run one by one
    with a bar: the same draws and the same choice as scikit-learn's ``n_init`` loop (one ``RandomState`` that every
    run's initialization draws from in turn), which runs silently (1-2 minutes on 200k nodes)."""
    import warnings

    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from tqdm.auto import trange

    draws, best = np.random.RandomState(random_state), None
    for _ in trange(n_init, desc="EM restarts", disable=not progress or n_init < 2, leave=False):
        with warnings.catch_warnings():  # said once below, for the run kept (as scikit-learn says it)
            warnings.simplefilter("ignore", ConvergenceWarning)
            run = clone(mixture).set_params(n_init=1, random_state=draws).fit(points)
        if best is None or run.lower_bound_ > best.lower_bound_:
            best = run
    if not best.converged_:
        warnings.warn(f"the best of {n_init} EM run(s) did not converge within {best.max_iter} iterations",
                      ConvergenceWarning, stacklevel=3)
    return best.set_params(n_init=n_init, random_state=random_state)  # the model that call of scikit-learn fits


def matched_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Clustering accuracy under the best one-to-one cluster-to-class matching (Hungarian algorithm)."""
    from scipy.optimize import linear_sum_assignment

    # mixed types (1 and "b") compared as text and a missing value refused, as in cluster_scores: they failed inside
    # numpy's sort (a traceback), and a NaN cluster label was counted as a cluster
    y, pred = _class_labels(y), _class_labels(pred, "cluster labels")
    _check_same_length(y, pred)
    _, yi = np.unique(y, return_inverse=True)
    _, pi = np.unique(pred, return_inverse=True)
    counts = np.zeros((pi.max() + 1, yi.max() + 1), dtype=np.int64)
    np.add.at(counts, (pi, yi), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(y))


def _check_same_length(y, pred) -> None:
    """:class:`InputError` unless the class and cluster labels are two equally long, non-empty 1-D sequences."""
    if np.ndim(y) != 1 or np.ndim(pred) != 1 or len(y) != len(pred) or len(y) == 0:
        raise InputError(f"{len(pred) if np.ndim(pred) else 0} cluster labels for {len(y) if np.ndim(y) else 0} class "
                         f"labels (need two 1-D sequences of the same length, at least 1)")


def cluster_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """ACC (Hungarian matching), NMI and ARI of a clustering against labels (one per clustered row; a missing label
    or fewer than 2 classes raises :class:`InputError`)."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    y = _class_labels(y)
    pred = _class_labels(pred, "cluster labels")  # NaN or None failed inside scikit-learn or numpy's sort
    _check_same_length(y, pred)
    _check_two_classes(len(np.unique(y)))  # one class scored 1.0 on every measure, whatever the clustering
    return {"acc": matched_accuracy(y, pred), "nmi": float(normalized_mutual_info_score(y, pred)),
            "ari": float(adjusted_rand_score(y, pred))}


def node_labels(graph: Any, path: str | None = None) -> np.ndarray | None:
    """Each node's label (an object array, ``None`` where unlabelled), from ``path`` or the dataset's ``y``.

    ``path`` is a CSV/TSV keyed by node id (:func:`graphvae.data.graph_files.read_labels`); without it the graph's
    ``y`` (a bundled dataset's classes; NaN for an unlabelled node, a non-integer number :class:`InputError`);
    ``None`` when the graph has no labels.
    """
    if path is not None:
        from ..data.graph_files import read_labels

        return read_labels(path, graph.node_ids)
    y = getattr(graph, "y", None)
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a [n, 1] column: one label a node
        y = y.ravel()
    if y.ndim != 1:  # a one-hot [n, c] y was flattened into n * c "labels"
        raise InputError(f"the graph's labels (y) must be one class a node, shape [n] or [n, 1], got shape "
                         f"{list(y.shape)} (a one-hot y: take its argmax along axis 1)")
    values = y.tolist()
    labels = np.full(len(values), None, dtype=object)  # NaN (unlabelled, as in ogbn-papers100M) stays None
    for i, v in enumerate(values):
        if isinstance(v, float) and not _missing(v) and not v.is_integer():  # int() cut 0.5 and 0.7 to one class 0
            raise InputError(f"the graph's label of row {i} is {v!r}: labels are classes "
                             "(integers; NaN marks an unlabelled node)")
        labels[i] = None if _missing(v) else int(v) if isinstance(v, (bool, int, float)) else v
    return labels


def public_split(graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(train, val, test)`` node indices of a Planetoid graph's public split, ``None`` if it has none."""
    masks = [getattr(graph, m, None) for m in ("train_mask", "val_mask", "test_mask")]
    if any(m is None for m in masks):
        return None
    return tuple(np.flatnonzero(np.asarray(m)) for m in masks)
