"""GaussianMixtureClustering: recovery, BIC over k and over covariance shapes, memberships.

The oracle is scikit-learn's GaussianMixture fitted directly; data are seeded blobs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from seglab.cluster.mixture import (
    COVARIANCE_TYPES,
    GaussianMixtureClustering,
    GaussianMixtureConvergenceWarning,
)
from seglab.cluster.validation import ClusteringDataError, ClusteringParameterError
from seglab.errors import ConfigError, DataError, SeglabWarning


@pytest.fixture(autouse=True)
def one_thread():
    """The oracles run single-threaded too (BLAS threads slow small fits down on 2 cores)."""
    with threadpool_limits(limits=1):
        yield


def blobs(std=1.0, seed=3):
    """Four well-separated spherical clusters of 150 customers in 3 dimensions."""
    centres = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=float)
    return make_blobs(n_samples=600, centers=centres, cluster_std=std, random_state=seed)


def elongated(seed=0):
    """Three clusters stretched along different directions: only full covariances fit them."""
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for label, (angle, centre) in enumerate([(0.0, (0, 0)), (1.0, (12, 0)), (2.2, (0, 12))]):
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        points = rng.normal(size=(200, 2)) * [4.0, 0.4]
        parts.append(points @ rotation.T + centre)
        labels += [label] * 200
    return np.vstack(parts), np.array(labels)


def matched(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column order of b's components that best matches a's (Hungarian on mean distances)."""
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    return linear_sum_assignment(cost)[1]


# ---------------------------------------------------------------------------------------------
# Recovery and the choice of k
# ---------------------------------------------------------------------------------------------


def test_recovers_well_separated_gaussian_clusters():
    X, y = blobs()
    model = GaussianMixtureClustering(4, random_state=0).fit(X)
    assert adjusted_rand_score(y, model.labels_) >= 0.95
    assert model.converged_
    np.testing.assert_allclose(model.memberships_.sum(axis=1), 1.0)
    assert model.memberships_.shape == (600, 4) and model.cluster_centers_.shape == (4, 3)
    np.testing.assert_array_equal(model.labels_, model.memberships_.argmax(axis=1))
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_bic_over_k_picks_the_number_of_clusters():
    X, _ = blobs()
    bic = {k: GaussianMixtureClustering(k, random_state=0).fit(X).bic_ for k in range(2, 8)}
    assert min(bic, key=bic.get) == 4


# ---------------------------------------------------------------------------------------------
# covariance_type="auto"
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [blobs, elongated], ids=["spherical blobs", "elongated"])
def test_auto_keeps_the_covariance_shape_of_lowest_bic(data):
    X, _ = data()
    model = GaussianMixtureClustering(len(np.unique(data()[1])), random_state=0).fit(X)
    # Direct computation: scikit-learn's GaussianMixture with each shape and the documented
    # regularisation, 1e-6 times the mean variance of the features.
    reg_covar = 1e-6 * X.var(axis=0).mean()
    direct = {
        shape: GaussianMixture(
            model.n_clusters, covariance_type=shape, reg_covar=reg_covar, random_state=0
        )
        .fit(X)
        .bic(X)
        for shape in COVARIANCE_TYPES
    }
    assert set(model.bic_by_type_) == set(COVARIANCE_TYPES)
    for shape in COVARIANCE_TYPES:
        assert model.bic_by_type_[shape] == pytest.approx(direct[shape], rel=1e-6)
    assert model.covariance_type_ == min(direct, key=direct.get)
    assert model.bic_ == min(model.bic_by_type_.values())
    assert model.reg_covar_ == pytest.approx(reg_covar)


def test_auto_picks_full_for_elongated_and_a_simpler_shape_for_round_clusters():
    round_choice = GaussianMixtureClustering(4, random_state=0).fit(blobs()[0]).covariance_type_
    X, y = elongated()
    model = GaussianMixtureClustering(3, random_state=0).fit(X)
    assert model.covariance_type_ == "full" != round_choice
    assert adjusted_rand_score(y, model.labels_) >= 0.95


def test_a_fixed_covariance_type_fits_only_that_shape():
    model = GaussianMixtureClustering(4, covariance_type="diag", random_state=0).fit(blobs()[0])
    assert model.covariance_type_ == "diag" and list(model.bic_by_type_) == ["diag"]
    assert model.covariances_.shape == (4, 3)


# ---------------------------------------------------------------------------------------------
# Memberships against scikit-learn's predict_proba
# ---------------------------------------------------------------------------------------------


