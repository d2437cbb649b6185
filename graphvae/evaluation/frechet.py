r"""The Fréchet distance between real and generated images, in the features of a small classifier.

Fit a Gaussian to each set of feature vectors, :math:`\mathcal N(\mu_X, \Sigma_X)` and
:math:`\mathcal N(\mu_Y, \Sigma_Y)`; the Fréchet (2-Wasserstein) distance between them is

.. math:: d^2 = \lVert \mu_X - \mu_Y \rVert^2
          + \operatorname{tr}\big(\Sigma_X + \Sigma_Y - 2\,(\Sigma_X^{1/2}\,\Sigma_Y\,\Sigma_X^{1/2})^{1/2}\big),

the formula of the FID (Heusel et al. 2017). Both square roots are of symmetric positive
semi-definite matrices, so they are taken through ``scipy.linalg.eigh`` with round-off negative
eigenvalues clipped to zero: real-valued and stable even for singular covariances (fewer samples
than features), where a general ``sqrtm`` can return complex or NaN entries.

**This is not the Inception FID.** The features are the last hidden layer of a small MLP classifier
that graphvae trains on the same dataset (:func:`feature_classifier`, cached), so the numbers compare
models on that dataset only and are not comparable with published FIDs.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.linalg

from .._validation import InputError, check_finite, check_float32_range, check_int, real_array
from ..files import atomic_write

#: the largest seed scikit-learn's ``MLPClassifier`` takes
_MAX_SKLEARN_SEED = 2**32 - 1


def gaussian_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of ``[n, k]`` feature vectors (``n >= 2``)."""
    f = real_array(features, "features")
    if f.ndim != 2 or f.shape[0] < 2:
        raise InputError(f"need at least 2 feature vectors as an [n, k] array, got shape {f.shape}")
    check_finite(f, "features")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    sym = 0.5 * (matrix + matrix.T)
    w, v = scipy.linalg.eigh(sym)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu_x: np.ndarray, cov_x: np.ndarray, mu_y: np.ndarray, cov_y: np.ndarray) -> float:
    """The Fréchet distance :math:`d^2` between :math:`\\mathcal N(\\mu_X, \\Sigma_X)` and :math:`\\mathcal N(\\mu_Y, \\Sigma_Y)`."""
    mu_x, mu_y = np.atleast_1d(real_array(mu_x, "the first mean")), np.atleast_1d(real_array(mu_y, "the second mean"))
    cov_x = np.atleast_2d(real_array(cov_x, "the first covariance"))
    cov_y = np.atleast_2d(real_array(cov_y, "the second covariance"))
    k = mu_x.shape[0]
    if mu_y.shape != (k,) or cov_x.shape != (k, k) or cov_y.shape != (k, k):
        raise InputError(f"shapes do not match: means {mu_x.shape}, {mu_y.shape}; covariances {cov_x.shape}, {cov_y.shape}")
    for name, a in (("entries of the first mean", mu_x), ("entries of the second mean", mu_y)):
        check_finite(a[None], name)
    for name, c in (("first covariance", cov_x), ("second covariance", cov_y)):
        _check_covariance(c, name)
    root_x = psd_sqrt(cov_x)
    cross = root_x @ cov_y @ root_x
    eig = scipy.linalg.eigvalsh(0.5 * (cross + cross.T))
    trace_sqrt = np.sqrt(np.clip(eig, 0.0, None)).sum()
    d2 = np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x) + np.trace(cov_y) - 2.0 * trace_sqrt
    return float(max(d2, 0.0))


def _check_covariance(c: np.ndarray, what: str, tol: float = 1e-6) -> None:
    """:class:`InputError` unless ``c`` is a finite symmetric positive semi-definite matrix, up to round-off (``tol``
    relative to its largest entry): a negative variance or an asymmetric matrix was clipped or symmetrized into a
    distance between Gaussians that do not exist."""
    check_finite(c, "entries of the " + what)
    scale = max(float(np.abs(c).max()), np.finfo(np.float64).tiny)
    if np.abs(c - c.T).max() > tol * scale:
        raise InputError(f"the {what} is not symmetric: not a covariance matrix")
    low = float(scipy.linalg.eigvalsh(0.5 * (c + c.T)).min())
    if low < -tol * scale:
        raise InputError(f"the {what} has a negative eigenvalue ({low:.3g}): not a covariance matrix (a variance "
                         "cannot be negative)")


