"""The checks every seglab estimator runs, with one family of errors for all of them.

Errors are seglab's (a :class:`~seglab.errors.ConfigError` or :class:`~seglab.errors.DataError`,
so the command line reports them as user errors) and scikit-learn's kind at once (so scikit-learn's
estimator checks and callers catching ``ValueError`` see what they expect).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

from seglab.errors import ConfigError, DataError

__all__ = ["ClusteringDataError", "ClusteringParameterError", "check_data", "check_n_clusters",
           "check_params"]  # fmt: skip


class ClusteringParameterError(ConfigError, InvalidParameterError):
    """A parameter of an estimator has a wrong type or value.

    Also scikit-learn's ``InvalidParameterError`` (so ``ValueError`` and ``TypeError``).
    """


class ClusteringDataError(DataError, ValueError):
    """The data cannot be clustered as asked: NaN, fewer rows than clusters, wrong features."""


def check_params(estimator) -> None:
    """Validate against the estimator's ``_parameter_constraints``, in seglab's error type."""
    try:
        estimator._validate_params()
    except InvalidParameterError as error:
        raise ClusteringParameterError(str(error)) from None


def check_data(estimator, X, *, reset: bool) -> np.ndarray:
    """``X`` as a C-ordered float64 array of finite numbers (``reset``: record its features)."""
    try:
        X = validate_data(
            estimator, X, reset=reset, dtype=np.float64, order="C", ensure_all_finite=False
        )
    except ValueError as error:
        raise ClusteringDataError(str(error)) from error
    with np.errstate(all="ignore"):  # huge values may overflow the sum: then row by row
        if np.isfinite(X.sum()):  # a NaN or an infinity makes the sum non-finite (4x faster)
            return X
    finite = np.isfinite(X).all(axis=1)  # the sum may also have overflowed
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise ClusteringDataError(
            f"X contains NaN or infinite values in {rows.size} row(s), the first at "
            f"{rows[:5].tolist()}; impute or drop them before clustering"
        )
    return X


def check_n_clusters(n_clusters: int, n_samples: int) -> None:
    """Raise when more clusters are asked for than there are samples."""
    if n_clusters > n_samples:
        raise ClusteringDataError(
            f"n_clusters={n_clusters} is larger than n_samples={n_samples}; "
            f"choose n_clusters <= {n_samples}"
        )
