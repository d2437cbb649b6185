"""The Fréchet distance against closed forms and an independent sqrtm reference; the cached feature classifier."""
from collections import OrderedDict
import numpy as np
import pytest
import scipy.linalg

from graphvae.evaluation import frechet as fr
from graphvae._validation import InputError
from graphvae.evaluation.frechet import (feature_classifier, frechet_distance, frechet_distance_samples, gaussian_moments,
                              psd_sqrt)


def random_spd(rng, k):
    a = rng.normal(size=(k, k))
    return a @ a.T + 0.1 * np.eye(k)


def sqrtm_reference(mu1, c1, mu2, c2):
    """The textbook formula with scipy's general sqrtm of the product (independent of frechet.py)."""
    covmean = scipy.linalg.sqrtm(c1 @ c2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * covmean))


def test_closed_form_for_commuting_gaussians():
    # diagonal covariances: d^2 = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # one dimension: (mu1 - mu2)^2 + (s1 - s2)^2
    assert frechet_distance([0.5], [[4.0]], [2.0], [[1.0]]) == pytest.approx(1.5 ** 2 + 1.0, rel=1e-10)


def test_general_covariances_match_sqrtm_and_are_symmetric():
    rng = np.random.default_rng(0)
    for k in (2, 5, 12):
        mu1, mu2 = rng.normal(size=k), rng.normal(size=k)
        c1, c2 = random_spd(rng, k), random_spd(rng, k)
        d = frechet_distance(mu1, c1, mu2, c2)
        assert d == pytest.approx(sqrtm_reference(mu1, c1, mu2, c2), rel=1e-7)
        assert d == pytest.approx(frechet_distance(mu2, c2, mu1, c1), rel=1e-9)


def test_psd_sqrt_squares_back_and_handles_singular():
    rng = np.random.default_rng(1)
    c = random_spd(rng, 6)
    r = psd_sqrt(c)
    np.testing.assert_allclose(r @ r, c, atol=1e-10)
    v = rng.normal(size=(6, 2))
    singular = v @ v.T  # rank 2
    r = psd_sqrt(singular)
    assert np.isfinite(r).all()
    np.testing.assert_allclose(r @ r, singular, atol=1e-8)


def test_sample_set_with_itself_is_zero_even_when_singular():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8))
    assert frechet_distance_samples(x, x) == pytest.approx(0.0, abs=1e-8)
    few = rng.normal(size=(10, 40))  # fewer samples than features: singular covariance
    d = frechet_distance_samples(few, few)
    assert np.isfinite(d) and d == pytest.approx(0.0, abs=1e-6)


def test_samples_converge_to_the_closed_form():
    rng = np.random.default_rng(3)
    mu1, mu2 = np.zeros(3), np.array([1.0, -1.0, 0.5])
    c1, c2 = np.diag([1.0, 2.0, 0.5]), random_spd(rng, 3)
    x = rng.multivariate_normal(mu1, c1, size=40000)
    y = rng.multivariate_normal(mu2, c2, size=40000)
    m1, s1 = gaussian_moments(x)
    np.testing.assert_allclose(m1, mu1, atol=0.03)
    assert frechet_distance_samples(x, y) == pytest.approx(frechet_distance(mu1, c1, mu2, c2), rel=0.03)


def test_bad_shapes_raise():
    with pytest.raises(InputError):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(InputError):
        gaussian_moments(np.zeros((1, 4)))
    with pytest.raises(InputError):
        gaussian_moments(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_feature_classifier_is_cached_in_memory_and_on_disk(tmp_path, monkeypatch):
    from graphvae.data.images import load_digits

    x, y, _ = load_digits()
    x, y = x[:600], y[:600]
    monkeypatch.setattr(fr, "_MEMORY_CACHE", OrderedDict())
    clf = feature_classifier(x[:500], y[:500], hidden=(32, 16), max_iter=100, x_test=x[500:], y_test=y[500:],
                             cache_dir=tmp_path)
    assert clf.features(x[:7]).shape == (7, 16)
    assert clf.accuracy > 0.5  # a working classifier, far above the 0.1 of chance
    files = list(tmp_path.glob("frechet-classifier-*.npz"))
    assert len(files) == 1
    # memory hit: the same weights object, no retraining
    again = feature_classifier(x[:500], y[:500], hidden=(32, 16), max_iter=100)
    assert again.weights is clf.weights
    # disk hit in a fresh process (empty memory cache): identical features
    monkeypatch.setattr(fr, "_MEMORY_CACHE", OrderedDict())
    from_disk = feature_classifier(x[:500], y[:500], hidden=(32, 16), max_iter=100, cache_dir=tmp_path)
    np.testing.assert_array_equal(from_disk.features(x[500:]), clf.features(x[500:]))
    # real vs real is closer than real vs noise in this feature space
    noise = np.random.default_rng(0).random((100, 64)).round().astype(np.float32)
    assert clf.frechet(x[500:], x[:100]) < clf.frechet(x[500:], noise)
    with pytest.raises(InputError):
        clf.features(np.zeros((3, 10)))


def test_memory_cache_is_bounded_and_least_recently_used_goes_first(monkeypatch):
    monkeypatch.setattr(fr, "_MEMORY_CACHE", OrderedDict())
    for i in range(fr._MEMORY_CACHE_SIZE + 2):
        fr._remember(f"k{i}", object())
    assert len(fr._MEMORY_CACHE) == fr._MEMORY_CACHE_SIZE
    assert list(fr._MEMORY_CACHE)[0] == "k2"


def test_a_damaged_or_foreign_cache_entry_is_retrained_and_overwritten(tmp_path):
    # a truncated file ended every later `graphvae vae` in a BadZipFile traceback; an entry of other shapes in an
    # error that --no-cache alone got around
    from graphvae.evaluation import frechet

    rng = np.random.default_rng(0)
    x, y = rng.random((60, 8)).astype(np.float32), np.repeat(np.arange(3), 20)
    first = frechet.feature_classifier(x, y, hidden=(6,), max_iter=20, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("frechet-classifier-*.npz")
    good = entry.read_bytes()
    for damaged in (good[:300], None):
        frechet._MEMORY_CACHE.clear()
        if damaged is None:
            np.savez(entry, w0=np.zeros((8, 6)), b0=np.zeros(6), w1=np.zeros((6, 5)), b1=np.zeros(5))  # 5 classes
        else:
            entry.write_bytes(damaged)
        again = frechet.feature_classifier(x, y, hidden=(6,), max_iter=20, cache_dir=tmp_path)
        assert all(np.array_equal(a, b) for a, b in zip(again.weights, first.weights))
        assert entry.read_bytes() == good
