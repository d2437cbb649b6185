"""scikit-learn's own estimator checks, run as they are, on the image estimators with Gaussian pixels
(the image VAE, every kind of autoencoder, the stacked autoencoder), and the conventions they do not cover."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import SkipTestWarning
from sklearn.utils.estimator_checks import check_estimator

import graphvae as gv

#: the estimators as check_estimator runs them: tiny networks and few epochs, so each suite takes seconds
#: (the stacked classifier's fine-tuning must reach check_classifiers_train's accuracy > 0.83 on three blobs)
ESTIMATORS = {
    "ImageVAE": lambda: gv.ImageVAE(likelihood="gaussian", hidden=8, latent=2, epochs=2, batch_size=32),
    **{f"Autoencoder-{kind}": lambda kind=kind: gv.Autoencoder(kind=kind, likelihood="gaussian", hidden=8, latent=2,
                                                               epochs=2, batch_size=32)
       for kind in ("vanilla", "denoising", "sparse", "contractive")},
    **{f"StackedAutoencoder-{name}": lambda pretrain=pretrain: gv.StackedAutoencoder(
        likelihood="gaussian", hidden=(8,), pretrain=pretrain, pretrain_epochs=1, finetune_epochs=5, lr=0.05,
        batch_size=32) for name, pretrain in (("pretrained", True), ("scratch", False))},
}

#: per estimator, the checks that cannot apply to it, each with its reason (none is needed today: every check runs)
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {name: {} for name in ESTIMATORS}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_image_estimators_pass_sklearns_check_estimator(name):
    model = ESTIMATORS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)  # check_array_api_input needs SCIPY_ARRAY_API=1
        results = check_estimator(model, expected_failed_checks=EXPECTED_FAILED_CHECKS[name], on_fail=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed, failed
    ran = [r for r in results if r["status"] == "passed"]
    assert len(ran) >= 40  # the suite ran, not skipped wholesale


def _images(n=40, pixels=6, seed=0):
    return np.random.default_rng(seed).random((n, pixels)).astype(np.float32)


def test_autoencoder_score_follows_what_was_fitted():
    import networkx as nx

    from graphvae.data.split import split_edges

    x = _images()
    model = gv.Autoencoder(hidden=4, latent=2, epochs=2).fit(x)
    score = model.score(x, np.zeros(len(x)))  # images: y is ignored, as scikit-learn passes it
    assert isinstance(score, float) and score == model.score(x) == model.model_.elbo(x)["elbo"] < 0
    with pytest.raises(gv.InputError, match="fitted on images"):
        model.score(nx.path_graph(5))
    split = split_edges(gv.as_graph(nx.karate_club_graph()), seed=0)
    graph_model = gv.Autoencoder(hidden=8, latent=4, epochs=2).fit(split)
    assert set(graph_model.score(split.test_pos, split.test_neg)) == {"auc", "ap"}  # the graph API, unchanged
    with pytest.raises(gv.InputError, match=r"score\(pos, neg\)"):
        graph_model.score(split.test_pos)


def test_autoencoder_reconstruction_error_needs_one_clean_image_per_input():
    x = _images()
    model = gv.Autoencoder(hidden=4, latent=2, epochs=1).fit(x)
    assert model.reconstruction_error(x) == model.reconstruction_error(x, x.copy())
    with pytest.raises(gv.InputError, match="one row per image"):  # was broadcast against every reconstruction
        model.reconstruction_error(x, x[:1])


def test_stacked_autoencoder_scores_a_column_of_labels_as_one_label_per_row():
    x, y = _images(), np.arange(40) % 2
    model = gv.StackedAutoencoder(hidden=(4,), pretrain_epochs=1, finetune_epochs=2, batch_size=8).fit(x, y)
    accuracy = model.score(x, y)
    assert accuracy == float(np.mean(model.predict(x) == y))
    assert model.score(x, y.reshape(-1, 1)) == accuracy  # was compared against every label: a 40 x 40 mean
    with pytest.raises(gv.InputError, match="NaN or infinity"):  # was a RuntimeWarning, then "continuous values"
        model.fit(x, np.where(y > 0, np.inf, 0.0))


@pytest.mark.parametrize("name", ["ImageVAE", "Autoencoder-vanilla", "StackedAutoencoder-scratch"])
def test_codes_are_named_as_scikit_learn_names_new_features(name):
    """``get_feature_names_out`` (``<class name>0, ...``, one per code) and, where scikit-learn's output wrapping is
    on, ``set_output(transform="pandas")``: scikit-learn's own checks of both, run as they are."""
    from sklearn.utils import estimator_checks as checks

    checks_to_run = [checks.check_transformer_get_feature_names_out, checks.check_get_feature_names_out_error]
    if not name.startswith("Autoencoder"):  # the graph-or-images Autoencoder leaves its output unwrapped
        checks_to_run += [checks.check_set_output_transform, checks.check_set_output_transform_pandas,
                          checks.check_global_output_transform_pandas]
    for check in checks_to_run:
        try:
            check(name, ESTIMATORS[name]())
        except checks.SkipTest:  # pandas missing: the pandas checks cannot run
            pass
    model = ESTIMATORS[name]().fit(_images(), np.arange(40) % 2)
    prefix = type(model).__name__.lower()
    assert model.get_feature_names_out().tolist() == [f"{prefix}{i}" for i in range(model.transform(_images()).shape[1])]


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_column_names_follow_scikit_learns_convention(name):
    """A DataFrame's column names are recorded in ``feature_names_in_`` and checked on every later call (scikit-learn's
    own check, run as it is); a refit on an array forgets them; other names are an :class:`InputError`."""
    pd = pytest.importorskip("pandas")
    from sklearn.utils import estimator_checks as checks

    checks.check_dataframe_column_names_consistency(name, ESTIMATORS[name]())
    x, y = _images(), np.arange(40) % 2
    frame = pd.DataFrame(x, columns=[f"pixel{i}" for i in range(x.shape[1])])
    model = ESTIMATORS[name]().fit(frame, y)
    assert model.feature_names_in_.tolist() == list(frame.columns)
    with pytest.raises(gv.InputError, match="Feature names unseen at fit time:\n- other0"):
        model.transform(frame.rename(columns={"pixel0": "other0"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.transform(x)
    assert not hasattr(model.fit(x, y), "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names"):
        model.transform(frame)
