"""Customer features as of a date, computed with Ibis on DuckDB or Spark (``data.engine``).

Every feature is registered with a one-line definition, a unit and the dimension it describes;
named feature sets pick columns for clustering. The computation is lazy Ibis over the cleaned
transactions (read straight from Parquet or CSV by :mod:`seglab.data.reading`), so a log larger than
memory works; only the customer table is materialised.

Conventions, shared by every feature: a customer is in scope when they have at least one purchase
(a line not flagged ``is_return``) on or before ``as_of`` (and inside the look-back window when one
is set). Days are calendar days between purchase dates (times of day are ignored). Purchases and
returns are separated by the loader's ``is_return`` flag: returns reduce net revenue and feed the
returns features, and are never counted as orders.

Nothing here depends on the engine: every expression has a portable form on Ibis's DuckDB and
PySpark backends (``tests/test_spark.py`` compares the two on every feature). Two choices keep
the results equal to the last bits: money is summed as exact decimals, and sums become float64
before any division (the engines round decimal quotients differently).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd

from seglab.data.contract import MONEY, MONEY_LIMIT, finite
from seglab.errors import ConfigError, DataError, SeglabWarning
from seglab.features.catalogue import FEATURES
from seglab.features.settings import FeaturesConfig

__all__ = ["compute_features"]

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
_EVERYONE = "_customers_with_any_line"
# Money is summed as exact decimals (MONEY, from the data contract): float sums in a parallel
# engine depend on the order in which threads combine partial sums, and the same inputs must give
# the same bytes.


def compute_features(
    transactions: ir.Table | pd.DataFrame,
    as_of: dt.date,
    names: Iterable[str] | None = None,
    *,
    options: FeaturesConfig | None = None,
) -> pd.DataFrame:
    """Compute customer features from clean transactions on or before `as_of`.

    Parameters
    ----------
    transactions : ibis Table or DataFrame
        Contract columns ``customer_id``, ``order_date``, ``amount``; optional ``order_id``,
        ``product_id``, ``category`` and ``is_return`` (without it, negative amounts are returns).
    as_of : date
        The report date; later transactions are ignored, the whole of this day counts.
    names : iterable of str, optional
        Features to return, in this order; every feature the data supports by default.
    options : FeaturesConfig, optional
        Look-back window and trend periods; the defaults when None.

    Returns
    -------
    DataFrame
        One row per customer in scope, indexed by ``customer_id`` (sorted), float64 columns.
    """
    options = options or FeaturesConfig()
    table = transactions if isinstance(transactions, ir.Table) else ibis.memtable(transactions)
    columns = set(table.columns)
    names = _check_names(names, columns)
    if "is_return" not in columns:
        table = table.mutate(is_return=table.amount < 0)
    in_scope = _in_window(table, as_of, options)
    per_customer = _aggregate(in_scope, as_of, options, names)
    # One query: the number of customers with any line in scope rides along as a constant column.
    everyone = in_scope.customer_id.nunique().as_scalar().name(_EVERYONE)
    query = per_customer.select("customer_id", *names, everyone).order_by("customer_id")
    try:
        frame = query.to_pandas()
    except Exception as exc:
        if not _is_money_overflow(exc):
            raise
        raise DataError(_money_overflow_message(in_scope)) from None
    if frame.empty:
        raise DataError(_empty_message(table, as_of, options))
    _warn_about_returns_only(int(frame[_EVERYONE].iloc[0]), len(frame))
    return frame.drop(columns=_EVERYONE).set_index("customer_id").astype("float64")


def _is_money_overflow(exc: Exception) -> bool:
    """Whether `exc` is an engine's refusal to hold an amount or a sum as :data:`MONEY`."""
    if isinstance(exc, duckdb.ConversionException | duckdb.OutOfRangeException):
        return True
    state = getattr(exc, "getSqlState", lambda: None)() or ""
    return state.startswith("22")  # Spark's numeric value out of range, invalid cast, ...