def frechet_distance_samples(x: np.ndarray, y: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors."""
    return frechet_distance(*gaussian_moments(x), *gaussian_moments(y))


@dataclass(frozen=True)
class FeatureClassifier:
    """A trained MLP classifier's weights; :meth:`features` gives the last hidden layer (ReLU) as the feature space."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    accuracy: float | None = None

    def features(self, x: np.ndarray) -> np.ndarray:
        h = real_array(x, "the feature classifier's images")
        if h.ndim != 2 or h.shape[1] != self.weights[0].shape[0]:
            raise InputError(f"the feature classifier expects [n, {self.weights[0].shape[0]}] images, got {h.shape}")
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(h @ w + b, 0.0)
        return h

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The output index of each image's class (the class's position among the sorted training labels)."""
        logits = self.features(x) @ self.weights[-1] + self.biases[-1]
        if logits.shape[1] == 1:  # two classes: one logistic output, class 1 where it is positive
            return (logits[:, 0] > 0).astype(np.int64)
        return np.argmax(logits, axis=1)

    def frechet(self, real: np.ndarray, generated: np.ndarray) -> float:
        """Fréchet distance between real and generated images in this classifier's feature space."""
        return frechet_distance_samples(self.features(real), self.features(generated))


#: the most recently used classifiers, least recently used first (at most :data:`_MEMORY_CACHE_SIZE`)
_MEMORY_CACHE: "OrderedDict[str, FeatureClassifier]" = OrderedDict()
_MEMORY_CACHE_SIZE = 4


def _remember(key: str, clf: FeatureClassifier) -> None:
    _MEMORY_CACHE[key] = clf
    _MEMORY_CACHE.move_to_end(key)
    while len(_MEMORY_CACHE) > _MEMORY_CACHE_SIZE:
        _MEMORY_CACHE.popitem(last=False)


def default_cache_dir() -> Path:
    """Where classifiers are cached: ``frechet/`` in graphvae's one cache folder (:func:`graphvae.data.datasets.cache_dir`)."""
    from ..data.datasets import cache_dir

    return cache_dir() / "frechet"


def _cache_key(x: np.ndarray, y: np.ndarray, hidden: Sequence[int], random_state: int, max_iter: int) -> str:
    h = hashlib.sha256()
    # integer labels hash as before (existing cache entries stay valid); others (strings) by their text
    labels = np.ascontiguousarray(y, np.int64) if y.dtype.kind in "iub" else np.array([str(v) for v in y]).astype("U")
    for a in (np.ascontiguousarray(x, np.float32), labels):
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(repr((tuple(hidden), random_state, max_iter)).encode())
    return h.hexdigest()[:32]


