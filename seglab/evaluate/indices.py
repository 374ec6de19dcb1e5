"""Internal quality indices of a clustering solution: measured, never decided here.

:func:`evaluate_solution` measures one solution from the features ``X`` and its labels:
inertia, silhouette (exact up to 10,000 customers, on a seeded sample above), Calinski-Harabasz,
Davies-Bouldin, cluster sizes and, given memberships, the fuzzy validity indices. An index that
is undefined for the solution is NaN and the reason is recorded; it never raises. With
categorical columns (a mixed feature set) the silhouette is measured on Gower distances, and
the indices built on cluster means (inertia, Calinski-Harabasz, Davies-Bouldin) are NaN: a
category has no mean.

>>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
>>> metrics = evaluate_solution(X, [0, 0, 0, 1, 1, 1])
>>> metrics.inertia, metrics.sizes, round(metrics.calinski_harabasz, 1)
(4.0, (3, 3), 150.0)
>>> evaluate_solution(X, [0] * 6).undefined["silhouette"]
'one cluster: the index compares clusters'
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.utils import check_random_state

from seglab.checks import check_int, check_solution
from seglab.cluster.gower import gower_silhouette
from seglab.errors import ConfigError, DataError
from seglab.evaluate.validity import (
    modified_partition_coefficient,
    partition_coefficient,
    partition_entropy,
    xie_beni,
)

__all__ = [
    "SILHOUETTE_MAX_EXACT",
    "SolutionMetrics",
    "evaluate_solution",
    "inertia",
    "reuse_distances",
    "silhouette_values",
]

#: Above this many customers the silhouette is computed on a seeded random sample.
SILHOUETTE_MAX_EXACT = 10_000
#: Cells of the distance block held in memory at once by the silhouette (32 MB of float64).
_BLOCK_CELLS = 1 << 22
#: Inside :func:`reuse_distances`, the distances among at most this many pairs of customers
#: (72 MB of float64: a silhouette sample of 3,000) are kept for the next solution.
_KEPT_CELLS = 3_000 * 3_000
#: A squared distance below (this x eps x the largest |feature|) ** 2 counts as zero.
_ROUNDING = 64.0
#: Why the indices built on cluster means are NaN for a mixed feature set.
_NO_MEANS = "mixed feature set: a category has no mean, and the numbers alone ignore the categories"


# ---------------------------------------------------------------------------------------------
# One solution
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SolutionMetrics:
    """The internal quality indices of one clustering solution.

    NaN means undefined or not applicable; ``undefined`` says why for every index that the
    solution leaves undefined. The fuzzy indices are NaN (without a reason) for hard solutions.
    """

    n_customers: int
    n_clusters: int
    sizes: tuple[int, ...]
    smallest_share: float
    inertia: float
    silhouette: float
    silhouette_sampled: bool
    silhouette_n: int
    calinski_harabasz: float
    davies_bouldin: float
    partition_coefficient: float = math.nan
    partition_entropy: float = math.nan
    modified_partition_coefficient: float = math.nan
    xie_beni: float = math.nan
    undefined: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """One flat row for a tidy table; the reasons are joined into ``notes``."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "undefined"}
        row["notes"] = "; ".join(f"{name}: {why}" for name, why in self.undefined.items())
        return row


def inertia(X: Any, labels: Any) -> float:
    """Within-cluster sum of squared Euclidean distances to the cluster means.

    Computed from ``X`` and ``labels`` (never read from an estimator), so every algorithm is
    measured the same way.

    Parameters
    ----------
    X : array-like of shape (n_customers, n_features)
        The clustered (scaled) features.
    labels : array-like of shape (n_customers,)
        Cluster of each customer; any sortable values.

    Returns
    -------
    float

    Examples
    --------
    >>> inertia([[0.0], [2.0], [5.0], [7.0]], ["a", "a", "b", "b"])  # 1 + 1 + 1 + 1
    4.0
    """
    values, classes, codes = check_solution(X, labels)
    return _Partition(values, codes, len(classes)).inertia


class _Partition:
    """Cluster means and squared distances to them, shared by several indices."""

    def __init__(self, X: np.ndarray, codes: np.ndarray, k: int) -> None:
        self.n, self.k, self.codes = X.shape[0], k, codes
        self.counts = np.bincount(codes, minlength=k)
        sums = np.column_stack([np.bincount(codes, weights=col, minlength=k) for col in X.T])
        self.centres = sums / self.counts[:, None]
        residuals = X - self.centres[codes]
        self.squared = np.einsum("ij,ij->i", residuals, residuals)
        self.inertia = float(self.squared.sum())
        self.mean = X.mean(axis=0)
        scale = float(np.abs(X).max())
        #: squared distances at or below this are rounding noise, i.e. zero
        self.zero = (_ROUNDING * np.finfo(np.float64).eps * scale) ** 2


