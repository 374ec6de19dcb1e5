"""The choice of k with the evidence behind it: the knee, the gap statistic and the vote.

* :func:`gap_statistic` computes Tibshirani's gap over a grid of k with a clustering callable.
* :func:`choose_k` turns a tidy table of solutions (one row per k) into one vote per criterion
  and a recommended k per (feature set, scaling, algorithm).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from seglab.checks import check_int, check_labels, check_matrix
from seglab.errors import ConfigError, DataError, SchemaError
from seglab.evaluate.indices import inertia
from seglab.registry import suggest

__all__ = [
    "CRITERIA",
    "DECISIVE_CRITERIA",
    "DEFAULT_CRITERIA",
    "GROUP_COLUMNS",
    "KChoice",
    "Knee",
    "choose_k",
    "gap_choice",
    "gap_statistic",
    "knee_point",
]

#: Columns naming one series of solutions; ``choose_k`` votes once per combination.
GROUP_COLUMNS = ("feature_set", "scaling", "algorithm")
#: Criteria that vote for the k with the best value of a column: name -> (column, best).
CRITERIA: Mapping[str, tuple[str, str]] = {
    "silhouette": ("silhouette", "max"),
    "calinski_harabasz": ("calinski_harabasz", "max"),
    "davies_bouldin": ("davies_bouldin", "min"),
    "modified_partition_coefficient": ("modified_partition_coefficient", "max"),
    "xie_beni": ("xie_beni", "min"),
    "bic": ("bic", "min"),
    "aic": ("aic", "min"),
}
#: Criteria of a probabilistic model that choose k in the series measuring them (mclust's rule).
DECISIVE_CRITERIA = ("bic",)
#: Criteria computed from the whole curve rather than the best row.
_CURVE_CRITERIA = ("inertia_knee", "gap")
DEFAULT_CRITERIA = ("inertia_knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap")


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
    codes = check_labels(labels, X.shape[0], what=f"the labels returned for k={k}")[1]
    with np.errstate(divide="ignore"):
        return float(np.log(inertia(X, codes)))


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
    values = check_matrix(X)
    n_references = check_int("n_references", n_references, 1)
    rng = np.random.default_rng(check_int("random_state", random_state, 0))
    grid = sorted({1, *(check_int("each k", k, 1) for k in ks)})
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
        return None, value, "the gap statistic finds no cluster structure (k = 1): no vote"
    return None, value, f"gap chose k={k}, which is not among the solutions"


def _recommend(votes: list[tuple[str, int | None]], decided: int | None = None) -> dict[str, Any]:
    """Most voted k; ties go to the smaller k (simpler segmentations are preferred).

    A k `decided` by a decisive criterion is recommended whatever the tally; ``votes`` then
    counts the criteria that agree with it.
    """
    cast = [(name, k) for name, k in votes if k is not None]
    if not cast:
        return {"recommended_k": pd.NA, "votes": 0, "n_voting": 0, "voters": "", "tied_with": ""}
    tally = Counter(k for _, k in cast)
    top = max(tally.values()) if decided is None else tally[decided]
    tied = sorted(k for k, count in tally.items() if count == top)
    if decided is not None:
        tied = [decided]
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
    decisive: Sequence[str] = DECISIVE_CRITERIA,
) -> KChoice:
    """Vote for k with several criteria and recommend the most voted k, per group.

    Each criterion votes for one k of the group's solutions: ``inertia_knee`` for the knee of the
    inertia curve (:func:`knee_point`); ``silhouette``, ``calinski_harabasz`` and
    ``modified_partition_coefficient`` for their largest value; ``davies_bouldin``,
    ``xie_beni``, ``bic`` and ``aic`` for their smallest (exact ties go to the smaller k);
    ``gap`` for :func:`gap_choice` of the group's gap table. When the gap picks k = 1 (no cluster
    structure) it abstains and says so in ``note``. A criterion abstains
    (k = <NA>, with a note) when it is undefined for every k, has no knee, or has no gap table.
    The recommended k has the most votes; ties go to the smallest k, as simpler segmentations
    are preferred. A `decisive` criterion (``bic``: lowest BIC) that a group measures (its
    column holds a finite value, as for a Gaussian mixture's series) also votes there, and its
    k is the recommendation; ``votes`` counts the criteria that agree with it.

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
    decisive : sequence of str, default=("bic",)
        Keys of ``CRITERIA`` that decide k in the groups that measure them; () for none.

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
    decisive = _check_criteria(decisive) if len(decisive) else ()
    if not set(decisive) <= set(CRITERIA):
        raise ConfigError(f"decisive criteria must be among {list(CRITERIA)}: {list(decisive)}")
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
        measured = [
            name for name in decisive
            if CRITERIA[name][0] in group and np.isfinite(group[CRITERIA[name][0]]).any()
        ]  # fmt: skip
        for name in [*criteria, *(name for name in measured if name not in criteria)]:
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
        decided = next((k for name, k in cast if name in measured and k is not None), None)
        recommended_rows.append({**labels, **_recommend(cast, decided)})

    votes = pd.DataFrame(vote_rows, columns=[*by, "criterion", "k", "value", "note"])
    votes["k"] = votes["k"].astype("Int64")
    recommended = pd.DataFrame(
        recommended_rows,
        columns=[*by, "recommended_k", "votes", "n_voting", "voters", "tied_with"],
    )
    recommended["recommended_k"] = recommended["recommended_k"].astype("Int64")
    return KChoice(votes=votes, recommended=recommended)