def feature_classifier(x: np.ndarray, y: np.ndarray, hidden: Sequence[int] = (128, 64), random_state: int = 0,
                       max_iter: int = 200, x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
                       cache_dir: str | os.PathLike | None = None) -> FeatureClassifier:
    """Train (or fetch from the cache) the MLP whose last hidden layer is the Fréchet feature space.

    A scikit-learn ``MLPClassifier`` (ReLU, Adam; early stopping on a 10% hold-out for 10000+ images) on the training images ``x`` and
    labels ``y``. Results are cached in memory and, with ``cache_dir``, as an ``.npz`` of the weights
    (written atomically) keyed by a hash of the data and settings. ``x_test``/``y_test`` only add the
    classifier's test accuracy (not cached with the weights). ``hidden`` is one or more layer widths (the last
    is the feature space); ``random_state`` an integer from 0 to 2**32 - 1 (a fixed seed: the cache is keyed by it,
    and ``None`` would draw from numpy's global generator). Bad arguments raise :class:`graphvae.InputError`.
    """
    from sklearn.neural_network import MLPClassifier

    random_state = check_int(random_state, "random_state", 0, _MAX_SKLEARN_SEED)  # None would draw from numpy's global RNG
    max_iter = check_int(max_iter, "max_iter")
    layers = [hidden] if isinstance(hidden, (int, np.integer)) else hidden
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or not len(layers) or not all(
            isinstance(h, (int, np.integer)) and not isinstance(h, (bool, np.bool_)) and h >= 1 for h in layers):
        # no hidden layer would make the "features" the pixels themselves
        raise InputError(f"hidden must be one or more positive layer widths, got {hidden!r}")
    hidden = tuple(int(h) for h in layers)
    x = real_array(x, "the classifier's training images")
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise InputError(f"need [n, pixels] images and n labels, got {x.shape} and {y.shape}")
    check_finite(x, "the classifier's training images")
    check_float32_range(x, "the classifier's training images")  # the classifier is trained in float32
    x = x.astype(np.float32)
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise InputError("the classifier's labels contain NaN or infinity")
    if (x_test is None) != (y_test is None):
        raise InputError("give both x_test and y_test (the classifier's test accuracy), or neither")
    if x_test is not None:
        x_test, y_test = real_array(x_test, "the classifier's test images"), np.asarray(y_test)
        if x_test.ndim != 2 or x_test.shape[1] != x.shape[1] or y_test.shape != (x_test.shape[0],):
            raise InputError(f"need [n, {x.shape[1]}] test images and n test labels, got {x_test.shape} and "
                             f"{y_test.shape}")
        check_finite(x_test, "the classifier's test images")
    classes = np.unique(y)  # the order of MLPClassifier's outputs
    if len(classes) < 2:
        raise InputError(f"the feature classifier needs images of at least 2 classes, got {len(classes)}")
    key = _cache_key(x, y, hidden, random_state, max_iter)
    clf = _MEMORY_CACHE.get(key)
    if clf is not None:
        _MEMORY_CACHE.move_to_end(key)
    path = Path(cache_dir) / f"frechet-classifier-{key}.npz" if cache_dir is not None else None
    if clf is None and path is not None and path.is_file():
        clf = _load(path, (x.shape[1], *hidden, len(np.unique(y))))
    if clf is None:
        # early stopping on a 10% hold-out stops small sets far too soon: only for MNIST-sized data
        model = MLPClassifier(hidden_layer_sizes=tuple(hidden), max_iter=max_iter, early_stopping=len(x) >= 10000,
                              n_iter_no_change=10, random_state=random_state)
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():  # once per classifier, not per epoch: max_iter is a budget, not an error
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        clf = FeatureClassifier(tuple(model.coefs_), tuple(model.intercepts_))
        if path is not None:  # a fresh classifier replaces a damaged or foreign entry
            _save(path, clf)
    elif path is not None and not path.is_file():  # a memory hit: the caller asked for a cache on disk too
        _save(path, clf)
    _remember(key, clf)
    if x_test is not None and y_test is not None:
        # predict() gives output indices, the positions of the labels in np.unique(y): compare labels with labels
        predicted = classes[clf.predict(x_test)]
        clf = FeatureClassifier(clf.weights, clf.biases, float(np.mean(predicted == np.asarray(y_test))))
    return clf


def _save(path: Path, clf: FeatureClassifier) -> None:
    arrays = {f"w{i}": w for i, w in enumerate(clf.weights)} | {f"b{i}": b for i, b in enumerate(clf.biases)}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    try:
        atomic_write(path, write)
    except OSError as e:  # a cache that cannot be written only costs a retraining next time
        warnings.warn(f"could not cache the Fréchet feature classifier at {path}: {e}", stacklevel=3)


def _load(path: Path, widths: Sequence[int]) -> FeatureClassifier | None:
    """The cached classifier at ``path`` if it is intact and has the layer ``widths`` (input, hidden..., classes;
    a binary classifier has one output), else ``None``: a damaged or foreign entry is retrained and overwritten."""
    try:
        with np.load(path, allow_pickle=False) as f:
            n = len(f.files) // 2
            weights = tuple(np.asarray(f[f"w{i}"]) for i in range(n))
            biases = tuple(np.asarray(f[f"b{i}"]) for i in range(n))
    except Exception:  # noqa: BLE001 - a truncated zip, a missing array, a bad header: all mean "retrain"
        return None
    outputs = widths[-1] if widths[-1] > 2 else 1
    expected = [(a, b) for a, b in zip(widths[:-1], [*widths[1:-1], outputs])]
    shapes = [w.shape for w in weights]
    if shapes != expected or [b.shape for b in biases] != [(b,) for _, b in expected] or not all(
            np.isfinite(a).all() for a in (*weights, *biases)):
        return None
    return FeatureClassifier(weights, biases)