def _domain(n: int, k: int) -> str | None:
    """Why silhouette, Calinski-Harabasz and Davies-Bouldin are undefined (2 <= k <= n - 1)."""
    if k < 2:
        return "one cluster: the index compares clusters"
    if k >= n:
        return "every customer is its own cluster (k = n): there is no within-cluster spread"
    return None


def _calinski_harabasz(part: _Partition) -> tuple[float, str | None]:
    """``(B / (k - 1)) / (W / (n - k))``: between over within dispersion, higher is better."""
    reason = _domain(part.n, part.k)
    if reason:
        return math.nan, reason
    if part.inertia <= part.n * part.zero:
        return math.nan, "within-cluster dispersion is zero (each cluster is one repeated point)"
    gaps = part.centres - part.mean
    between = float(np.dot(part.counts, np.einsum("ij,ij->i", gaps, gaps)))
    return between * (part.n - part.k) / (part.inertia * (part.k - 1)), None


def _davies_bouldin(part: _Partition, classes: np.ndarray) -> tuple[float, str | None]:
    """Mean over clusters of the worst ``(s_i + s_j) / d_ij``, lower is better.

    ``s_i`` is the mean Euclidean distance of cluster i's customers to its mean and ``d_ij`` the
    distance between the means of clusters i and j.
    """
    reason = _domain(part.n, part.k)
    if reason:
        return math.nan, reason
    between = cdist(part.centres, part.centres, "sqeuclidean")
    np.fill_diagonal(between, np.inf)
    if (between <= part.zero).any():
        i, j = np.argwhere(between <= part.zero)[0]
        return math.nan, f"the means of clusters {classes[i]} and {classes[j]} coincide"
    scatter = np.bincount(part.codes, weights=np.sqrt(part.squared), minlength=part.k)
    scatter = scatter / part.counts
    ratios = (scatter[:, None] + scatter[None, :]) / np.sqrt(between)
    return float(ratios.max(axis=1).mean()), None


_kept = threading.local()


@contextmanager
def reuse_distances() -> Iterator[None]:
    """Within this block, the silhouette computes the pairwise distances of its customers (or
    its sample) once and reuses them for every solution on the same features: a grid job
    measures one scaled table at each k. At most ``_KEPT_CELLS`` distances are kept."""
    _kept.distances = {}
    try:
        yield
    finally:
        _kept.distances = None


def _kept_distances(X: np.ndarray) -> np.ndarray | None:
    """The pairwise distances of the rows of `X` when :func:`reuse_distances` keeps them."""
    kept = getattr(_kept, "distances", None)
    if kept is None or X.shape[0] ** 2 > _KEPT_CELLS:
        return None
    key = (X.shape, hashlib.sha1(np.ascontiguousarray(X).tobytes()).digest())
    if key not in kept:
        kept.clear()
        kept[key] = cdist(X, X)
    return kept[key]


def _silhouette_exact(X: np.ndarray, codes: np.ndarray, k: int) -> float:
    """Mean silhouette (Rousseeuw 1987) with Euclidean distances, in row blocks.

    ``s(i) = (b - a) / max(a, b)`` with ``a`` the mean distance to the other members of the
    customer's cluster and ``b`` the smallest mean distance to another cluster; ``s(i) = 0``
    for a customer alone in their cluster, and when ``a = b = 0`` (as scikit-learn does).
    Memory stays near ``_BLOCK_CELLS`` floats whatever the number of customers.
    """
    n = X.shape[0]
    counts = np.bincount(codes, minlength=k)
    indicator = np.zeros((n, k))
    indicator[np.arange(n), codes] = 1.0
    scores = np.zeros(n)
    distances = _kept_distances(X)
    step = max(1, _BLOCK_CELLS // n)
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        block = cdist(X[rows], X) if distances is None else distances[rows]
        totals = block @ indicator  # distance from each row to each cluster, summed
        own = codes[rows]
        size = counts[own]
        at = (np.arange(totals.shape[0]), own)
        a = totals[at] / np.maximum(size - 1, 1)
        means = totals / counts
        means[at] = np.inf
        b = means.min(axis=1)
        top = np.maximum(a, b)
        np.divide(b - a, top, out=scores[rows], where=(size > 1) & (top > 0))
    return float(scores.mean())


def _silhouette(
    X: np.ndarray, codes: np.ndarray, k: int, max_exact: int, sample_size: int, seed: int
) -> tuple[float, bool, int, str | None]:
    """Silhouette, whether it was sampled, the customers it used, and why it is undefined."""
    n = X.shape[0]
    sampled = n > max_exact
    if sampled:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))
        X = X[rows]
        codes = np.unique(codes[rows], return_inverse=True)[1].reshape(-1)
        k = int(codes.max()) + 1
    reason = _domain(X.shape[0], k)
    if reason:
        return math.nan, sampled, X.shape[0], reason + (" (in the sample)" if sampled else "")
    return _silhouette_exact(X, codes, k), sampled, X.shape[0], None


