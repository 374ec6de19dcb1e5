"""Quality of a clustering solution, and the choice of k with the evidence behind it.

Two steps, as elsewhere in seglab: summarise into plain data, then decide.

* :func:`evaluate_solution` measures one solution from the features ``X`` and its labels:
  inertia, silhouette (exact up to 10,000 customers, on a seeded sample above), Calinski-Harabasz,
  Davies-Bouldin, cluster sizes and, given memberships, the fuzzy validity indices. An index that
  is undefined for the solution is NaN and the reason is recorded; it never raises.
* :func:`gap_statistic` computes Tibshirani's gap over a grid of k with a clustering callable.
* :func:`choose_k` turns a tidy table of solutions (one row per k) into one vote per criterion
  and a recommended k per (feature set, scaling, algorithm).

>>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
>>> metrics = evaluate_solution(X, [0, 0, 0, 1, 1, 1])
>>> metrics.inertia, metrics.sizes, round(metrics.calinski_harabasz, 1)
(4.0, (3, 3), 150.0)
>>> evaluate_solution(X, [0] * 6).undefined["silhouette"]
'one cluster: the index compares clusters'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from seglab.cluster.fuzzy import (
    modified_partition_coefficient,
    partition_coefficient,
    partition_entropy,
    xie_beni,
)
from seglab.errors import ConfigError, DataError, SchemaError
from seglab.registry import suggest

__all__ = [
    "CRITERIA",
    "DEFAULT_CRITERIA",
    "GROUP_COLUMNS",
    "KChoice",
    "Knee",
    "SolutionMetrics",
    "choose_k",
    "evaluate_solution",
    "gap_choice",
    "gap_statistic",
    "inertia",
    "knee_point",
    "silhouette_values",
]

#: Above this many customers the silhouette is computed on a seeded random sample.
SILHOUETTE_MAX_EXACT = 10_000
#: Cells of the distance block held in memory at once by the silhouette (32 MB of float64).
_BLOCK_CELLS = 1 << 22
#: A squared distance below (this x eps x the largest |feature|) ** 2 counts as zero.
_ROUNDING = 64.0

#: Columns naming one series of solutions; ``choose_k`` votes once per combination.
GROUP_COLUMNS = ("feature_set", "scaling", "algorithm")
#: Criteria that vote for the k with the best value of a column: name -> (column, best).
CRITERIA: Mapping[str, tuple[str, str]] = {
    "silhouette": ("silhouette", "max"),
    "calinski_harabasz": ("calinski_harabasz", "max"),
    "davies_bouldin": ("davies_bouldin", "min"),
    "modified_partition_coefficient": ("modified_partition_coefficient", "max"),
    "xie_beni": ("xie_beni", "min"),
}
#: Criteria computed from the whole curve rather than the best row.
_CURVE_CRITERIA = ("inertia_knee", "gap")
DEFAULT_CRITERIA = ("inertia_knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap")


# ---------------------------------------------------------------------------------------------
# Input contract
# ---------------------------------------------------------------------------------------------


def _check_features(X: Any) -> np.ndarray:
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


def _check_labels(labels: Any, n: int, *, what: str = "labels") -> tuple[np.ndarray, np.ndarray]:
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


def _check_solution(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, distinct labels and codes; a DataFrame and a Series must share their index."""
    both = isinstance(X, pd.DataFrame) and isinstance(labels, pd.Series)
    if both and not X.index.equals(labels.index):
        raise DataError(
            "labels and X have different indexes; align them (labels.reindex(X.index)) "
            "so that each customer keeps their own label"
        )
    values = _check_features(X)
    classes, codes = _check_labels(labels, values.shape[0])
    return values, classes, codes


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


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
    values, classes, codes = _check_solution(X, labels)
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
    step = max(1, _BLOCK_CELLS // n)
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        totals = cdist(X[rows], X) @ indicator  # distance from each row to each cluster, summed
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
    max_exact = _check_int("silhouette_max_exact", silhouette_max_exact, 2)
    sample_size = max_exact if silhouette_sample_size is None else silhouette_sample_size
    sample_size = _check_int("silhouette_sample_size", sample_size, 2)
    if sample_size > max_exact:
        raise ConfigError(
            f"silhouette_sample_size ({sample_size}) must be at most silhouette_max_exact "
            f"({max_exact})"
        )
    seed = _check_int("random_state", random_state, 0)
    if isinstance(m, bool) or not isinstance(m, Real) or not m > 1:
        raise ConfigError(f"m must be a number > 1; got {m!r}")

    values, classes, codes = _check_solution(X, labels)
    part = _Partition(values, codes, len(classes))
    silhouette, sampled, used, silhouette_why = _silhouette(
        values, codes, part.k, max_exact, sample_size, seed
    )
    ch, ch_why = _calinski_harabasz(part)
    db, db_why = _davies_bouldin(part, classes)
    reasons = {"silhouette": silhouette_why, "calinski_harabasz": ch_why, "davies_bouldin": db_why}
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
        inertia=part.inertia,
        silhouette=silhouette,
        silhouette_sampled=sampled,
        silhouette_n=used,
        calinski_harabasz=ch,
        davies_bouldin=db,
        undefined=undefined,
        **fuzzy,
    )