def _money_overflow_message(table: ir.Table) -> str:
    """Which amounts make the exact money sums overflow, with the largest and the limit."""
    ok = finite(table.amount)
    figures = table.aggregate(
        largest=table.amount.abs().max(where=ok), non_finite=(~ok).fill_null(False).sum()
    ).to_pandas()
    largest, non_finite = float(figures["largest"].iloc[0]), int(figures["non_finite"].iloc[0])
    if non_finite:
        return (
            f"column 'amount' holds {non_finite} value(s) that are NaN or infinite; money is "
            f"summed as exact {str(MONEY).upper()} and cannot hold them. Load transactions with "
            "seglab.data.reading.load, whose cleaning drops them (rule amount_not_finite)."
        )
    return (
        f"column 'amount' is too large for exact money sums: the largest amount is "
        f"{largest:.6g}; money is summed as {str(MONEY).upper()}, whose sums must stay below "
        f"{MONEY_LIMIT:.0e}, and revenue_cv squares each customer's monthly revenue, which must "
        "therefore stay below 1e+13. Check the amount's column mapping and its unit."
    )


def _check_names(names: Iterable[str] | None, columns: set[str]) -> list[str]:
    if names is None:
        return [n for n in FEATURES.names() if set(FEATURES.get(n).needs) <= columns]
    names = list(names)
    for name in names:
        missing = set(FEATURES.get(name).needs) - columns
        if missing:
            raise ConfigError(
                f"feature '{name}' needs the column(s) {', '.join(sorted(missing))}, which the "
                "transactions do not have; map them under data.columns or drop the feature"
            )
    return names


def _in_window(table: ir.Table, as_of: dt.date, options: FeaturesConfig) -> ir.Table:
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    condition = table.order_date < end
    if options.window_months is not None:
        start = end - pd.DateOffset(months=options.window_months)
        condition &= table.order_date >= start.to_pydatetime()
    return table.filter(condition)


def _empty_message(table: ir.Table, as_of: dt.date, options: FeaturesConfig) -> str:
    first = table.order_date.min().to_pandas()
    if pd.isna(first):
        return "there are no purchases at all; check the data and the cleaning account"
    if first.date() > as_of:
        return (
            f"no transactions on or before as_of {as_of}; the first is on {first:%Y-%m-%d}. "
            "Choose a later as_of."
        )
    return (
        f"no purchases in the {options.window_months}-month window up to as_of {as_of}; "
        "widen features.window_months or choose another as_of"
    )


# The intermediate tables each feature reads besides the per-customer day summary; only the
# ones the requested features need are built, so a narrow request runs a narrow query.
_INTERMEDIATES = {
    "frequency": {"orders"},
    "monetary_total": {"returns"},
    "monetary_mean": {"orders", "returns"},
    "orders_per_month": {"orders"},
    "active_months": {"months"},
    "interpurchase_median_days": {"gaps"},
    "interpurchase_cv": {"gaps"},
    "revenue_cv": {"months"},
    "revenue_last_period": {"orders"},
    "revenue_previous_period": {"orders"},
    "revenue_growth": {"orders"},
    "revenue_last_quarter": {"orders"},
    "orders_last_quarter": {"orders"},
    "revenue_share": {"returns"},
    "product_breadth": {"orders"},
    "category_breadth": {"orders"},
    "returns_rate": {"returns"},
    "returned_orders": {"returns"},
}