def _gower_silhouette(
    X: np.ndarray, codes: np.ndarray, k: int, categorical: list[int], max_exact: int,
    sample_size: int, seed: int,
) -> tuple[float, bool, int, str | None]:  # fmt: skip
    """:func:`_silhouette` on Gower distances, the columns `categorical` being categories."""
    n = X.shape[0]
    sampled = n > max_exact
    used = sample_size if sampled else n
    if sampled:
        k = np.unique(codes[check_random_state(seed).permutation(n)[:used]]).size  # its sample
    reason = _domain(used, k)
    if reason:
        return math.nan, sampled, used, reason + (" (in the sample)" if sampled else "")
    size = used if sampled else None
    score = gower_silhouette(X, codes, categorical, sample_size=size, random_state=seed)
    return score, sampled, used, None


def _fuzzy(
    X: np.ndarray, memberships: Any, centres: Any, m: float
) -> tuple[dict[str, float], dict[str, str]]:
    """Partition coefficient and entropy, modified partition coefficient and Xie-Beni."""
    u = np.asarray(memberships, dtype=np.float64)
    if u.ndim != 2 or u.shape[0] != X.shape[0]:
        raise DataError(
            f"memberships have shape {u.shape} but X has {X.shape[0]} rows; pass the "
            "(n_customers, n_clusters) matrix of the fitted model (memberships_)"
        )
    if centres is None:
        weights = u**m
        centres = (weights.T @ X) / weights.sum(axis=0)[:, None]
    values = {"partition_coefficient": partition_coefficient(u)}
    values["partition_entropy"] = partition_entropy(u)
    reasons = {}
    if u.shape[1] < 2:
        for name in ("modified_partition_coefficient", "xie_beni"):
            values[name] = math.nan
            reasons[name] = "one cluster: the index compares clusters"
        return values, reasons
    values["modified_partition_coefficient"] = modified_partition_coefficient(u)
    values["xie_beni"] = xie_beni(X, u, centres, m)
    if math.isinf(values["xie_beni"]):
        reasons["xie_beni"] = "two cluster centres coincide (infinitely poor separation)"
    return values, reasons