def test_memberships_match_scikit_learns_predict_proba():
    # Overlapping clusters, so that memberships are not all 0 or 1.
    X, _ = blobs(std=3.0)
    model = GaussianMixtureClustering(4, covariance_type="full", n_init=3, random_state=0).fit(X)
    oracle = GaussianMixture(4, reg_covar=1e-6 * X.var(axis=0).mean(), n_init=3, random_state=7)
    oracle.fit(X)
    order = matched(model.cluster_centers_, oracle.means_)
    np.testing.assert_allclose(model.memberships_, oracle.predict_proba(X)[:, order], atol=1e-4)
    X_new = np.random.default_rng(1).uniform(-5, 15, size=(50, 3))
    np.testing.assert_allclose(
        model.predict_proba(X_new), oracle.predict_proba(X_new)[:, order], atol=1e-4
    )
    ambiguous = (model.memberships_.max(axis=1) < 0.9).sum()
    assert ambiguous >= 10


# ---------------------------------------------------------------------------------------------
# Regularisation, warnings, errors
# ---------------------------------------------------------------------------------------------


def test_relative_regularisation_fits_where_scikit_learns_fixed_one_fails():
    rng = np.random.default_rng(0)
    # 200 customers and a cluster of 3 in 8 dimensions (its covariance has rank 2), on the
    # scale of revenue: scikit-learn's fixed reg_covar=1e-6 is below rounding at 1e5.
    X = np.vstack([rng.normal(size=(200, 8)), 50 + rng.normal(size=(3, 8))])
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, random_state=0).fit(X * 1e5)
    small = GaussianMixtureClustering(2, covariance_type="full", random_state=0).fit(X)
    large = GaussianMixtureClustering(2, covariance_type="full", random_state=0).fit(X * 1e5)
    np.testing.assert_array_equal(large.labels_, small.labels_)
    np.testing.assert_allclose(large.memberships_, small.memberships_, atol=1e-8)
    assert np.bincount(large.labels_).tolist() in ([200, 3], [3, 200])


def test_no_convergence_is_a_seglab_warning_and_recorded():
    X, _ = blobs(std=3.0)
    with pytest.warns(GaussianMixtureConvergenceWarning, match="max_iter=1"):
        model = GaussianMixtureClustering(4, covariance_type="full", max_iter=1, random_state=0)
        model.fit(X)
    assert not model.converged_
    assert issubclass(GaussianMixtureConvergenceWarning, SeglabWarning)


def test_converged_fit_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixtureClustering(4, random_state=0).fit(blobs()[0])


def test_refuses_categorical_columns_naming_them():
    X, _ = blobs()
    table = pd.DataFrame(X[:, :2], columns=["spend", "visits"])
    table["channel"] = np.where(X[:, 2] > 5, "web", "shop")
    with pytest.raises(ClusteringDataError, match="'channel' \\(column 2\\)") as caught:
        GaussianMixtureClustering(4).fit(table)
    assert "KPrototypesClustering or GowerHierarchical" in str(caught.value)
    array = table.to_numpy(dtype=object)
    with pytest.raises(ClusteringDataError, match="categorical: column 2"):
        GaussianMixtureClustering(4).fit(array)
    fitted = GaussianMixtureClustering(4, random_state=0).fit(table[["spend", "visits"]])
    with pytest.raises(ClusteringDataError, match="'visits'"):
        fitted.predict(table.assign(visits="many")[["spend", "visits"]])


def test_parameter_and_data_errors_are_seglabs():
    X, _ = blobs()
    with pytest.raises(ClusteringParameterError, match="covariance_type") as caught:
        GaussianMixtureClustering(covariance_type="round").fit(X)
    assert isinstance(caught.value, ConfigError)
    with pytest.raises(ClusteringParameterError, match="reg_covar"):
        GaussianMixtureClustering(reg_covar=-1.0).fit(X)
    with pytest.raises(ClusteringDataError, match="n_clusters=5 is larger than n_samples=4") as e:
        GaussianMixtureClustering(5).fit(X[:4])
    assert isinstance(e.value, DataError)
    with pytest.raises(ClusteringDataError, match="NaN"):
        GaussianMixtureClustering(2).fit(np.where(X > 9, np.nan, X))


def test_the_same_seed_gives_the_same_model():
    X, _ = blobs(std=3.0)
    a = GaussianMixtureClustering(4, random_state=5).fit(X)
    b = GaussianMixtureClustering(4, random_state=np.random.RandomState(5)).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.bic_ == b.bic_


@parametrize_with_checks(
    [
        GaussianMixtureClustering(random_state=0),
        GaussianMixtureClustering(3, covariance_type="tied", n_init=2, random_state=0),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