# ---------------------------------------------------------------------------------------------
# Curves over k: knee of the inertia curve, gap statistic
# ---------------------------------------------------------------------------------------------


class Knee(NamedTuple):
    """The knee of a decreasing curve: its k (None when there is none) and its distance."""

    k: int | None
    distance: float


def knee_point(ks: Sequence[int], values: Sequence[float]) -> Knee:
    """Knee of a decreasing curve (e.g. inertia over k): the point farthest below its chord.

    Kneedle-style: k and the values are each rescaled to [0, 1] (min-max); the chord joins the
    first and the last point; the knee is the k whose rescaled value lies farthest below the
    chord, measured vertically (proportional to the perpendicular distance, so the same k).
    Ties go to the smaller k. There is no knee (``k=None``) with fewer than 3 points, or when no
    point lies below the chord (a straight or concave curve). The knee depends on the range of
    k examined.

    Parameters
    ----------
    ks : sequence of int
        Distinct values of k, in any order.
    values : sequence of float
        The curve at each k, finite.

    Returns
    -------
    Knee
        ``distance`` is the vertical gap to the chord in rescaled units, between 0 and 1.

    Examples
    --------
    >>> knee_point([1, 2, 3, 4, 5, 6], [100.0, 40.0, 12.0, 10.0, 9.0, 8.0])
    Knee(k=3, distance=0.556...)
    >>> knee_point([1, 2, 3], [3.0, 2.0, 1.0])  # a straight line has no knee
    Knee(k=None, distance=0.0)
    """
    x = np.asarray(ks, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise DataError(f"ks and values differ in shape: {x.shape} and {y.shape}")
    if not np.isfinite(y).all():
        raise DataError("the curve has NaN or infinite values; drop those k first")
    if len(np.unique(x)) != len(x):
        raise DataError(f"ks repeat a value: {sorted(ks)}")
    if len(x) < 3:
        return Knee(None, 0.0)
    order = np.argsort(x)
    x, y = x[order], y[order]
    x = (x - x[0]) / (x[-1] - x[0])
    spread = y.max() - y.min()
    y = (y - y.min()) / spread if spread > 0 else np.zeros_like(y)
    below = (y[0] + (y[-1] - y[0]) * x) - y
    best = int(np.argmax(below))
    if below[best] <= 1e-12:
        return Knee(None, 0.0)
    return Knee(int(np.asarray(ks)[order][best]), float(below[best]))


def _reference_box(X: np.ndarray) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler of uniform data in the box aligned with the principal components of ``X``."""
    mean = X.mean(axis=0)
    _, _, axes = np.linalg.svd(X - mean, full_matrices=False)
    projected = (X - mean) @ axes.T
    low, high = projected.min(axis=0), projected.max(axis=0)

    def draw(rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(low, high, size=(X.shape[0], len(low))) @ axes + mean

    return draw


def _log_dispersion(X: np.ndarray, labels: Any, k: int) -> float:
    classes, codes = _check_labels(labels, X.shape[0], what=f"the labels returned for k={k}")
    with np.errstate(divide="ignore"):
        return float(np.log(_Partition(X, codes, len(classes)).inertia))


def gap_statistic(
    X: Any,
    ks: Iterable[int],
    cluster: Callable[[np.ndarray, int], Any],
    *,
    n_references: int = 10,
    random_state: int = 0,
) -> pd.DataFrame:
    """Gap statistic (Tibshirani, Walther and Hastie 2001) over a grid of k.

    ``W_k`` is the within-cluster sum of squares of ``cluster(X, k)`` (the paper's pooled
    dispersion for squared Euclidean distance). Each of ``n_references`` reference data sets has
    as many rows as ``X``, drawn uniformly in the box aligned with the principal components of
    ``X`` (the paper's second method) and clustered with the same callable.
    ``Gap(k) = mean_b log W*_kb - log W_k``; ``sd_k`` is the standard deviation of the
    ``log W*_kb`` (divisor B) and ``gap_se = sd_k * sqrt(1 + 1/B)``. k = 1 is always included:
    it needs no clustering, and it is the answer on data without cluster structure.

    Parameters
    ----------
    X : array-like of shape (n_customers, n_features)
        The clustered (scaled) features.
    ks : iterable of int
        Values of k, each between 1 and the number of customers.
    cluster : callable
        ``cluster(X, k) -> labels``, the algorithm of the solutions with its seed fixed, e.g.
        ``lambda X, k: KMeans(k, n_init=4, random_state=0).fit_predict(X)``.
    n_references : int, default=10
        Number B of reference data sets.
    random_state : int, default=0
        Seed of the reference data sets.

    Returns
    -------
    DataFrame
        One row per k, ascending: ``k``, ``log_w``, ``ref_log_w`` (mean over references),
        ``gap``, ``sd``, ``gap_se``, ``n_references``. Pass it to :func:`gap_choice` or, with the
        grid's group columns added, to :func:`choose_k`.
    """
    values = _check_features(X)
    n_references = _check_int("n_references", n_references, 1)
    rng = np.random.default_rng(_check_int("random_state", random_state, 0))
    grid = sorted({1, *(_check_int("each k", k, 1) for k in ks)})
    if grid[-1] > values.shape[0]:
        raise DataError(f"cannot make k={grid[-1]} clusters from {values.shape[0]} customers")

    def log_w(data: np.ndarray, k: int) -> float:
        labels = np.zeros(data.shape[0], dtype=np.int64) if k == 1 else cluster(data, k)
        return _log_dispersion(data, labels, k)

    observed = np.array([log_w(values, k) for k in grid])
    draw = _reference_box(values)
    reference = np.empty((n_references, len(grid)))
    for b in range(n_references):
        data = draw(rng)
        reference[b] = [log_w(data, k) for k in grid]
    sd = reference.std(axis=0)
    with np.errstate(invalid="ignore"):
        gap = reference.mean(axis=0) - observed
    return pd.DataFrame(
        {
            "k": grid,
            "log_w": observed,
            "ref_log_w": reference.mean(axis=0),
            "gap": gap,
            "sd": sd,
            "gap_se": sd * math.sqrt(1 + 1 / n_references),
            "n_references": n_references,
        }
    )


def gap_choice(gap: pd.DataFrame) -> int:
    """The smallest k with ``Gap(k) >= Gap(k') - gap_se(k')``, k' the next k of the table.

    Tibshirani's 1-standard-error rule; on a grid with holes the next k is the next one present.
    When no k meets the rule the largest k is returned (the curve still rises: try larger k).

    Parameters
    ----------
    gap : DataFrame
        Columns ``k``, ``gap`` and ``gap_se``, as returned by :func:`gap_statistic`.

    Returns
    -------
    int

    Examples
    --------
    >>> table = pd.DataFrame({"k": [1, 2, 3, 4], "gap": [0.1, 0.5, 0.9, 0.95],
    ...                       "gap_se": [0.02, 0.02, 0.02, 0.1]})
    >>> gap_choice(table)
    3
    """
    _require(gap, ["k", "gap", "gap_se"], "the gap table")
    table = gap.sort_values("k")
    ks = table["k"].to_numpy()
    values = table["gap"].to_numpy(dtype=np.float64)
    se = table["gap_se"].to_numpy(dtype=np.float64)
    for i in range(len(ks) - 1):
        if values[i] >= values[i + 1] - se[i + 1]:
            return int(ks[i])
    return int(ks[-1])


# ---------------------------------------------------------------------------------------------
# Choice of k
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KChoice:
    """The evidence for k and the decision, as two tidy tables.

    Attributes
    ----------
    votes : DataFrame
        One row per group and criterion: the group columns, ``criterion``, ``k`` (the k voted
        for, nullable: <NA> when the criterion abstains), ``value`` (the criterion at that k)
        and ``note`` (why it abstained, or a caveat; "" otherwise). The knee's value is its
        distance below the chord (:func:`knee_point`), the gap's the Gap of the k it chose.
    recommended : DataFrame
        One row per group: the group columns, ``recommended_k`` (nullable), ``votes`` (for it),
        ``n_voting`` (criteria that voted), ``voters`` (their names, comma separated) and
        ``tied_with`` (other k with as many votes, comma separated, "" when none).
    """

    votes: pd.DataFrame
    recommended: pd.DataFrame


def _require(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"{what} lacks columns {missing}; it has {list(table.columns)}. Build it from "
            "SolutionMetrics.to_dict() rows plus the group columns and 'k'"
        )


def _vote_best(ks: np.ndarray, values: np.ndarray, best: str, column: str) -> tuple:
    """(k, value, note) for the best finite value; ties go to the smaller k (``ks`` ascend)."""
    defined = ~np.isnan(values)
    if not defined.any():
        return None, math.nan, f"{column} is undefined for every k"
    candidates = np.where(defined, values, -np.inf if best == "max" else np.inf)
    i = int(np.argmax(candidates) if best == "max" else np.argmin(candidates))
    return int(ks[i]), float(values[i]), ""


def _vote_knee(ks: np.ndarray, values: np.ndarray) -> tuple:
    defined = np.isfinite(values)
    knee = knee_point(ks[defined], values[defined])
    if knee.k is None:
        return None, math.nan, "no knee: fewer than 3 k, or the inertia curve does not bend"
    return knee.k, knee.distance, ""


def _vote_gap(ks: np.ndarray, gap: pd.DataFrame | None) -> tuple:
    if gap is None or gap.empty:
        return None, math.nan, "no gap statistic for this group"
    k = gap_choice(gap)
    value = float(gap.loc[gap["k"] == k, "gap"].iloc[0])
    if k == gap["k"].max() and len(gap) > 1:
        note = "the 1-SE rule never held: largest k of the gap table; try larger k"
    else:
        note = ""
    if k in ks:
        return k, value, note
    if k == 1:
        note = "gap chose k=1 (no cluster structure); voting for the smallest k of the grid"
        return int(ks.min()), value, note
    return None, value, f"gap chose k={k}, which is not among the solutions"


def _recommend(votes: list[tuple[str, int | None]]) -> dict[str, Any]:
    """Most voted k; ties go to the smaller k (simpler segmentations are preferred)."""
    cast = [(name, k) for name, k in votes if k is not None]
    if not cast:
        return {"recommended_k": pd.NA, "votes": 0, "n_voting": 0, "voters": "", "tied_with": ""}
    tally = Counter(k for _, k in cast)
    top = max(tally.values())
    tied = sorted(k for k, count in tally.items() if count == top)
    k = tied[0]
    return {
        "recommended_k": k,
        "votes": top,
        "n_voting": len(cast),
        "voters": ", ".join(name for name, voted in cast if voted == k),
        "tied_with": ", ".join(str(other) for other in tied[1:]),
    }


def _check_criteria(criteria: Sequence[str]) -> tuple[str, ...]:
    known = [*_CURVE_CRITERIA, *CRITERIA]
    if isinstance(criteria, str) or not criteria:
        raise ConfigError(f"criteria must be a non-empty list of names among {known}")
    for name in criteria:
        if name not in known:
            hint = suggest(str(name), known)
            raise ConfigError(f"unknown criterion '{name}'{hint or '.'} Known: {', '.join(known)}.")
    if len(set(criteria)) != len(criteria):
        raise ConfigError(f"criteria repeat a name: {list(criteria)}")
    return tuple(criteria)


def _groups(table: pd.DataFrame, by: list[str]) -> dict[tuple, pd.DataFrame]:
    if not by:
        return {(): table}
    return {key: part for key, part in table.groupby(by, sort=True, dropna=False)}


def choose_k(
    solutions: pd.DataFrame,
    *,
    gap: pd.DataFrame | None = None,
    by: Sequence[str] = GROUP_COLUMNS,
    criteria: Sequence[str] = DEFAULT_CRITERIA,
) -> KChoice:
    """Vote for k with several criteria and recommend the most voted k, per group.

    Each criterion votes for one k of the group's solutions: ``inertia_knee`` for the knee of the
    inertia curve (:func:`knee_point`); ``silhouette``, ``calinski_harabasz`` and
    ``modified_partition_coefficient`` for their largest value; ``davies_bouldin`` and
    ``xie_beni`` for their smallest (exact ties go to the smaller k); ``gap`` for
    :func:`gap_choice` of the group's gap table. When the gap picks k = 1 and the grid lacks it,
    the gap votes for the grid's smallest k and says so in ``note``. A criterion abstains
    (k = <NA>, with a note) when it is undefined for every k, has no knee, or has no gap table.
    The recommended k has the most votes; ties go to the smallest k, as simpler segmentations
    are preferred.

    Parameters
    ----------
    solutions : DataFrame
        One row per solution: the ``by`` columns, ``k`` and the criteria's columns (``inertia``,
        ``silhouette``, ...: the keys of :meth:`SolutionMetrics.to_dict`). NaN means undefined.
    gap : DataFrame, optional
        :func:`gap_statistic` tables stacked, with the ``by`` columns added.
    by : sequence of str, default=("feature_set", "scaling", "algorithm")
        Columns naming a series of solutions; empty for a single series.
    criteria : sequence of str, default=DEFAULT_CRITERIA
        Criteria that vote, among ``"inertia_knee"``, ``"gap"`` and the keys of ``CRITERIA``.

    Returns
    -------
    KChoice

    Examples
    --------
    >>> solutions = pd.DataFrame({
    ...     "k": [2, 3, 4, 5],
    ...     "inertia": [90.0, 30.0, 25.0, 22.0],
    ...     "silhouette": [0.5, 0.7, 0.6, 0.55],
    ...     "calinski_harabasz": [200.0, 400.0, 350.0, 300.0],
    ...     "davies_bouldin": [0.9, 0.5, 0.6, 0.7]})
    >>> choice = choose_k(solutions, by=[])
    >>> choice.recommended[["recommended_k", "votes", "n_voting"]].to_dict("records")
    [{'recommended_k': 3, 'votes': 4, 'n_voting': 4}]
    >>> choice.votes.loc[choice.votes["criterion"] == "gap", "note"].item()
    'no gap statistic for this group'
    """
    by = list(by)
    criteria = _check_criteria(criteria)
    needed = [CRITERIA[name][0] for name in criteria if name in CRITERIA]
    needed += ["inertia"] if "inertia_knee" in criteria else []
    _require(solutions, [*by, "k", *needed], "the solutions table")
    gaps = {}
    if gap is not None and "gap" in criteria:
        _require(gap, [*by, "k", "gap", "gap_se"], "the gap table")
        gaps = _groups(gap, by)

    vote_rows, recommended_rows = [], []
    for key, group in _groups(solutions, by).items():
        labels = dict(zip(by, key, strict=True))
        repeated = group["k"][group["k"].duplicated()]
        if not repeated.empty:
            raise DataError(f"the solutions of {labels or 'the table'} repeat k={repeated.iloc[0]}")
        group = group.sort_values("k")
        ks = group["k"].to_numpy(dtype=np.int64)
        cast = []
        for name in criteria:
            if name == "inertia_knee":
                k, value, note = _vote_knee(ks, group["inertia"].to_numpy(dtype=np.float64))
            elif name == "gap":
                k, value, note = _vote_gap(ks, gaps.get(key))
            else:
                column, best = CRITERIA[name]
                values = group[column].to_numpy(dtype=np.float64)
                k, value, note = _vote_best(ks, values, best, column)
            vote_rows.append({**labels, "criterion": name, "k": k, "value": value, "note": note})
            cast.append((name, k))
        recommended_rows.append({**labels, **_recommend(cast)})

    votes = pd.DataFrame(vote_rows, columns=[*by, "criterion", "k", "value", "note"])
    votes["k"] = votes["k"].astype("Int64")
    recommended = pd.DataFrame(
        recommended_rows,
        columns=[*by, "recommended_k", "votes", "n_voting", "voters", "tied_with"],
    )
    recommended["recommended_k"] = recommended["recommended_k"].astype("Int64")
    return KChoice(votes=votes, recommended=recommended)


def silhouette_values(
    X: Any, labels: Any, *, max_points: int = 2_000, random_state: int = 0
) -> pd.DataFrame:
    """Per-customer silhouette on a seeded sample of at most `max_points`, for plots.

    Returns a DataFrame with ``row`` (position in `X`), ``cluster`` and ``silhouette``.
    """
    from sklearn.metrics import silhouette_samples

    values, classes, codes = _check_solution(X, labels)
    rows = np.arange(len(values))
    if len(rows) > max_points:
        rng = np.random.default_rng(_check_int("random_state", random_state, 0))
        rows = np.sort(rng.choice(len(rows), max_points, replace=False))
    if len(np.unique(codes[rows])) < 2:
        return pd.DataFrame({"row": rows, "cluster": classes[codes[rows]], "silhouette": 0.0})
    scores = silhouette_samples(values[rows], codes[rows])
    return pd.DataFrame({"row": rows, "cluster": classes[codes[rows]], "silhouette": scores})