def evaluate_solution(
    X: Any,
    labels: Any,
    *,
    memberships: Any = None,
    centres: Any = None,
    m: float = 2.0,
    silhouette_max_exact: int = SILHOUETTE_MAX_EXACT,
    silhouette_sample_size: int | None = None,
    random_state: int = 0,
    categorical: Sequence[int] = (),
) -> SolutionMetrics:
    """Measure one clustering solution.

    Parameters
    ----------
    X : array-like of shape (n_customers, n_features)
        The features the solution clustered (scaled), finite.
    labels : array-like of shape (n_customers,)
        Cluster of each customer; any sortable values. For a fuzzy solution, the hard labels.
    memberships : array-like of shape (n_customers, n_clusters), optional
        Fuzzy memberships (rows sum to 1), e.g. ``FuzzyCMeans.memberships_``. Given, the fuzzy
        validity indices are computed; their columns need not match the label values.
    centres : array-like of shape (n_clusters, n_features), optional
        Centres in the column order of ``memberships`` (``cluster_centers_``), for Xie-Beni;
        by default the membership-weighted means ``sum_i u_ij^m x_i / sum_i u_ij^m``.
    m : float, default=2.0
        Fuzzifier of the fuzzy solution, used by Xie-Beni and the default centres.
    silhouette_max_exact : int, default=10_000
        Largest number of customers for which the silhouette is exact. Above it the silhouette
        is the exact silhouette of a random sample, drawn without replacement.
    silhouette_sample_size : int, optional
        Size of that sample, at most ``silhouette_max_exact`` (the default).
    random_state : int, default=0
        Seed of the silhouette sample, the only randomness.
    categorical : sequence of int, default=()
        Positions of the columns of ``X`` that hold category codes (a mixed feature set). Given,
        the silhouette is measured on Gower distances (:func:`~seglab.cluster.gower.
        gower_silhouette`, on the same kind of seeded sample), and inertia, Calinski-Harabasz
        and Davies-Bouldin are NaN with the reason.

    Returns
    -------
    SolutionMetrics
        ``sizes`` follow the sorted label values. Silhouette, Calinski-Harabasz and
        Davies-Bouldin need 2 <= k <= n - 1 and are NaN otherwise; Calinski-Harabasz is also NaN
        when the within-cluster dispersion is zero, Davies-Bouldin when two cluster means
        coincide. Each NaN has its reason in ``undefined``.

    Raises
    ------
    DataError
        NaN or infinite features, labels of the wrong length, memberships of the wrong shape.
    ConfigError
        A parameter out of range.
    """
    max_exact = check_int("silhouette_max_exact", silhouette_max_exact, 2)
    sample_size = max_exact if silhouette_sample_size is None else silhouette_sample_size
    sample_size = check_int("silhouette_sample_size", sample_size, 2)
    if sample_size > max_exact:
        raise ConfigError(
            f"silhouette_sample_size ({sample_size}) must be at most silhouette_max_exact "
            f"({max_exact})"
        )
    seed = check_int("random_state", random_state, 0)
    if isinstance(m, bool) or not isinstance(m, Real) or not m > 1:
        raise ConfigError(f"m must be a number > 1; got {m!r}")

    values, classes, codes = check_solution(X, labels)
    part = _Partition(values, codes, len(classes))
    if len(categorical):
        silhouette, sampled, used, silhouette_why = _gower_silhouette(
            values, codes, part.k, list(categorical), max_exact, sample_size, seed
        )
        inertia_value, (ch, ch_why), (db, db_why) = (
            math.nan,
            (math.nan, _NO_MEANS),
            (math.nan, _NO_MEANS),
        )
    else:
        silhouette, sampled, used, silhouette_why = _silhouette(
            values, codes, part.k, max_exact, sample_size, seed
        )
        inertia_value = part.inertia
        ch, ch_why = _calinski_harabasz(part)
        db, db_why = _davies_bouldin(part, classes)
    reasons = {"silhouette": silhouette_why, "calinski_harabasz": ch_why, "davies_bouldin": db_why}
    if len(categorical):
        reasons = {"inertia": _NO_MEANS, **reasons}
    undefined = {name: why for name, why in reasons.items() if why}
    fuzzy: dict[str, float] = {}
    if memberships is not None:
        fuzzy, fuzzy_why = _fuzzy(values, memberships, centres, float(m))
        undefined.update(fuzzy_why)
    return SolutionMetrics(
        n_customers=part.n,
        n_clusters=part.k,
        sizes=tuple(int(c) for c in part.counts),
        smallest_share=float(part.counts.min() / part.n),
        inertia=inertia_value,
        silhouette=silhouette,
        silhouette_sampled=sampled,
        silhouette_n=used,
        calinski_harabasz=ch,
        davies_bouldin=db,
        undefined=undefined,
        **fuzzy,
    )


def silhouette_values(
    X: Any, labels: Any, *, max_points: int = 2_000, random_state: int = 0
) -> pd.DataFrame:
    """Per-customer silhouette on a seeded sample of at most `max_points`, for plots.

    Returns a DataFrame with ``row`` (position in `X`), ``cluster`` and ``silhouette``.
    """
    from sklearn.metrics import silhouette_samples

    values, classes, codes = check_solution(X, labels)
    rows = np.arange(len(values))
    if len(rows) > max_points:
        rng = np.random.default_rng(check_int("random_state", random_state, 0))
        rows = np.sort(rng.choice(len(rows), max_points, replace=False))
    if len(np.unique(codes[rows])) < 2:
        return pd.DataFrame({"row": rows, "cluster": classes[codes[rows]], "silhouette": 0.0})
    scores = silhouette_samples(values[rows], codes[rows])
    return pd.DataFrame({"row": rows, "cluster": classes[codes[rows]], "silhouette": scores})