def _aggregate(
    table: ir.Table, as_of: dt.date, options: FeaturesConfig, names: list[str]
) -> ir.Table:
    """The requested features as one lazy Ibis table, one row per customer with a purchase."""
    columns = set(table.columns)
    needed = set().union(*(_INTERMEDIATES.get(name, set()) for name in names))
    table = table.mutate(day=table.order_date.date(), money=table.amount.cast(MONEY))
    order_key = "order_id" if "order_id" in columns else "day"
    purchases = table.filter(~table.is_return)

    days = purchases.group_by("customer_id", "day").aggregate(day_revenue=purchases.money.sum())
    result = days.group_by("customer_id").aggregate(
        first_day=days.day.min(),
        last_day=days.day.max(),
        frequency_days=days.count(),
        gross=days.day_revenue.sum(),
        first_day_revenue=days.day_revenue.argmin(days.day),
    )
    parts = []
    if "orders" in needed:
        parts.append(_orders(purchases, as_of, options, order_key, columns))
    if "gaps" in needed:
        previous_day = days.day.lag().over(group_by="customer_id", order_by="day")
        gaps = days.mutate(gap=days.day.delta(previous_day, unit="day"))
        parts.append(
            gaps.group_by("customer_id").aggregate(
                gap_median=gaps.gap.median(), gap_sum_squares=(gaps.gap * gaps.gap).sum()
            )
        )
    if "months" in needed:
        month = purchases.order_date.truncate("M").date()
        months = purchases.group_by("customer_id", month=month).aggregate(
            revenue=purchases.money.sum()
        )
        parts.append(
            months.group_by("customer_id").aggregate(
                active_months=months.count(),
                first_month=months.month.min(),
                revenue_sum=months.revenue.sum(),
                revenue_sum_squares=(months.revenue * months.revenue).sum(),
            )
        )
    if "returns" in needed:
        returns = table.filter(table.is_return)
        returned = returns.group_by("customer_id").aggregate(
            returned=-returns.money.sum(), returned_orders=returns[order_key].nunique()
        )
        parts.append(returned)
    for part in parts:
        joined = result.left_join(part, "customer_id")
        result = joined.select(*result.columns, *(c for c in part.columns if c != "customer_id"))
    if "returns" in needed:
        result = result.mutate(
            returned=result.returned.fill_null(0),
            returned_orders=result.returned_orders.fill_null(0),
        )
        result = result.mutate(net=result.gross - result.returned)
    if "revenue_share" in names:
        result = result.mutate(net_total=result.net.sum().over(ibis.window()))
    # The exact sums (float sums would depend on thread scheduling) become float64 before any
    # division: engines give a decimal quotient different scales (Spark 6 digits, DuckDB double).
    decimals = [name for name, kind in result.schema().items() if kind.is_decimal()]
    result = result.mutate(**{name: result[name].cast("float64") for name in decimals})
    report_day = ibis.date(as_of)
    return result.mutate(
        **{name: _FORMULAS[name](result, report_day).cast("float64") for name in names}
    )


