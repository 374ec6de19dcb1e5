"""Derived columns for the heuristic schemes: ranks, shares, scores and axes.

Schemes that need ranks or shares (ABC, XYZ by percentile, RFM quantile scores, BCG, the
value/potential matrix) first add derived columns to the customer table, then classify with
rules over them. Each derivation is a pure function registered in :data:`DERIVATIONS` under its
own name; a scheme lists the ones it needs under ``derive:``.

Every derivation takes the customer table (indexed by ``customer_id``) and keyword arguments and
returns a DataFrame of new float64 (or text) columns on the same index. A missing input column
raises :class:`~seglab.rules.UnknownColumnError`. Missing input values give missing outputs,
never an error, and are left out of every rank.

Policies shared by the derivations
----------------------------------
- Rank: :func:`rank_column`. Percentile splits (XYZ, BCG, value tiers, axes) use the mid rank
  ``(before + equal / 2) / n``, symmetric around 0.5; quantile scores use the share strictly
  before, so the lowest value always scores 1. Tied customers always share a rank, so ties never
  split across a threshold.
- Shares of revenue are rounded to 12 decimals, so that a share of exactly 80 % compares equal
  to the literal ``0.8`` in a rule.
- Determinism: ties in revenue are broken by ``customer_id`` (ascending) wherever an order is
  needed.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import seglab.heuristics.thresholds as thresholds
from seglab.errors import ConfigError
from seglab.heuristics.rules import unknown_column
from seglab.registry import Registry

__all__ = [
    "DERIVATIONS",
    "Derivation",
    "cell_code",
    "cost_to_serve_rank",
    "cumulative_share",
    "cycles_missed",
    "first_present",
    "fixed_bins",
    "nested_pareto",
    "percentile_rank",
    "quantile_score",
    "rank_axis",
    "rank_column",
    "score_from_rank",
]

_DECIMALS = 12


@dataclass(frozen=True)
class Derivation:
    """A registered derivation: the function and which of its arguments name input columns.

    Parameters
    ----------
    name : str
        The name schemes use under ``derive:``.
    function : callable
        ``function(table, **args) -> DataFrame``.
    inputs : tuple of str
        Arguments whose values are input column names (a name or a list of names); their
        numeric columns are averaged in the scheme's summary.
    note : callable, optional
        ``note(table, **args) -> str | None``: a sentence reporting a data-dependent choice the
        derivation made (shown with the scheme's warnings).
    """

    name: str
    function: Callable[..., pd.DataFrame]
    inputs: tuple[str, ...]
    note: Callable[..., str | None] | None = None

    def __call__(self, table: pd.DataFrame, **args) -> pd.DataFrame:
        return self.function(table, **args)

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The keyword arguments the function takes (everything but the table)."""
        return dict(list(inspect.signature(self.function).parameters.items())[1:])

    def input_columns(self, args: dict) -> list[str]:
        """The input column names given in `args` (or by default) for this derivation."""
        defaults = {k: p.default for k, p in self.parameters().items()}
        names: list[str] = []
        for arg in self.inputs:
            value = args.get(arg, defaults.get(arg))
            names.extend([value] if isinstance(value, str) else list(value or ()))
        return names


DERIVATIONS: Registry[Derivation] = Registry("derivation")


def _register(*inputs: str, note: Callable[..., str | None] | None = None):
    def decorate(function: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        DERIVATIONS.register(
            function.__name__, Derivation(function.__name__, function, inputs, note)
        )
        return function

    return decorate


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """The numeric column `name` as float64, or UnknownColumnError listing the known ones."""
    if name not in table.columns:
        raise unknown_column(name, [str(c) for c in table.columns])
    series = table[name]
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise ConfigError(f"column '{name}' must hold numbers to be ranked, got {series.dtype}")
    return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=table.index)


def rank_column(values: pd.Series, *, ascending: bool = True, ties: str = "mid") -> pd.Series:
    """Each value's rank among the non-missing values, as a share in [0, 1].

    With ``b`` the number of values ranked strictly before a value (strictly smaller when
    ascending, strictly larger when not), ``e`` the number equal to it and ``n`` the number of
    non-missing values:

    - ``ties="mid"`` (percentile splits): ``(b + e / 2) / n``, in (0, 1). Distinct values get
      ``(i - 0.5) / n``, symmetric around 0.5, so thresholds 0.33 / 0.67 cut 6 customers 2/2/2;
      a constant column ranks everyone 0.5.
    - ``ties="min"`` (quantile scores): ``b / n``, in [0, 1): ties take the rank of the first
      position of their run, so the lowest value always ranks 0; a constant column ranks 0.

    Tied values always share a rank; missing values get a missing rank and are not counted.

    Parameters
    ----------
    values : Series
        Numbers.
    ascending : bool
        False ranks large values first (used for recency: recent customers rank high).
    ties : {"mid", "min"}
        The tie policy above.

    Returns
    -------
    Series of float64

    Examples
    --------
    >>> rank_column(pd.Series([10.0, 20.0, 20.0, 40.0, None])).tolist()
    [0.125, 0.5, 0.5, 0.875, nan]
    >>> rank_column(pd.Series([10.0, 20.0, 20.0, 40.0]), ties="min").tolist()
    [0.0, 0.25, 0.25, 0.75]
    >>> rank_column(pd.Series([10.0, 20.0, 20.0, 40.0]), ascending=False, ties="min").tolist()
    [0.75, 0.25, 0.25, 0.0]
    """
    if ties not in ("mid", "min"):
        raise ConfigError(f"ties must be 'mid' or 'min', got {ties!r}")
    data = values.to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(data)
    ordered = np.sort(data[known])
    n = len(ordered)
    result = np.full(len(data), np.nan)
    if n:
        smaller = np.searchsorted(ordered, data[known], side="left")
        not_larger = np.searchsorted(ordered, data[known], side="right")
        before = smaller if ascending else n - not_larger
        equal = not_larger - smaller
        result[known] = (before + equal / 2) / n if ties == "mid" else before / n
    return pd.Series(result, index=values.index)


def score_from_rank(rank: pd.Series, bins: int) -> pd.Series:
    """Scores 1..`bins` from ranks in [0, 1): ``score = 1 + floor(bins * rank)``.

    Examples
    --------
    >>> score_from_rank(pd.Series([0.0, 0.19, 0.2, 0.99, None]), 5).tolist()
    [1.0, 1.0, 2.0, 5.0, nan]
    """
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise ConfigError(f"bins must be a whole number of at least 1, got {bins!r}")
    data = rank.to_numpy(dtype="float64", na_value=np.nan)
    # round first so that a rank such as 3/5 scores 4 despite binary fractions
    return pd.Series(1.0 + np.floor(np.round(bins * data, _DECIMALS)), index=rank.index)


@_register("column", "exclude")
def percentile_rank(
    table: pd.DataFrame,
    *,
    column: str,
    output: str | None = None,
    ascending: bool = True,
    ties: str = "mid",
    exclude: str | None = None,
) -> pd.DataFrame:
    """Each customer's percentile rank on `column`, in (0, 1), ties sharing the mid rank.

    Used for XYZ by percentile (``revenue_cv_pct < x_percentile``), the BCG split (``> 0.5`` is
    above the median) and value tiers. See :func:`rank_column` for the policy.

    Parameters
    ----------
    table : DataFrame
        The customer table.
    column : str
        Column to rank.
    output : str, optional
        Name of the new column; ``<column>_pct`` by default.
    ascending : bool
        False ranks large values first.
    ties : {"mid", "min"}
        Tie policy of :func:`rank_column`.
    exclude : str, optional
        A true/false column: customers marked true get a missing rank and are not counted
        (BCG ranks established customers only, new ones kept apart).

    Returns
    -------
    DataFrame
        One column.

    Examples
    --------
    >>> t = pd.DataFrame({"revenue_cv": [0.1, 0.2, 0.3]}, index=["a", "b", "c"])
    >>> percentile_rank(t, column="revenue_cv")["revenue_cv_pct"].round(3).tolist()
    [0.167, 0.5, 0.833]
    """
    values = _column(table, column)
    if exclude is not None:
        if exclude not in table.columns:
            raise unknown_column(exclude, [str(c) for c in table.columns])
        values = values.mask(table[exclude].astype("boolean").fillna(False).to_numpy(bool))
    name = output or f"{column}_pct"
    return rank_column(values, ascending=ascending, ties=ties).to_frame(name)


@_register("column")
def quantile_score(
    table: pd.DataFrame, *, column: str, output: str, bins: int = 5, ascending: bool = True
) -> pd.DataFrame:
    """Quantile scores 1..`bins` of `column`, with an explicit policy for ties and few values.

    ``score = 1 + floor(bins * r)`` where ``r`` is the share of customers with a strictly
    smaller value (strictly larger when ``ascending=False``): :func:`rank_column` with
    ``ties="min"``. So:

    - ties get the same score, the one of the first (least favourable) position of their run,
      so the lowest value always scores 1 (every one-order customer gets F = 1, however many
      there are). The policy is pessimistic for any tied group: with ``ascending=False`` a large
      group of equally recent customers scores below 5 unless 80 % of customers are less recent;
      with daily recency and many customers the groups are small and the effect negligible;
    - with fewer distinct values than bins, fewer scores are used (some scores stay empty); a
      constant column scores everyone 1; one customer scores 1. Never an error, no fallback;
    - missing values get a missing score and are not counted;
    - with distinct values, each score holds ``n / bins`` customers (rounded up per position).

    Recency is scored with ``ascending=False`` so that the most recent customers score `bins`.

    Parameters
    ----------
    table : DataFrame
        The customer table.
    column : str
        Column to score.
    output : str
        Name of the score column (``r_score``, ``f_score``, ``m_score``).
    bins : int
        Number of scores.
    ascending : bool
        False gives high scores to small values.

    Returns
    -------
    DataFrame
        One float64 column.

    Examples
    --------
    >>> t = pd.DataFrame({"frequency": [1.0, 1, 1, 2, 3, 5, 8, 13, 21, 34]})
    >>> quantile_score(t, column="frequency", output="f_score")["f_score"].tolist()
    [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0]
    """
    rank = rank_column(_column(table, column), ascending=ascending, ties="min")
    return score_from_rank(rank, bins).to_frame(output)


@_register("column")
def cumulative_share(
    table: pd.DataFrame, *, column: str = "monetary_total", output: str = "cum_share"
) -> pd.DataFrame:
    """Cumulative share of revenue, customers sorted by revenue descending (ABC input).

    Customers are sorted by `column` descending, ties broken by ``customer_id`` ascending.
    Only positive revenue counts towards the total. Two columns:

    - ``<output>``: share of the total made by this customer and everyone before it;
    - ``<output>_before``: share made by the customers strictly before it.

    The ABC rule ``cum_share_before < 0.8`` puts into A the customers up to and including the one
    that reaches 80 %: a customer whose predecessors already make exactly 80 % is B. Customers
    with revenue <= 0 (and everyone, when no revenue is positive) get 1.0 in both columns, so
    they are always C; missing revenue gives missing shares. Shares are rounded to 12 decimals.

    Parameters
    ----------
    table : DataFrame
        The customer table, indexed by customer_id.
    column : str
        Revenue column.
    output : str
        Name of the first column; the second gets ``_before`` appended.

    Returns
    -------
    DataFrame
        Two float64 columns.

    Examples
    --------
    >>> t = pd.DataFrame({"monetary_total": [20.0, 50.0, 30.0, -5.0]}, index=list("abcd"))
    >>> cumulative_share(t)
       cum_share  cum_share_before
    a        1.0               0.8
    b        0.5               0.0
    c        0.8               0.5
    d        1.0               1.0
    """
    revenue = _column(table, column)
    positive = revenue > 0
    order = _descending_order(revenue[positive])
    sorted_revenue = revenue[positive].iloc[order]
    total = float(sorted_revenue.sum())
    after = np.full(len(table), 1.0)
    before = np.full(len(table), 1.0)
    if total > 0:
        running = sorted_revenue.cumsum().to_numpy()
        position = table.index.get_indexer(sorted_revenue.index)
        after[position] = np.round(running / total, _DECIMALS)
        before[position] = np.round((running - sorted_revenue.to_numpy()) / total, _DECIMALS)
    missing = revenue.isna().to_numpy()
    after[missing] = np.nan
    before[missing] = np.nan
    return pd.DataFrame({output: after, f"{output}_before": before}, index=table.index)


def _descending_order(values: pd.Series) -> np.ndarray:
    """Positions sorting `values` descending, ties by index ascending (stable)."""
    by_id = np.argsort(values.index.to_numpy(), kind="stable")
    by_value = np.argsort(-values.to_numpy()[by_id], kind="stable")
    return by_id[by_value]


@_register("column")
def nested_pareto(
    table: pd.DataFrame,
    *,
    column: str = "monetary_total",
    share: float = 0.8,
    levels: int = 2,
    output: str = "pareto_level",
) -> pd.DataFrame:
    """Nested-Pareto level 1..`levels` + 1: the 80 % rule applied again to what remains.

    Level 1 holds the customers making the first `share` of revenue, level 2 the first `share`
    of the remainder (up to ``1 - (1 - share)**2`` of the total: 96 % by default), and so on; the
    rest is level ``levels + 1``. Boundaries follow :func:`cumulative_share`: a customer is in
    level k when the share made by the customers before it is below the k-th boundary, so a
    customer whose predecessors make exactly 80 % is level 2. Revenue <= 0 gets the last level.

    Parameters
    ----------
    table : DataFrame
        The customer table.
    column : str
        Revenue column.
    share : float
        The Pareto share, in (0, 1).
    levels : int
        Number of nested cuts.
    output : str
        Name of the level column.

    Returns
    -------
    DataFrame
        One float64 column.

    Examples
    --------
    >>> t = pd.DataFrame({"monetary_total": [80.0, 16.0, 4.0]}, index=list("abc"))
    >>> nested_pareto(t)["pareto_level"].tolist()
    [1.0, 2.0, 3.0]
    """
    if not 0 < share < 1:
        raise ConfigError(f"nested_pareto: share must be between 0 and 1, got {share!r}")
    if not isinstance(levels, int) or levels < 1:
        raise ConfigError(f"nested_pareto: levels must be a whole number >= 1, got {levels!r}")
    before = cumulative_share(table, column=column, output="_cum")["_cum_before"].to_numpy()
    bounds = [round(1 - (1 - share) ** k, _DECIMALS) for k in range(1, levels + 1)]
    level = 1.0 + sum((before >= bound).astype(float) for bound in bounds)
    level[np.isnan(before)] = np.nan
    return pd.DataFrame({output: level}, index=table.index)


@_register("column")
def fixed_bins(
    table: pd.DataFrame,
    *,
    column: str,
    edges: Sequence[float],
    output: str,
    closed: str = "left",
    ascending: bool = True,
) -> pd.DataFrame:
    """Scores 1..len(edges) + 1 from fixed bin edges (RFM with fixed bins).

    With ``closed="left"`` a value equal to an edge belongs to the bin above it (edges
    ``[200, 600, 1000]``: 0-199.99 / 200-599.99 / 600-999.99 / 1000+); with ``closed="right"`` to
    the bin below (recency edges ``[30, 60, 90]``: 0-30 / 31-60 / 61-90 / 91+). Scores count up
    from the lowest bin, or down when ``ascending=False`` (recency: 0-30 days scores 4).

    Parameters
    ----------
    table : DataFrame
        The customer table.
    column : str
        Column to bin.
    edges : sequence of float
        Strictly increasing inner edges.
    output : str
        Name of the score column.
    closed : {"left", "right"}
        Which side of a bin includes its edge.
    ascending : bool
        False reverses the scores.

    Returns
    -------
    DataFrame
        One float64 column; missing values stay missing.

    Examples
    --------
    >>> t = pd.DataFrame({"recency_days": [0.0, 30, 31, 90, 91]})
    >>> b = fixed_bins(t, column="recency_days", edges=[30, 60, 90], output="r", closed="right",
    ...                ascending=False)
    >>> b["r"].tolist()
    [4.0, 4.0, 3.0, 2.0, 1.0]
    """
    edges = [float(e) for e in edges]
    if not edges or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ConfigError(f"fixed_bins: edges must be strictly increasing numbers, got {edges}")
    if closed not in ("left", "right"):
        raise ConfigError(f"fixed_bins: closed must be 'left' or 'right', got {closed!r}")
    values = _column(table, column).to_numpy()
    side = "right" if closed == "left" else "left"
    score = 1.0 + np.searchsorted(np.asarray(edges), values, side=side)
    if not ascending:
        score = len(edges) + 2.0 - score
    score[np.isnan(values)] = np.nan
    return pd.DataFrame({output: score}, index=table.index)


@_register("columns")
def cell_code(
    table: pd.DataFrame, *, columns: Sequence[str], prefixes: Sequence[str], output: str
) -> pd.DataFrame:
    """A text code joining scores, e.g. ``R4F3M2`` from ``r_bin``, ``f_bin``, ``m_bin``.

    Missing in any score gives a missing code.

    Examples
    --------
    >>> t = pd.DataFrame({"r": [4.0, 1.0], "f": [3.0, None]})
    >>> cell_code(t, columns=["r", "f"], prefixes=["R", "F"], output="cell")["cell"].tolist()
    ['R4F3', nan]
    """
    if len(columns) != len(prefixes):
        raise ConfigError(
            f"cell_code: give one prefix per column ({len(columns)} columns, "
            f"{len(prefixes)} prefixes)"
        )
    parts = [_column(table, name) for name in columns]
    missing = np.zeros(len(table), dtype=bool)
    for part in parts:
        missing |= part.isna().to_numpy()
    codes = pd.Series("", index=table.index, dtype=object)
    for prefix, part in zip(prefixes, parts, strict=True):
        codes = codes + prefix + part.map("{:g}".format)
    codes[missing] = np.nan
    return codes.to_frame(output)


@_register("candidates")
def first_present(table: pd.DataFrame, *, candidates: Sequence[str], output: str) -> pd.DataFrame:
    """A copy of the first of `candidates` the table has (``region``, else ``country``).

    Raises UnknownColumnError naming the candidates when none is present.

    Examples
    --------
    >>> t = pd.DataFrame({"country": ["UK", "FR"]})
    >>> first_present(t, candidates=["region", "country"], output="geography")["geography"].tolist()
    ['UK', 'FR']
    """
    for name in candidates:
        if name in table.columns:
            return table[name].rename(output).to_frame()
    raise unknown_column(" or ".join(candidates), [str(c) for c in table.columns])


@_register("columns")
def rank_axis(
    table: pd.DataFrame,
    *,
    columns: Sequence[str],
    output: str,
    descending: Sequence[str] = (),
) -> pd.DataFrame:
    """An axis in (0, 1): the mean of the customers' mid ranks (:func:`rank_column`) on `columns`.

    Used for the value/potential matrix: value = mean rank on revenue, frequency and tenure;
    potential = mean rank on revenue growth and on recency ranked recent-first. Columns listed
    in `descending` are ranked large-first. Missing in any column gives a missing axis.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [40.0, 30.0, 20.0, 10.0]})
    >>> rank_axis(t, columns=["a", "b"], output="v", descending=["b"])["v"].tolist()
    [0.125, 0.375, 0.625, 0.875]
    """
    if not columns:
        raise ConfigError("rank_axis: name at least one column")
    unknown = [name for name in descending if name not in columns]
    if unknown:
        raise ConfigError(f"rank_axis: descending names {unknown}, which are not in columns")
    ranks = [
        rank_column(_column(table, name), ascending=name not in descending) for name in columns
    ]
    return pd.concat(ranks, axis=1).mean(axis=1, skipna=False).to_frame(output)


def _cost_note(
    table: pd.DataFrame, *, output="", cost_column="cost_to_serve", proxy_column="returns_rate"
) -> str | None:
    if cost_column in table.columns:
        return None
    return (
        f"no '{cost_column}' column: cost to serve is ranked by '{proxy_column}' "
        "(share of gross revenue returned) as a proxy"
    )


@_register("cost_column", "proxy_column", note=_cost_note)
def cost_to_serve_rank(
    table: pd.DataFrame,
    *,
    output: str = "cost_to_serve_pct",
    cost_column: str = "cost_to_serve",
    proxy_column: str = "returns_rate",
) -> pd.DataFrame:
    """Rank of the cost to serve: `cost_column` when the table has it, else `proxy_column`.

    The choice is explicit and reported (see the derivation's note): a ``cost_to_serve``
    attribute (from cost or complaint data) when present, otherwise ``returns_rate`` as the
    proxy. Mid ranks (:func:`rank_column`), so the two are on the same (0, 1) scale.

    Examples
    --------
    >>> t = pd.DataFrame({"returns_rate": [0.0, 0.0, 0.5, 0.1]})
    >>> cost_to_serve_rank(t)["cost_to_serve_pct"].tolist()
    [0.25, 0.25, 0.875, 0.625]
    """
    source = cost_column if cost_column in table.columns else proxy_column
    return rank_column(_column(table, source)).to_frame(output)


def _potential_note(table: pd.DataFrame, *, clv_column: str = "clv", **_) -> str | None:
    if _has_values(table, clv_column):
        return None
    return (
        f"no '{clv_column}' column with values (lifetime value was not estimated): potential is "
        "ranked by revenue growth and recency instead"
    )


def _has_values(table: pd.DataFrame, name: str) -> bool:
    return name in table.columns and bool(table[name].notna().any())


@_register("clv_column", "proxy_columns", note=_potential_note)
def potential_rank(
    table: pd.DataFrame,
    *,
    output: str = "potential_axis",
    clv_column: str = "clv",
    proxy_columns: Sequence[str] = ("revenue_growth", "recency_days"),
    descending: Sequence[str] = ("recency_days",),
) -> pd.DataFrame:
    """The potential axis: mid rank of lifetime value, or mean rank of its proxies without it.

    Potential is what a customer is expected to bring: the ``clv`` column of the lifetime-value
    stage when it holds values, else :func:`rank_axis` on `proxy_columns` (those in `descending`
    ranked large-first: recent purchases rank high); the note says which.

    >>> t = pd.DataFrame({"clv": [5.0, 1.0, 3.0], "revenue_growth": [0.0, 1, 2]})
    >>> t["recency_days"] = [10.0, 20, 30]
    >>> potential_rank(t)["potential_axis"].round(3).tolist()
    [0.833, 0.167, 0.5]
    """
    if _has_values(table, clv_column):
        return rank_column(_column(table, clv_column)).to_frame(output)
    return rank_axis(table, columns=proxy_columns, output=output, descending=descending)


@_register("recency", "interval")
def cycles_missed(
    table: pd.DataFrame,
    *,
    recency: str = "recency_days",
    interval: str = "interpurchase_median_days",
    output: str = "cycles_missed",
) -> pd.DataFrame:
    """How many of their own usual purchase cycles a customer has let pass: recency / interval.

    The personalised lifecycle's rule "missed k cycles" is ``cycles_missed > k``, which is
    ``recency_days > k * interpurchase_median_days``. An interval <= 0 or missing gives missing.
    For a customer with one purchase day the interval equals tenure, so the ratio is 1 at most:
    the personalised rules only make sense from two purchase days (the scheme checks that first).

    Examples
    --------
    >>> t = pd.DataFrame({"recency_days": [10.0, 90, 5]})
    >>> t["interpurchase_median_days"] = [30.0, 30, 0]
    >>> cycles_missed(t)["cycles_missed"].round(3).tolist()
    [0.333, 3.0, nan]
    """
    gap = _column(table, interval)
    ratio = _column(table, recency) / gap.where(gap > 0)
    return ratio.to_frame(output)


for _function, _inputs, _note in thresholds.REGISTRATIONS:  # currency quantiles, new customers
    _register(*_inputs, note=_note)(_function)
