"""Gower distance between customers described by numbers and categories, and its silhouette.

Gower (1971) averages one dissimilarity in [0, 1] per feature:

- numeric feature: ``|x_i - x_j| / R``, with ``R`` the feature's range (max - min) over the data
  the distances are measured in (the fitted data for new customers, whose terms are capped
  at 1). A feature with no spread (R = 0) contributes 0;
- categorical feature: 0 when the two categories are equal, 1 otherwise.

``d(i, j) = sum_f w_f * delta_f(i, j) * t_f(i, j) / sum_f w_f * delta_f(i, j)`` with weights
``w_f`` (1 each by default) and ``delta_f(i, j) = 1`` when feature f is present for both i and j.

Missing values (the rule): a feature counts for a pair only when both values are present; the
distance is the weighted mean over the features present for both. A pair that has no feature
present for both gets distance 1, the largest possible (nothing shows them to be alike). A
feature missing for every customer therefore never counts. A customer with no present value
(of a feature of positive weight) is refused, with the rows named: nothing places them.

Memory: distances are computed in blocks of rows (``BLOCK_CELLS`` pairs at a time, whatever the
number of features), so the temporaries stay at a few tens of MB; only the result is n x n
(:func:`gower_distances`) or n (n - 1) / 2 (the condensed form the hierarchical trees use).
:func:`gower_silhouette` never holds more than a block.

>>> import numpy as np
>>> d = gower_distances([[1.0], [3.0], [5.0]], [["a"], ["a"], ["b"]])
>>> d.round(3).tolist()
[[0.0, 0.25, 1.0], [0.25, 0.0, 0.75], [1.0, 0.75, 0.0]]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from seglab.cluster.mixed import MISSING, MixedData, encode_parts, split_mixed
from seglab.cluster.validation import ClusteringDataError, ClusteringParameterError

__all__ = ["BLOCK_CELLS", "GowerSpace", "check_weights", "gower_distances", "gower_silhouette"]

#: Pairs of customers whose distances are computed at once; each temporary of a block holds
#: this many float64 values (8 MB), and a block needs about four of them.
BLOCK_CELLS = 1 << 20


def check_weights(weights, n_features: int) -> np.ndarray:
    """Feature weights as a float array: ones when None, else finite, >= 0, not all 0.

    >>> check_weights(None, 2).tolist()
    [1.0, 1.0]
    >>> check_weights([1, -1], 2)
    Traceback (most recent call last):
    ...
    seglab.cluster.validation.ClusteringParameterError: The 'weights' parameter must ...
    """
    if weights is None:
        return np.ones(n_features)
    values = np.asarray(weights, dtype=np.float64)
    if values.shape != (n_features,):
        raise ClusteringParameterError(
            f"The 'weights' parameter must hold one weight per feature: the data have "
            f"{n_features} feature(s), weights has shape {values.shape}."
        )
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() == 0:
        raise ClusteringParameterError(
            "The 'weights' parameter must hold finite weights >= 0, not all 0. "
            f"Got {values.tolist()} instead."
        )
    return values


@dataclass(frozen=True)
class GowerSpace:
    """The ranges and weights that define Gower distances, learnt once from a table.

    Attributes
    ----------
    ranges : ndarray of shape (n_numeric,)
        Range (max - min) of every numeric feature over its present values; NaN when a feature
        has no present value.
    numeric_weights, categorical_weights : ndarray
        Weight of every numeric and categorical feature.
    """

    ranges: np.ndarray
    numeric_weights: np.ndarray
    categorical_weights: np.ndarray

    @classmethod
    def of(cls, data: MixedData, weights=None) -> GowerSpace:
        """The space of ``data``; ``weights`` in the order numeric features, then categorical."""
        n_numeric = data.numeric.shape[1]
        w = check_weights(weights, n_numeric + data.codes.shape[1])
        present = ~np.isnan(data.numeric)
        seen = present.any(axis=0)
        low = np.where(present, data.numeric, np.inf).min(axis=0, initial=np.inf)
        high = np.where(present, data.numeric, -np.inf).max(axis=0, initial=-np.inf)
        ranges = np.where(seen, high - low, np.nan)
        return cls(ranges, w[:n_numeric], w[n_numeric:])

    def refuse_empty_rows(self, num: np.ndarray, codes: np.ndarray) -> None:
        """Raise ClusteringDataError naming the rows with no present value of a weighted feature."""
        present = np.zeros(num.shape[0], dtype=bool)
        for f in np.flatnonzero((self.numeric_weights > 0) & ~np.isnan(self.ranges)):
            present |= ~np.isnan(num[:, f])
        for f in np.flatnonzero(self.categorical_weights > 0):
            present |= codes[:, f] != MISSING
        if not present.all():
            rows = np.flatnonzero(~present)
            raise ClusteringDataError(
                f"{rows.size} row(s) have no value in any feature (rows {rows[:5].tolist()}): "
                "nothing places them among the others; drop them or fill some of their values"
            )

    # -----------------------------------------------------------------------------------------

    def _block(self, num_a, codes_a, num_b, codes_b, skip_missing: bool) -> np.ndarray:
        """Distances between the rows of (num_a, codes_a) and those of (num_b, codes_b)."""
        shape = (num_a.shape[0], num_b.shape[0])
        total = np.zeros(shape)
        weight = np.zeros(shape) if skip_missing else None
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(self.ranges > 0, 1.0 / self.ranges, 0.0)
        scale[np.isnan(self.ranges)] = np.nan
        term = np.empty(shape)
        for f, w in enumerate(self.numeric_weights):
            if w == 0:
                continue
            np.subtract.outer(num_a[:, f], num_b[:, f], out=term)
            np.abs(term, out=term)
            term *= scale[f]
            np.minimum(term, 1.0, out=term)
            if skip_missing:
                present = ~np.isnan(term)
                term[~present] = 0.0
                weight += w * present
            total += w * term
        for f, w in enumerate(self.categorical_weights):
            if w == 0:
                continue
            a, b = codes_a[:, f, None], codes_b[None, :, f]
            mismatch = a != b
            if skip_missing:
                present = (a != MISSING) & (b != MISSING)
                mismatch &= present
                weight += w * present
            total += w * mismatch
        if not skip_missing:
            return total / (self.numeric_weights.sum() + self.categorical_weights.sum())
        return np.divide(total, weight, out=np.ones(shape), where=weight > 0)

    def _skip_missing(self, *parts: np.ndarray) -> bool:
        """Whether any value of the inputs (or any whole feature) is missing."""
        nums, codes = parts[0::2], parts[1::2]
        return (
            bool(np.isnan(self.ranges[self.numeric_weights > 0]).any())
            or any(np.isnan(n).any() for n in nums)
            or any((c == MISSING).any() for c in codes)
        )

    def blocks(self, num_a, codes_a, num_b, codes_b) -> Iterator[tuple[int, int, np.ndarray]]:
        """(start, stop, distances of rows start:stop of a to every row of b), block by block."""
        skip = self._skip_missing(num_a, codes_a, num_b, codes_b)
        step = max(1, BLOCK_CELLS // max(1, num_b.shape[0]))
        for start in range(0, num_a.shape[0], step):
            stop = min(start + step, num_a.shape[0])
            block = self._block(num_a[start:stop], codes_a[start:stop], num_b, codes_b, skip)
            yield start, stop, block

    def cross(self, num_a, codes_a, num_b, codes_b) -> np.ndarray:
        """Distances between every row of a and every row of b, shape (n_a, n_b)."""
        out = np.empty((num_a.shape[0], num_b.shape[0]))
        for start, stop, block in self.blocks(num_a, codes_a, num_b, codes_b):
            out[start:stop] = block
        return out

    def nearest(self, num_a, codes_a, num_b, codes_b) -> np.ndarray:
        """Index of the nearest row of b for every row of a (the first one on ties)."""
        out = np.empty(num_a.shape[0], dtype=np.int64)
        for start, stop, block in self.blocks(num_a, codes_a, num_b, codes_b):
            out[start:stop] = block.argmin(axis=1)
        return out

    def row_sums(self, num, codes) -> np.ndarray:
        """Sum of the distances of every row to all rows (a medoid has the smallest)."""
        out = np.empty(num.shape[0])
        for start, stop, block in self.blocks(num, codes, num, codes):
            out[start:stop] = block.sum(axis=1)
        return out

    def condensed(self, num, codes) -> np.ndarray:
        """Distances of every pair i < j in SciPy's condensed order, n (n - 1) / 2 values."""
        n = num.shape[0]
        out = np.empty(n * (n - 1) // 2)
        skip = self._skip_missing(num, codes)
        start = 0
        while start < n - 1:
            stop = min(n - 1, start + max(1, BLOCK_CELLS // (n - start)))
            block = self._block(
                num[start:stop], codes[start:stop], num[start:], codes[start:], skip
            )
            for r, i in enumerate(range(start, stop)):
                offset = n * i - i * (i + 1) // 2
                out[offset : offset + n - i - 1] = block[r, r + 1 :]
            start = stop
        return out


def gower_distances(numeric, categorical, weights=None) -> np.ndarray:
    """Gower distances between all customers, shape (n_samples, n_samples).

    Parameters
    ----------
    numeric : array-like of shape (n_samples, n_numeric) or None
        Numeric features; NaN or None where missing. Ranges are taken over these rows.
    categorical : array-like of shape (n_samples, n_categorical) or None
        Categorical features (any hashable values); None, NaN or ``pd.NA`` where missing.
    weights : array-like of shape (n_numeric + n_categorical,), default=None
        Weight of every feature, numeric features first; 1 each when None.

    Returns
    -------
    distances : ndarray of shape (n_samples, n_samples)
        Symmetric, 0 on the diagonal, in [0, 1]. Holds n^2 float64 values (800 MB for 10,000
        customers): above a few thousand customers, work with a sample.

    Examples
    --------
    A missing value leaves its feature out of the pairs it belongs to:

    >>> gower_distances([[0.0], [None], [10.0]], [["a"], ["b"], ["b"]]).round(2).tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    data = encode_parts(numeric, categorical)
    space = GowerSpace.of(data, weights)
    space.refuse_empty_rows(data.numeric, data.codes)
    return space.cross(data.numeric, data.codes, data.numeric, data.codes)


def gower_silhouette(
    X, labels, categorical=None, sample_size=None, random_state=None, weights=None
) -> float:
    """Mean silhouette coefficient of a clustering, measured with Gower distances.

    The silhouette of customer i is ``(b - a) / max(a, b)`` with ``a`` the mean distance to
    the other members of its cluster and ``b`` the smallest mean distance to another cluster;
    0 for a customer alone in its cluster (scikit-learn's conventions). Computed block by
    block: memory stays at a block of distances however many customers are scored.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The customers, numeric and categorical columns (see :mod:`seglab.cluster.mixed`).
    labels : array-like of shape (n_samples,)
        Cluster of every customer.
    categorical : sequence of int or str, or None, default=None
        Positions or names of the categorical columns; None infers them from a DataFrame's
        dtypes.
    sample_size : int or None, default=None
        Score a random sample of this many customers (ranges still come from all of X); the
        sample is scikit-learn's ``silhouette_score``'s: the first ``sample_size`` of a
        permutation drawn from ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seed of the sample.
    weights : array-like of shape (n_features,), default=None
        Weight of every column of X, in X's order; 1 each when None.

    Returns
    -------
    silhouette : float
        In [-1, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"spend": [1.0, 1.2, 9.0, 9.5], "channel": list("aabb")})
    >>> round(gower_silhouette(table, [0, 0, 1, 1]), 3)
    0.979
    """
    data = split_mixed(X, categorical)
    n_samples = data.n_samples
    labels = np.asarray(labels)
    if labels.shape != (n_samples,):
        raise ClusteringDataError(
            f"labels has shape {labels.shape} but X has {n_samples} rows; pass one label per row"
        )
    n_features = data.numeric.shape[1] + data.codes.shape[1]
    w = None if weights is None else data.in_table_order(check_weights(weights, n_features))
    space = GowerSpace.of(data, w)
    space.refuse_empty_rows(data.numeric, data.codes)
    rows = np.arange(n_samples)
    if sample_size is not None:
        if (
            isinstance(sample_size, bool)
            or not isinstance(sample_size, Integral)
            or sample_size < 2
        ):
            raise ClusteringParameterError(
                f"The 'sample_size' parameter must be an int >= 2 or None. Got {sample_size!r}."
            )
        rows = check_random_state(random_state).permutation(n_samples)[:sample_size]
    _, codes = np.unique(labels[rows], return_inverse=True)
    n_labels = int(codes.max()) + 1
    if not 2 <= n_labels <= rows.size - 1:
        raise ClusteringDataError(
            f"the silhouette needs 2 to n_samples - 1 = {rows.size - 1} clusters; the "
            f"{rows.size} customers scored fall in {n_labels}"
        )
    num, cat = data.numeric[rows], data.codes[rows]
    members = np.zeros((rows.size, n_labels))
    members[np.arange(rows.size), codes] = 1.0
    sizes = members.sum(axis=0)
    scores = np.empty(rows.size)
    for start, stop, block in space.blocks(num, cat, num, cat):
        own = codes[start:stop]
        sums = block @ members
        index = np.arange(stop - start)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = sums[index, own] / (sizes[own] - 1)
            means = sums / sizes
        means[index, own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.nan_to_num((b - a) / np.maximum(a, b))
        s[sizes[own] == 1] = 0.0
        scores[start:stop] = s
    return float(scores.mean())
