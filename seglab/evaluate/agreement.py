"""Agreement between labelings of the same customers: one pair in detail, or many at once.

A labeling is a Series of labels indexed by customer_id: a cluster solution, a heuristic scheme,
the ``true_segment`` of synthetic data. Labels may be any hashable values (numbers, strings).

Conventions used throughout:

- The first labeling (``left``) is the rows of every table and plays scikit-learn's
  ``labels_true``; the second (``right``) is the columns and plays ``labels_pred``. So
  ``homogeneity`` is high when every right label holds customers of a single left label and
  ``completeness`` when every left label sits within a single right label.
- Tables hold the labels that occur among the compared customers only (unused categories of a
  categorical are dropped), in sorted order (category order for a categorical), so no row or
  column of a contingency table is empty.
- Customers are matched on the index, never by position.

The measures (keys of :data:`MEASURES`, one row each in ``PairComparison.scores``):

``ari``, ``ami``, ``nmi``, ``homogeneity``, ``completeness``, ``v_measure``
    scikit-learn's ``adjusted_rand_score``, ``adjusted_mutual_info_score``,
    ``normalized_mutual_info_score`` and ``homogeneity_completeness_v_measure`` with their
    defaults (arithmetic mean normalisation, so ``nmi`` equals ``v_measure``).
``cramers_v``
    ``sqrt(chi2 / (n * (min(r, c) - 1)))`` with Pearson's chi-squared statistic of the
    ``r x c`` contingency table, without bias correction and without Yates' correction. NaN when
    either labeling has a single label (``min(r, c) == 1``); the reason is in
    ``PairComparison.notes``.
``matched_purity``
    One-to-one purity: the share of customers whose two labels are a matched pair of the best
    one-to-one mapping (see :func:`best_mapping`). Symmetric.
``majority_purity``
    Classic (many-to-one) purity of the right labeling against the left: each right label is
    credited with its largest overlap with any left label; the sum over right labels divided by n.
    Several right labels may credit the same left label.
``inverse_majority_purity``
    The same with the roles swapped (sum over left labels of their largest overlap, over n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import sklearn
from scipy.optimize import linear_sum_assignment
from sklearn import metrics

from seglab.errors import ConfigError, DataError, SchemaError
from seglab.registry import Registry, suggest

__all__ = [
    "MEASURES",
    "PairComparison",
    "agreement_matrix",
    "agreement_table",
    "best_mapping",
    "compare_labelings",
    "cramers_v",
    "scores_table",
]

How = Literal["exact", "inner"]
_HOWS = ("exact", "inner")


@dataclass(frozen=True)
class PairComparison:
    """Everything known about the agreement of two labelings, as plain tables.

    Every DataFrame is indexed by the left labels (index name: the left labeling's name) with one
    column per right label (columns name: the right labeling's name).

    Attributes
    ----------
    n_customers : int
        Customers compared (after alignment).
    counts : DataFrame of int
        Customers per (left label, right label).
    row_shares : DataFrame of float
        ``counts`` divided by its row totals: each row sums to 1 (where right labels go, given the
        left label).
    column_shares : DataFrame of float
        ``counts`` divided by its column totals: each column sums to 1.
    revenue : DataFrame of float or None
        Total revenue of the customers in each cell; None when no revenue was given.
    lift : DataFrame of float
        ``counts / expected`` with ``expected = row_total * column_total / n``, the count expected
        if the two labelings were independent. 1 means as often as chance, above 1 more often.
        Empty cells have lift 0; expected counts are never 0 since every label occurs.
    scores : Series of float
        One value per measure (index name ``measure``), in the order of :data:`MEASURES`.
    notes : dict of str to str
        Why a score is NaN, by measure; empty when every score is defined.
    mapping : DataFrame
        The best one-to-one mapping, as returned by :func:`best_mapping`.
    """

    n_customers: int
    counts: pd.DataFrame
    row_shares: pd.DataFrame
    column_shares: pd.DataFrame
    revenue: pd.DataFrame | None
    lift: pd.DataFrame
    scores: pd.Series
    notes: dict[str, str]
    mapping: pd.DataFrame


# ---------------------------------------------------------------------------------------------
# Measures: each reads one _Pair (integer codes of both labelings and their contingency table)
# and returns the value and, when the value is NaN, why.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pair:
    left: np.ndarray
    right: np.ndarray
    counts: np.ndarray

    @cached_property
    def hcv(self) -> tuple[float, float, float]:
        """Homogeneity, completeness and V-measure, computed once for the three measures."""
        return metrics.homogeneity_completeness_v_measure(self.left, self.right)

    def transposed(self) -> _Pair:
        return _Pair(self.right, self.left, self.counts.T)


@dataclass(frozen=True)
class _Measure:
    compute: Callable[[_Pair], tuple[float, str]]
    symmetric: bool


def _sklearn(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[_Pair], tuple]:
    return lambda pair: (float(score(pair.left, pair.right)), "")


def _hcv(position: int) -> Callable[[_Pair], tuple[float, str]]:
    return lambda pair: (float(pair.hcv[position]), "")


def cramers_v(counts: np.ndarray) -> tuple[float, str]:
    """Cramér's V of a contingency table without empty rows or columns, and why it may be NaN.

    ``V = sqrt(chi2 / (n * (min(r, c) - 1)))`` with Pearson's chi-squared statistic (no Yates
    correction, no bias correction). A table with one row or one column has no association to
    measure: V is NaN and the reason is returned (otherwise the reason is "").

    Examples
    --------
    >>> cramers_v(np.array([[10, 0], [0, 10]]))
    (1.0, '')
    >>> cramers_v(np.array([[3, 4]]))
    (nan, "one labeling has a single label (table is 1 x 2); Cramér's V needs two on each side")
    """
    counts = np.asarray(counts, dtype=float)
    rows, columns = counts.shape
    if min(rows, columns) < 2:
        return (
            float("nan"),
            f"one labeling has a single label (table is {rows} x {columns}); "
            "Cramér's V needs two on each side",
        )
    n = counts.sum()
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(rows, columns) - 1)))), ""


def _matched_purity(pair: _Pair) -> tuple[float, str]:
    rows, columns = linear_sum_assignment(pair.counts, maximize=True)
    return float(pair.counts[rows, columns].sum() / pair.counts.sum()), ""


def _majority_purity(axis: int) -> Callable[[_Pair], tuple[float, str]]:
    return lambda pair: (float(pair.counts.max(axis=axis).sum() / pair.counts.sum()), "")


#: The agreement measures by name, in the order of ``PairComparison.scores``.
MEASURES: Registry[_Measure] = Registry("agreement measure")
MEASURES.register("ari", _Measure(_sklearn(metrics.adjusted_rand_score), symmetric=True))
MEASURES.register("ami", _Measure(_sklearn(metrics.adjusted_mutual_info_score), symmetric=True))
MEASURES.register("nmi", _Measure(_sklearn(metrics.normalized_mutual_info_score), symmetric=True))
MEASURES.register("homogeneity", _Measure(_hcv(0), symmetric=False))
MEASURES.register("completeness", _Measure(_hcv(1), symmetric=False))
MEASURES.register("v_measure", _Measure(_hcv(2), symmetric=True))
MEASURES.register("cramers_v", _Measure(lambda pair: cramers_v(pair.counts), symmetric=True))
MEASURES.register("matched_purity", _Measure(_matched_purity, symmetric=True))
MEASURES.register("majority_purity", _Measure(_majority_purity(axis=0), symmetric=False))
MEASURES.register("inverse_majority_purity", _Measure(_majority_purity(axis=1), symmetric=False))


# ---------------------------------------------------------------------------------------------
# Input contract: Series indexed by customer_id, unique index, no missing labels, and the same
# customers everywhere unless how="inner".
# ---------------------------------------------------------------------------------------------


def _check_how(how: str) -> None:
    if how not in _HOWS:
        raise ConfigError(
            f"how must be one of {', '.join(repr(h) for h in _HOWS)}, got {how!r}"
            f"{suggest(str(how), list(_HOWS))}"
        )


def _check_labeling(name: str, labels: object) -> pd.Series:
    if not isinstance(labels, pd.Series):
        raise SchemaError(
            f"labeling '{name}' must be a pandas Series indexed by customer_id, "
            f"got {type(labels).__name__}"
        )
    if labels.empty:
        raise DataError(f"labeling '{name}' has no customers")
    repeated = labels.index[labels.index.duplicated()].unique()
    if len(repeated):
        raise DataError(
            f"labeling '{name}' has {len(repeated)} repeated customer_id(s), e.g. "
            f"{list(repeated[:5])}; give one label per customer"
        )
    missing = labels.index[labels.isna().to_numpy()]
    if len(missing):
        raise DataError(
            f"labeling '{name}' has no label for {len(missing)} of {len(labels)} customers, e.g. "
            f"{list(missing[:5])}; drop them or give them a label of their own"
        )
    return labels


def _mismatch(name: str, index: pd.Index, other: str, other_index: pd.Index) -> DataError:
    only_here = index.difference(other_index, sort=False)
    only_there = other_index.difference(index, sort=False)
    shared = len(index) - len(only_here)
    return DataError(
        f"labelings '{name}' and '{other}' cover different customers: {len(index)} and "
        f"{len(other_index)}, {shared} shared; {len(only_here)} only in '{name}' "
        f"(e.g. {list(only_here[:3])}), {len(only_there)} only in '{other}' "
        f"(e.g. {list(only_there[:3])}). Pass how='inner' to compare the {shared} shared customers."
    )


def _align(labelings: Sequence[tuple[str, pd.Series]], how: str) -> pd.Index:
    """The customers to compare, in the first labeling's order."""
    _check_how(how)
    checked = [(name, _check_labeling(name, labels)) for name, labels in labelings]
    first_name, first = checked[0]
    customers = first.index
    for name, labels in checked[1:]:
        if how == "exact" and not customers.equals(labels.index):
            if len(customers) != len(labels.index) or not customers.isin(labels.index).all():
                raise _mismatch(first_name, first.index, name, labels.index)
        elif how == "inner":
            customers = customers[customers.isin(labels.index)]
    if customers.empty:
        sizes = ", ".join(f"'{name}' {len(labels)}" for name, labels in checked)
        raise DataError(f"the labelings share no customers (sizes: {sizes})")
    return customers


def _codes(labels: pd.Series, customers: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of `labels` at `customers` and the labels they stand for, in sorted order."""
    codes, uniques = pd.factorize(labels.reindex(customers), sort=True)
    return codes, pd.Index(list(uniques))


def _contingency(left: np.ndarray, right: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    flat = np.bincount(left * shape[1] + right, minlength=shape[0] * shape[1])
    return flat.reshape(shape)


def _revenue_at(revenue: pd.Series, customers: pd.Index) -> np.ndarray:
    if not isinstance(revenue, pd.Series):
        raise SchemaError(
            f"revenue must be a pandas Series indexed by customer_id, got {type(revenue).__name__}"
        )
    if not pd.api.types.is_numeric_dtype(revenue):
        raise SchemaError(f"revenue must be numeric, got dtype {revenue.dtype}")
    if revenue.index.has_duplicates:
        raise DataError("revenue has repeated customer_id(s); give one value per customer")
    values = revenue.reindex(customers)
    missing = customers[values.isna().to_numpy()]
    if len(missing):
        raise DataError(
            f"revenue is missing (or NaN) for {len(missing)} of the {len(customers)} compared "
            f"customers, e.g. {list(missing[:5])}"
        )
    return values.to_numpy(dtype=float)


def _scores(pair: _Pair, names: Sequence[str]) -> tuple[dict[str, float], dict[str, str]]:
    """The measures `names` of `pair`, and the reasons of those that are NaN.

    The codes come from :func:`pandas.factorize`, so scikit-learn's parameter validation is
    skipped (it costs more than the measures on small tables).
    """
    values, notes = {}, {}
    with sklearn.config_context(skip_parameter_validation=True):
        for name in names:
            values[name], note = MEASURES.get(name).compute(pair)
            if note:
                notes[name] = note
    return values, notes


# ---------------------------------------------------------------------------------------------
# One pair.
# ---------------------------------------------------------------------------------------------


def best_mapping(counts: pd.DataFrame) -> pd.DataFrame:
    """The one-to-one mapping of left to right labels that keeps the most customers together.

    Solved with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) maximising
    the summed overlap; rectangular tables are allowed, so the larger side keeps some labels
    unmatched. An assigned pair that shares no customer is not a match: both labels are reported
    unmatched. Ties between equally good mappings are broken by scipy, deterministically.

    Parameters
    ----------
    counts : DataFrame
        Contingency table, left labels as rows and right labels as columns.

    Returns
    -------
    DataFrame
        One row per matched pair (in row order), then one per unmatched left label, then one per
        unmatched right label, with columns ``left``, ``right`` (missing when unmatched),
        ``customers`` (overlap; 0 when unmatched), ``left_customers`` and ``right_customers``
        (sizes of the labels; missing when unmatched) and ``matched``.

    Examples
    --------
    >>> counts = pd.DataFrame([[5, 1], [4, 0], [0, 3]], index=["a", "b", "c"], columns=[0, 1])
    >>> best_mapping(counts)
      left right  customers  left_customers  right_customers  matched
    0    a     0          5               6                9     True
    1    c     1          3               3                4     True
    2    b  None          0               4             <NA>    False
    """
    table = counts.to_numpy()
    rows, columns = linear_sum_assignment(table, maximize=True)
    keep = table[rows, columns] > 0
    rows, columns = rows[keep], columns[keep]
    left_sizes, right_sizes = table.sum(axis=1), table.sum(axis=0)
    lonely_left = np.setdiff1d(np.arange(table.shape[0]), rows)
    lonely_right = np.setdiff1d(np.arange(table.shape[1]), columns)
    records = [
        (counts.index[r], counts.columns[c], table[r, c], left_sizes[r], right_sizes[c], True)
        for r, c in zip(rows, columns, strict=True)
    ]
    records += [(counts.index[r], None, 0, left_sizes[r], None, False) for r in lonely_left]
    records += [(None, counts.columns[c], 0, None, right_sizes[c], False) for c in lonely_right]
    mapping = pd.DataFrame(
        records,
        columns=["left", "right", "customers", "left_customers", "right_customers", "matched"],
        dtype=object,
    )
    return mapping.astype(
        {
            "customers": "int64",
            "left_customers": "Int64",
            "right_customers": "Int64",
            "matched": bool,
        }
    )


def compare_labelings(
    left: pd.Series,
    right: pd.Series,
    *,
    revenue: pd.Series | None = None,
    how: How = "exact",
    names: tuple[str, str] | None = None,
) -> PairComparison:
    """Contingency tables, agreement measures and best one-to-one mapping of two labelings.

    Parameters
    ----------
    left, right : Series
        Label of each customer, indexed by customer_id; matched on the index. ``left`` gives the
        rows and plays scikit-learn's ``labels_true``.
    revenue : Series, optional
        Revenue of each customer, indexed by customer_id, covering every compared customer.
    how : {"exact", "inner"}
        "exact" requires both labelings to cover the same customers (DataError naming the counts
        otherwise); "inner" compares the customers they share.
    names : (str, str), optional
        Names of the labelings for the tables' axes; default the Series' names, else "left" and
        "right".

    Returns
    -------
    PairComparison

    Examples
    --------
    >>> scheme = pd.Series(["a", "a", "b", "b"], index=[1, 2, 3, 4], name="scheme")
    >>> kmeans = pd.Series([0, 0, 0, 1], index=[4, 3, 2, 1], name="kmeans")
    >>> result = compare_labelings(scheme, kmeans)
    >>> result.counts
    kmeans  0  1
    scheme
    a       1  1
    b       2  0
    >>> result.lift
    kmeans         0    1
    scheme
    a       0.666667  2.0
    b       1.333333  0.0
    >>> result.scores[["matched_purity", "majority_purity", "inverse_majority_purity"]]
    measure
    matched_purity             0.75
    majority_purity            0.75
    inverse_majority_purity    0.75
    Name: value, dtype: float64
    """
    left_name, right_name = names or (
        str(left.name) if getattr(left, "name", None) is not None else "left",
        str(right.name) if getattr(right, "name", None) is not None else "right",
    )
    customers = _align([(left_name, left), (right_name, right)], how)
    left_codes, left_labels = _codes(left, customers)
    right_codes, right_labels = _codes(right, customers)
    shape = (len(left_labels), len(right_labels))
    counts = _contingency(left_codes, right_codes, shape)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            values,
            index=left_labels.rename(left_name),
            columns=right_labels.rename(right_name),
        )

    row_totals, column_totals = counts.sum(axis=1), counts.sum(axis=0)
    expected = np.outer(row_totals, column_totals) / len(customers)
    cell_revenue = None
    if revenue is not None:
        flat = np.bincount(
            left_codes * shape[1] + right_codes,
            weights=_revenue_at(revenue, customers),
            minlength=shape[0] * shape[1],
        )
        cell_revenue = frame(flat.reshape(shape))
    values, notes = _scores(_Pair(left_codes, right_codes, counts), MEASURES.names())
    counts_frame = frame(counts)
    return PairComparison(
        n_customers=len(customers),
        counts=counts_frame,
        row_shares=frame(counts / row_totals[:, None]),
        column_shares=frame(counts / column_totals[None, :]),
        revenue=cell_revenue,
        lift=frame(counts / expected),
        scores=pd.Series(values, name="value", dtype=float).rename_axis("measure"),
        notes=notes,
        mapping=best_mapping(counts_frame),
    )


# ---------------------------------------------------------------------------------------------
# Many labelings.
# ---------------------------------------------------------------------------------------------


def agreement_table(
    labelings: Mapping[str, pd.Series],
    *,
    measures: Sequence[str] | None = None,
    how: How = "exact",
) -> pd.DataFrame:
    """Agreement of every ordered pair of labelings, as a tidy table.

    Parameters
    ----------
    labelings : mapping of str to Series
        Labelings by name, each indexed by customer_id (e.g. every solution of a grid and every
        heuristic scheme).
    measures : sequence of str, optional
        Names in :data:`MEASURES`; default all.
    how : {"exact", "inner"}
        "exact" requires every labeling to cover the same customers; "inner" compares all pairs
        on the customers shared by *all* labelings, so every value rests on the same customers.

    Returns
    -------
    DataFrame
        Columns ``left``, ``right``, ``measure``, ``value``: one row per ordered pair (the diagonal
        included: each labeling against itself) and measure. Symmetric measures are computed once
        per pair and mirrored, so they are exactly symmetric.

    Examples
    --------
    >>> a = pd.Series([0, 0, 1, 1], name="a")
    >>> table = agreement_table({"a": a, "b": a.map({0: "x", 1: "y"})}, measures=["ari"])
    >>> table
      left right measure  value
    0    a     a     ari    1.0
    1    a     b     ari    1.0
    2    b     a     ari    1.0
    3    b     b     ari    1.0
    """
    names = list(labelings)
    if not names:
        raise DataError("no labelings to compare; give at least one")
    chosen = MEASURES.names() if measures is None else list(measures)
    for measure in chosen:
        MEASURES.get(measure)
    customers = _align([(str(name), labelings[name]) for name in names], how)
    codes = [_codes(labelings[name], customers) for name in names]
    symmetric = [m for m in chosen if MEASURES.get(m).symmetric]
    directed = [m for m in chosen if not MEASURES.get(m).symmetric]
    found: dict[tuple[int, int], dict[str, float]] = {}
    for i, (left, left_labels) in enumerate(codes):
        for j, (right, right_labels) in enumerate(codes[i:], start=i):
            counts = _contingency(left, right, (len(left_labels), len(right_labels)))
            pair = _Pair(left, right, counts)
            values, _ = _scores(pair, symmetric + directed)
            found[i, j] = values
            if i != j:
                mirrored, _ = _scores(pair.transposed(), directed)
                found[j, i] = {**{m: values[m] for m in symmetric}, **mirrored}
    rows = [
        (names[i], names[j], measure, found[i, j][measure])
        for i in range(len(names))
        for j in range(len(names))
        for measure in chosen
    ]
    table = pd.DataFrame(rows, columns=["left", "right", "measure", "value"])
    return table.astype({"value": float})


def agreement_matrix(table: pd.DataFrame, measure: str = "ari") -> pd.DataFrame:
    """One measure of an :func:`agreement_table` as a square matrix, rows left, columns right.

    Labelings keep the order in which the table lists them. Symmetric measures give a symmetric
    matrix; for ``homogeneity``, ``completeness`` and the majority purities the row is the left
    labeling. The diagonal compares each labeling with itself (1 up to rounding, except Cramér's V
    of a labeling with a single label, which is NaN).

    Examples
    --------
    >>> a = pd.Series([0, 0, 1, 1])
    >>> agreement_matrix(agreement_table({"a": a, "b": pd.Series([0, 1, 1, 1])}))
    right    a    b
    left
    a      1.0  0.0
    b      0.0  1.0
    """
    MEASURES.get(measure)
    known = list(pd.unique(table["measure"]))
    if measure not in known:
        raise ConfigError(
            f"the agreement table has no measure '{measure}'{suggest(measure, known) or '.'} "
            f"Measures in the table: {', '.join(known)}."
        )
    order = list(pd.unique(table["left"]))
    chosen = table[table["measure"] == measure]
    pairs = pd.MultiIndex.from_product([order, order], names=["left", "right"])
    values = chosen.set_index(["left", "right"])["value"].reindex(pairs).to_numpy()
    return pd.DataFrame(
        values.reshape(len(order), len(order)),
        index=pd.Index(order, name="left"),
        columns=pd.Index(order, name="right"),
    )


def scores_table(comparisons: Mapping[str, PairComparison]) -> pd.DataFrame:
    """The agreement scores of several comparisons side by side: one column per comparison."""
    return pd.DataFrame({name: comparison.scores for name, comparison in comparisons.items()})
