"""Checks shared by every stage that takes arrays: finite features, labels, integers, samples.

One implementation each, so that every stage words the same mistake the same way.

>>> check_matrix([[1.0, 2.0], [3.0, float("nan")]])
Traceback (most recent call last):
...
seglab.errors.DataError: X has NaN or infinite values in 1 of 2 rows (positions 1); ...
>>> sample_rows(5, 3, 0).tolist()
[2, 3, 4]
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import ConfigError, DataError

__all__ = [
    "check_int",
    "check_labels",
    "check_matrix",
    "check_n_clusters",
    "check_solution",
    "sample_rows",
]


def check_matrix(X: Any) -> np.ndarray:
    """``X`` as a finite 2-D float array with at least one row and one column."""
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must hold numbers only; converting it failed: {exc}") from None
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise DataError(
            f"X must be a non-empty 2-D table (customers x features); got shape {values.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        first = ", ".join(str(i) for i in bad[:5])
        raise DataError(
            f"X has NaN or infinite values in {bad.size} of {values.shape[0]} rows "
            f"(positions {first}{', ...' if bad.size > 5 else ''}); impute or drop them first"
        )
    return values


def check_labels(labels: Any, n: int, *, what: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """The distinct labels (sorted) and each row's position among them."""
    values = np.asarray(labels)
    if values.ndim != 1 or values.shape[0] != n:
        raise DataError(
            f"{what} has shape {values.shape} but X has {n} rows; pass one label per customer"
        )
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise DataError(f"{what} contain NaN or infinite values; every customer needs a cluster")
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError:
        raise DataError(
            f"{what} mix types that cannot be compared (e.g. None and numbers)"
        ) from None
    return classes, codes.reshape(-1)


def check_solution(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, distinct labels and codes; a DataFrame and a Series must share their index."""
    both = isinstance(X, pd.DataFrame) and isinstance(labels, pd.Series)
    if both and not X.index.equals(labels.index):
        raise DataError(
            "labels and X have different indexes; align them (labels.reindex(X.index)) "
            "so that each customer keeps their own label"
        )
    values = check_matrix(X)
    classes, codes = check_labels(labels, values.shape[0])
    return values, classes, codes


def check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_n_clusters(k: int, n: int) -> None:
    """Raise DataError when `k` clusters cannot be made from `n` customers."""
    if k > n:
        raise DataError(
            f"cannot make k={k} clusters from {n} customers; choose k <= {n} "
            "or widen the data (earlier as_of, longer window, fewer filters)"
        )


def sample_rows(n: int, size: int, random_state: int, *, ordered: bool = True) -> np.ndarray:
    """Positions of a seeded sample of `size` of `n` rows without replacement (all when n <= size).

    Parameters
    ----------
    n, size : int
        Rows available and rows wanted.
    random_state : int
        Seed of :func:`numpy.random.default_rng`: the same seed draws the same rows.
    ordered : bool
        Sorted positions (rows keep their order) or the order in which they were drawn.
    """
    if n <= size:
        return np.arange(n)
    rows = np.random.default_rng(random_state).choice(n, size=size, replace=False)
    return np.sort(rows) if ordered else rows