def _orders(
    purchases: ir.Table, as_of: dt.date, options: FeaturesConfig, order_key: str, columns: set
) -> ir.Table:
    """Per-customer order counts, period revenues and breadth."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    last_start = (end - pd.DateOffset(months=options.growth_months)).to_pydatetime()
    previous_start = (end - pd.DateOffset(months=2 * options.growth_months)).to_pydatetime()
    recent_start = end - dt.timedelta(days=options.recent_days)
    when, amount = purchases.order_date, purchases.money
    optional = {}
    if "product_id" in columns:
        optional["product_breadth"] = purchases.product_id.nunique()
    if "category" in columns:
        optional["category_breadth"] = purchases.category.nunique()
    return purchases.group_by("customer_id").aggregate(
        frequency=purchases[order_key].nunique(),
        revenue_last_period=amount.sum(where=when >= last_start).fill_null(0),
        revenue_previous_period=amount.sum(
            where=(when >= previous_start) & (when < last_start)
        ).fill_null(0),
        revenue_last_quarter=amount.sum(where=when >= recent_start).fill_null(0),
        orders_last_quarter=purchases[order_key].nunique(where=when >= recent_start),
        **optional,
    )


def _gap_cv(t: ir.Table, day: ir.DateScalar) -> ir.FloatingValue:
    """Population std / mean of the gaps, from exact integer sums (0 with one gap or none)."""
    gaps = t.frequency_days - 1
    mean = t.last_day.delta(t.first_day, unit="day") / gaps
    variance = (t.gap_sum_squares / gaps - mean * mean).clip(lower=0)
    return ((gaps > 1) & (mean > 0)).ifelse(variance.sqrt() / mean, 0)


def _tenure(t: ir.Table, day: ir.DateScalar) -> ir.IntegerValue:
    return day.delta(t.first_day, unit="day")


def _mean_gap(t: ir.Table, day: ir.DateScalar) -> ir.FloatingValue:
    single = t.frequency_days == 1
    return single.ifelse(
        _tenure(t, day), t.last_day.delta(t.first_day, unit="day") / (t.frequency_days - 1)
    )


def _revenue_cv(t: ir.Table, day: ir.DateScalar) -> ir.FloatingValue:
    n_months = day.truncate("M").delta(t.first_month, unit="month") + 1
    mean = t.revenue_sum / n_months
    variance = (t.revenue_sum_squares / n_months - mean * mean).clip(lower=0)
    return (mean > 0).ifelse(variance.sqrt() / mean, 0)


def _growth(t: ir.Table) -> ir.FloatingValue:
    both = t.revenue_last_period + t.revenue_previous_period
    return (both > 0).ifelse(2 * (t.revenue_last_period - t.revenue_previous_period) / both, 0)


def _btyd_monetary(t: ir.Table) -> ir.FloatingValue:
    repeat_days = t.frequency_days - 1
    return (repeat_days > 0).ifelse((t.gross - t.first_day_revenue) / repeat_days, 0)


_FORMULAS = {
    "recency_days": lambda t, day: day.delta(t.last_day, unit="day"),
    "frequency": lambda t, day: t.frequency,
    "frequency_days": lambda t, day: t.frequency_days,
    "monetary_total": lambda t, day: t.net,
    "monetary_mean": lambda t, day: t.net / t.frequency,
    "tenure_days": _tenure,
    "orders_per_month": lambda t, day: (
        t.frequency * DAYS_PER_MONTH / ibis.greatest(_tenure(t, day), DAYS_PER_MONTH)
    ),
    "active_months": lambda t, day: t.active_months,
    "interpurchase_mean_days": _mean_gap,
    "interpurchase_median_days": lambda t, day: (t.frequency_days == 1).ifelse(
        _tenure(t, day), t.gap_median
    ),
    "interpurchase_cv": _gap_cv,
    "revenue_cv": _revenue_cv,
    "revenue_last_period": lambda t, day: t.revenue_last_period,
    "revenue_previous_period": lambda t, day: t.revenue_previous_period,
    "revenue_growth": lambda t, day: _growth(t),
    "revenue_last_quarter": lambda t, day: t.revenue_last_quarter,
    "orders_last_quarter": lambda t, day: t.orders_last_quarter,
    "revenue_share": lambda t, day: t.net / t.net_total,
    "product_breadth": lambda t, day: t.product_breadth,
    "category_breadth": lambda t, day: t.category_breadth,
    "returns_rate": lambda t, day: (t.gross > 0).ifelse(t.returned / t.gross, 0),
    "returned_orders": lambda t, day: t.returned_orders,
    "btyd_frequency": lambda t, day: t.frequency_days - 1,
    "btyd_recency": lambda t, day: t.last_day.delta(t.first_day, unit="day"),
    "btyd_T": _tenure,
    "btyd_monetary": lambda t, day: _btyd_monetary(t),
}


def _warn_about_returns_only(everyone: int, n_customers: int) -> None:
    if everyone > n_customers:
        warnings.warn(
            f"{everyone - n_customers} customer(s) have only returns up to as_of and no purchase; "
            "they are out of scope (no features, no segment)",
            SeglabWarning,
            stacklevel=3,
        )
