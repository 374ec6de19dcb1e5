import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import (
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.estimator_checks import parametrize_with_checks

from seglab.cluster.scaling import SCALERS, FeatureScaler, make_scaler, signed_log1p
from seglab.errors import ConfigError, DataError, SeglabWarning

RNG = np.random.default_rng(0)
X = RNG.lognormal(3.0, 1.0, size=(200, 3))


def test_every_named_scaler_exists():
    assert SCALERS.names() == [
        "none",
        "standard",
        "minmax",
        "robust",
        "log_standard",
        "quantile",
        "power",
    ]


@pytest.mark.parametrize(
    ("name", "oracle"),
    [
        ("standard", StandardScaler()),
        ("robust", RobustScaler()),
        ("power", PowerTransformer(method="yeo-johnson")),
        (
            "quantile",
            QuantileTransformer(
                output_distribution="normal", n_quantiles=1000, subsample=100_000, random_state=0
            ),
        ),
    ],
)
def test_named_scalers_match_scikit_learn(name, oracle):
    ours = FeatureScaler(name, random_state=0).fit_transform(X)
    np.testing.assert_allclose(ours, oracle.fit_transform(X), rtol=1e-10, atol=1e-12)


def test_standard_and_robust_scaling_by_numpy():
    # Independent of scikit-learn: population standard deviation; median and quartiles
    # (numpy's linear interpolation, the definition RobustScaler documents).
    standard = (X - X.mean(axis=0)) / X.std(axis=0, ddof=0)
    np.testing.assert_allclose(FeatureScaler("standard").fit_transform(X), standard, rtol=1e-12)
    q1, median, q3 = np.percentile(X, [25, 50, 75], axis=0)
    robust = (X - median) / (q3 - q1)
    np.testing.assert_allclose(FeatureScaler("robust").fit_transform(X), robust, rtol=1e-12)
    # And by hand: 1, 2, 3, 4 has mean 2.5 and population sd sqrt(1.25).
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    expected = [-1.5 / 1.25**0.5, -0.5 / 1.25**0.5, 0.5 / 1.25**0.5, 1.5 / 1.25**0.5]
    assert FeatureScaler("standard").fit_transform(x).ravel() == pytest.approx(expected)
    # median 2.5, quartiles 1.75 and 3.25: IQR 1.5.
    expected = [-1.5 / 1.5, -0.5 / 1.5, 0.5 / 1.5, 1.5 / 1.5]
    assert FeatureScaler("robust").fit_transform(x).ravel() == pytest.approx(expected)


def test_minmax_and_none_by_hand():
    x = np.array([[1.0], [3.0], [5.0]])
    assert FeatureScaler("minmax").fit_transform(x).ravel().tolist() == [0.0, 0.5, 1.0]
    assert FeatureScaler("none").fit_transform(x).ravel().tolist() == [1.0, 3.0, 5.0]


def test_log_standard_handles_net_negative_revenue():
    x = np.array([[-(np.e - 1)], [0.0], [np.e - 1]])
    assert signed_log1p(x).ravel().tolist() == pytest.approx([-1.0, 0.0, 1.0])
    scaled = make_scaler("log_standard").fit_transform(x)
    assert scaled.mean() == pytest.approx(0.0) and scaled.std() == pytest.approx(1.0)


def test_constant_feature_dropped_with_a_warning_naming_it():
    frame = pd.DataFrame({"frequency": [1.0, 2.0, 4.0], "flat": [7.0, 7.0, 7.0]})
    scaler = FeatureScaler("standard")
    with pytest.warns(SeglabWarning, match=r"constant feature\(s\) dropped before scaling: flat"):
        out = scaler.fit_transform(frame)
    assert out.shape == (3, 1) and np.isfinite(out).all()
    assert scaler.constant_features_ == ["flat"]


def test_all_constant_is_an_error():
    with pytest.warns(SeglabWarning), pytest.raises(ConfigError, match="every feature is constant"):
        FeatureScaler().fit(np.ones((4, 2)))


def test_winsorize_clips_at_fitted_percentiles():
    x = np.arange(101, dtype=float).reshape(-1, 1)  # percentiles equal the values
    scaler = FeatureScaler("none", winsorize=(5, 95)).fit(x)
    assert scaler.transform(np.array([[-50.0], [50.0], [500.0]])).ravel().tolist() == [
        5.0,
        50.0,
        95.0,
    ]
    with pytest.raises(ConfigError, match=r"winsorize must be two percentiles"):
        FeatureScaler(winsorize=(90, 10)).fit(x)


def test_pca_after_scaling_keeps_requested_components():
    out = FeatureScaler("standard", pca=2, random_state=0).fit_transform(X)
    assert out.shape == (200, 2)
    # The same scores by numpy's SVD of the standardised data, up to each axis' sign.
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    U, S, _ = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
    expected = U[:, :2] * S[:2]
    signs = np.sign((out * expected).sum(axis=0))
    np.testing.assert_allclose(out * signs, expected, rtol=1e-9, atol=1e-9)
    # A share of variance keeps the fewest components that explain it (numpy's eigenvalues).
    share = np.cumsum(S**2) / np.sum(S**2)
    kept = FeatureScaler("standard", pca=0.9, random_state=0).fit_transform(X).shape[1]
    assert kept == int(np.searchsorted(share, 0.9) + 1)


def test_more_pca_components_than_features_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"pca=3 components need at least 3 features, but 2"):
        FeatureScaler("standard", pca=3).fit(X[:, :2])


def test_unknown_scaler_lists_known_ones():
    with pytest.raises(ConfigError, match=r"unknown scaler 'zscore'.*Known: log_standard, minmax"):
        FeatureScaler("zscore").fit(X)


EXPECTED_FAILURES = {
    "check_fit2d_1sample": "one sample makes every feature constant; FeatureScaler refuses to "
    "scale nothing with a ConfigError, which is not the ValueError the check expects",
}


@parametrize_with_checks(
    [FeatureScaler(), FeatureScaler("log_standard", winsorize=(1, 99))],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_scikit_learn_contract(estimator, check):
    check(estimator)


def test_non_finite_features_name_the_feature_and_customers():
    frame = pd.DataFrame(
        {"frequency": [1.0, np.nan, 3.0, np.inf], "tenure_days": [1.0, 2.0, 3.0, 4.0]},
        index=pd.Index(["C1", "C2", "C3", "C4"], name="customer_id"),
    )
    with pytest.raises(DataError, match=r"frequency \(2 customer\(s\), e\.g\. C2, C4\)"):
        FeatureScaler().fit(frame)
