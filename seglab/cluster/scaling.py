"""Named feature scalings, each a scikit-learn transformer.

:class:`FeatureScaler` wraps a named scaler with the steps every scaling shares: constant
features are dropped (with a warning naming them, never NaN), optional winsorising at
percentiles learnt in ``fit``, the scaler itself, and optional PCA.

>>> import numpy as np
>>> make_scaler("log_standard").fit_transform(np.array([[0.0], [np.e - 1]])).ravel()
array([-1.,  1.])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from seglab.errors import ConfigError, DataError, SeglabWarning
from seglab.registry import Registry

__all__ = ["SCALERS", "FeatureScaler", "check_finite", "make_scaler", "signed_log1p"]

SCALERS: Registry[Callable[[int | None], TransformerMixin]] = Registry("scaler")


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)``: log1p for non-negative values, mirrored for negative ones.

    Net revenue can be negative after returns; the mirror keeps such customers finite and ordered.
    """
    return np.sign(x) * np.log1p(np.abs(x))


def make_scaler(name: str, random_state: int | None = None) -> TransformerMixin:
    """Build a fresh, unfitted scaler by name (see ``SCALERS.names()``)."""
    return SCALERS.get(name)(random_state)


SCALERS.register("none", lambda random_state: FunctionTransformer(feature_names_out="one-to-one"))
SCALERS.register("standard", lambda random_state: StandardScaler())
SCALERS.register("minmax", lambda random_state: MinMaxScaler())
SCALERS.register("robust", lambda random_state: RobustScaler())
SCALERS.register(
    "log_standard",
    lambda random_state: make_pipeline(
        FunctionTransformer(signed_log1p, feature_names_out="one-to-one"), StandardScaler()
    ),
)
SCALERS.register(
    "quantile",
    lambda random_state: QuantileTransformer(
        output_distribution="normal", n_quantiles=1000, subsample=100_000, random_state=random_state
    ),
)
SCALERS.register("power", lambda random_state: PowerTransformer(method="yeo-johnson"))


def check_finite(features: pd.DataFrame) -> None:
    """Raise DataError naming the features and customers that hold NaN or infinite values.

    >>> check_finite(pd.DataFrame({"frequency": [1.0, np.nan]}, index=["C1", "C2"]))
    Traceback (most recent call last):
    ...
    seglab.errors.DataError: features hold NaN ... frequency (1 customer(s), e.g. C2)...Drop ...
    """
    bad = ~np.isfinite(features.to_numpy(dtype=np.float64))
    if not bad.any():
        return
    parts = []
    for j in np.flatnonzero(bad.any(axis=0)):
        rows = features.index[bad[:, j]]
        examples = ", ".join(map(str, rows[:3]))
        parts.append(f"{features.columns[j]} ({len(rows)} customer(s), e.g. {examples})")
    raise DataError(
        f"features hold NaN or infinite values: {'; '.join(parts)}. "
        "Drop those features from the feature set or fix the data."
    )


class FeatureScaler(TransformerMixin, BaseEstimator):
    """Drop constant features, winsorise, scale by name, optionally reduce with PCA.

    Parameters
    ----------
    method : str
        Name of the scaler in ``SCALERS``.
    winsorize : tuple of float, optional
        Lower and upper percentiles (0-100) at which each feature is clipped before scaling.
    pca : int or float, optional
        PCA after scaling: a number of components, or the share of variance to keep (0-1).
    random_state : int, optional
        Seed for the scalers and PCA that draw random numbers.

    Attributes
    ----------
    constant_features_ : list of str
        Features dropped because they take one value.
    kept_ : ndarray of bool
        Which input features are used.
    """

    def __init__(self, method="standard", *, winsorize=None, pca=None, random_state=None):
        self.method = method
        self.winsorize = winsorize
        self.pca = pca
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the constant features, clipping bounds, scaler and PCA from `X`."""
        if isinstance(X, pd.DataFrame):
            check_finite(X)
        X = validate_data(self, X, dtype=np.float64)
        names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])]))
        self.kept_ = np.ptp(X, axis=0) > 0
        self.constant_features_ = [n for n, keep in zip(names, self.kept_, strict=True) if not keep]
        if self.constant_features_:
            warnings.warn(
                f"constant feature(s) dropped before scaling: {', '.join(self.constant_features_)}",
                SeglabWarning,
                stacklevel=2,
            )
        if not self.kept_.any():
            raise ConfigError("every feature is constant: there is nothing to cluster on")
        X = X[:, self.kept_]
        if self.pca is not None and self.pca >= 1 and self.pca > X.shape[1]:
            raise ConfigError(
                f"pca={self.pca} components need at least {self.pca} features, but "
                f"{X.shape[1]} remain after dropping constant ones; add features to the set, "
                "lower pca, or give it as a share of variance (e.g. 0.9)"
            )
        self.bounds_ = self._bounds(X)
        X = np.clip(X, *self.bounds_)
        self.scaler_ = make_scaler(self.method, self.random_state).fit(X)
        X = self.scaler_.transform(X)
        self.pca_ = None
        if self.pca is not None:
            self.pca_ = PCA(n_components=self.pca, random_state=self.random_state).fit(X)
        return self

    def transform(self, X):
        """Apply the learnt steps to `X`."""
        check_is_fitted(self, "scaler_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        X = self.scaler_.transform(np.clip(X[:, self.kept_], *self.bounds_))
        return X if self.pca_ is None else self.pca_.transform(X)

    def _bounds(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.winsorize is None:
            return np.full(X.shape[1], -np.inf), np.full(X.shape[1], np.inf)
        low, high = self.winsorize
        if not 0 <= low < high <= 100:
            raise ConfigError(
                f"winsorize must be two percentiles 0 <= low < high <= 100, got {self.winsorize!r}"
            )
        return np.percentile(X, low, axis=0), np.percentile(X, high, axis=0)
