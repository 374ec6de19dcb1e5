"""Thresholds that fit any shop: currency amounts from the customers' own distribution.

A fixed amount such as "spent 3,000+ in the quarter" only makes sense in one shop's currency and
price level: on the UCI Online Retail data (GBP, mostly small wholesale orders) it labelled half
of the customers "disloyal". The derivations here give a scheme's currency thresholds as
quantiles of the customers' own values by default, while a fixed amount given as a parameter
still wins; each reports the amount it used as a note, so that reports show it.

- :func:`amount_threshold`: one threshold, a constant column the rules compare with.
- :func:`quantile_bins`: bin scores from quantile edges (or fixed edges when given).
- :func:`new_in_period`: customers whose first purchase falls inside a period of months (BCG
  keeps them apart: with no previous period, their growth says nothing).

Quantiles are numpy's default (linear interpolation between the order statistics), over the
customers with a known value (and, for :func:`amount_threshold`, a positive `among` column).
:mod:`seglab.heuristics.derived` registers them (:data:`REGISTRATIONS`) with the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.heuristics.rules import unknown_column

__all__ = ["DAYS_PER_MONTH", "REGISTRATIONS", "amount_threshold", "new_in_period", "quantile_bins"]

DAYS_PER_MONTH = 365.25 / 12
"""Mean length of a month in days (30.44): converts a period in months to days."""


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """The numeric column `name` as float64, or UnknownColumnError listing the known ones."""
    if name not in table.columns:
        raise unknown_column(name, [str(c) for c in table.columns])
    series = table[name]
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise ConfigError(f"column '{name}' must hold numbers, got {series.dtype}")
    return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=table.index)


def _check_quantiles(quantiles: Sequence[float], name: str) -> list[float]:
    values = [float(q) for q in quantiles]
    if not values or any(not 0 <= q <= 1 for q in values) or values != sorted(values):
        raise ConfigError(f"{name}: quantiles must be increasing numbers in [0, 1], got {values}")
    return values


def _known_values(
    table: pd.DataFrame, column: str, among: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """All values of `column`, and the known ones counted by the quantile (among > 0)."""
    values = _column(table, column).to_numpy()
    counted = ~np.isnan(values)
    if among is not None:
        counted &= np.nan_to_num(_column(table, among).to_numpy(), nan=0.0) > 0
    return values, values[counted]


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _threshold_note(
    table: pd.DataFrame,
    *,
    column: str,
    quantile: float,
    output: str,
    amount: float | None = None,
    among: str | None = None,
) -> str | None:
    if amount is not None:
        return f"{output} = {_money(float(amount))}: the fixed amount given"
    _, known = _known_values(table, column, among)
    if not len(known):
        return f"{output}: no value of {column} to take a quantile of; the threshold is missing"
    who = f"the {len(known):,} customers" + (f" with {among} > 0" if among else "")
    value = float(np.quantile(known, quantile))
    return f"{output} = {_money(value)}: the {quantile:.0%} quantile of {column} over {who}"


def amount_threshold(
    table: pd.DataFrame,
    *,
    column: str,
    quantile: float,
    output: str,
    amount: float | None = None,
    among: str | None = None,
) -> pd.DataFrame:
    """A currency threshold: `amount` when given, else the `quantile` of `column`.

    Parameters
    ----------
    table : DataFrame
        The customer table.
    column : str
        The amounts (e.g. ``revenue_last_quarter``).
    quantile : float
        In [0, 1]: 0.5 is the median of the customers' own amounts.
    output : str
        Name of the threshold column (the same value on every row).
    amount : float, optional
        A fixed amount in the data's currency; it wins over the quantile.
    among : str, optional
        Count only customers whose `among` column is positive (e.g. ``orders_last_quarter``:
        customers who bought in the quarter).

    Returns
    -------
    DataFrame
        One float64 column; missing when no customer has a value to take a quantile of.

    Examples
    --------
    >>> t = pd.DataFrame({"spend": [0.0, 10, 20, 30, 40], "visits": [0.0, 1, 1, 2, 3]})
    >>> cut = amount_threshold(t, column="spend", quantile=0.5, among="visits", output="cut")
    >>> cut["cut"].tolist()
    [25.0, 25.0, 25.0, 25.0, 25.0]
    >>> amount_threshold(t, column="spend", quantile=0.5, amount=3000, output="cut")["cut"].tolist()
    [3000.0, 3000.0, 3000.0, 3000.0, 3000.0]
    """
    quantile = _check_quantiles([quantile], "amount_threshold")[0]
    if amount is not None:
        value = float(amount)
    else:
        _, known = _known_values(table, column, among)
        value = float(np.quantile(known, quantile)) if len(known) else np.nan
    return pd.DataFrame({output: np.full(len(table), value)}, index=table.index)


def _edges(table: pd.DataFrame, column: str, quantiles: Sequence[float]) -> list[float]:
    _, known = _known_values(table, column, None)
    if not len(known):
        return []
    return [float(v) for v in np.quantile(known, _check_quantiles(quantiles, "quantile_bins"))]


def _bins_note(
    table: pd.DataFrame,
    *,
    column: str,
    output: str,
    quantiles: Sequence[float] = (0.25, 0.5, 0.75),
    edges: Sequence[float] | None = None,
    **_: object,
) -> str | None:
    if edges is not None:
        return None
    found = _edges(table, column, quantiles)
    shown = " / ".join(_money(e) for e in found) or "none (no value)"
    return (
        f"{output}: {column} edges {shown}, the quantiles "
        f"{' / '.join(f'{q:g}' for q in quantiles)} of the customers' values"
    )


def quantile_bins(
    table: pd.DataFrame,
    *,
    column: str,
    output: str,
    quantiles: Sequence[float] = (0.25, 0.5, 0.75),
    edges: Sequence[float] | None = None,
    closed: str = "left",
    ascending: bool = True,
) -> pd.DataFrame:
    """Scores 1..len(edges) + 1 from edges at quantiles of `column`, or from fixed `edges`.

    With fixed `edges` (amounts in the data's currency) this is
    :func:`~seglab.heuristics.derived.fixed_bins`. Otherwise
    the edges are the `quantiles` of the known values, so quartiles give four scores of about a
    quarter of the customers each. Tied values never split: a value equal to an edge goes to the
    bin above it (``closed="left"``) or below it (``closed="right"``), and when quantile edges
    coincide (many equal values) the bin between them stays empty: with ``closed="left"`` a value
    shared by more than a quarter of the customers scores above every edge it equals.

    Parameters
    ----------
    table : DataFrame
        The customer table.
    column : str
        Column to bin.
    output : str
        Name of the score column.
    quantiles : sequence of float
        Increasing, in [0, 1]; used when `edges` is not given.
    edges : sequence of float, optional
        Fixed, strictly increasing inner edges; they win over the quantiles.
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
    >>> t = pd.DataFrame({"monetary_total": [10.0, 20, 30, 40, 50, 60, 70, 80, 90]})
    >>> quantile_bins(t, column="monetary_total", output="m")["m"].tolist()
    [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 4.0]
    """
    if closed not in ("left", "right"):
        raise ConfigError(f"quantile_bins: closed must be 'left' or 'right', got {closed!r}")
    values, _ = _known_values(table, column, None)
    if edges is not None:
        found = [float(e) for e in edges]
        if not found or any(b <= a for a, b in itertools.pairwise(found)):
            raise ConfigError(f"quantile_bins: edges must be strictly increasing, got {found}")
    else:
        found = _edges(table, column, quantiles)
    if not found:
        return pd.DataFrame({output: np.full(len(values), np.nan)}, index=table.index)
    side = "right" if closed == "left" else "left"
    score = 1.0 + np.searchsorted(np.asarray(found), values, side=side)
    if not ascending:
        score = len(found) + 2.0 - score
    score[np.isnan(values)] = np.nan
    return pd.DataFrame({output: score}, index=table.index)


def new_in_period(
    table: pd.DataFrame, *, months: float, tenure: str = "tenure_days", output: str = "new"
) -> pd.DataFrame:
    """True for customers whose tenure is shorter than `months` (first purchase inside them).

    The period in days is ``months * 365.25 / 12`` (a mean month, 30.44 days): 6 months is
    182.6 days, so a tenure of 182 days is new and one of 183 is not. The growth periods of the
    features are calendar months up to as_of (181-184 days for 6), so a customer within two
    days of the boundary may fall on the other side. Missing tenure is not new.

    Parameters
    ----------
    table : DataFrame
        The customer table.
    months : float
        Length of the period (BCG: ``growth_months``, the length of the growth periods).
    tenure : str
        Days from the first purchase to as_of.
    output : str
        Name of the true/false column.

    Returns
    -------
    DataFrame
        One boolean column.

    Examples
    --------
    >>> t = pd.DataFrame({"tenure_days": [0.0, 182, 183, None]})
    >>> new_in_period(t, months=6, output="new")["new"].tolist()
    [True, True, False, False]
    """
    if isinstance(months, bool) or not isinstance(months, int | float) or months <= 0:
        raise ConfigError(f"new_in_period: months must be a positive number, got {months!r}")
    days = _column(table, tenure).to_numpy()
    return pd.DataFrame({output: days < months * DAYS_PER_MONTH}, index=table.index)


REGISTRATIONS = (
    (amount_threshold, ("column", "among"), _threshold_note),
    (quantile_bins, ("column",), _bins_note),
    (new_in_period, ("tenure",), None),
)
"""``(function, input arguments, note)`` of each derivation here, registered by
:mod:`seglab.heuristics.derived`."""
