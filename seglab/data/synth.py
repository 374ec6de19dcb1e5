"""Seeded generator of realistic synthetic customer transactions.

The generated data is the embedded default dataset of seglab and the ground truth for tests that
check whether clustering recovers the archetypes the customers were drawn from.

Everything random comes from one :func:`numpy.random.default_rng` created in :func:`generate`, so
the same arguments always give the same data. The work is vectorised over customers, orders and
order lines; the only Python loops run over the handful of archetypes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from seglab.data.archetypes import (
    ARCHETYPES,
    CATEGORIES,
    CHANNELS,
    COMPANY_SIZES,
    INDUSTRIES,
    INDUSTRY_WEIGHTS,
    REGIONS,
)
from seglab.errors import ConfigError
from seglab.progress import progress_bar

__all__ = [
    "SyntheticData",
    "catalogue",
    "generate",
    "write",
    "write_parts",
]

_REGION_WEIGHTS = (0.24, 0.22, 0.20, 0.18, 0.16)
_CHANNEL_WEIGHTS_B2C = (0.58, 0.40, 0.02)
_CHANNEL_WEIGHTS_B2B = (0.30, 0.10, 0.60)
# Median unit price per category, in currency units (same order as CATEGORIES).
_CATEGORY_PRICE = (3.5, 24.0, 32.0, 19.0, 16.0, 14.0, 21.0, 9.0)
_PRODUCTS_PER_CATEGORY = 25
_ORDER_NOISE_SIGMA = 0.3
_MAX_LINES = 60
_MINUTES_PER_DAY = 1440
_MINUTES_PER_YEAR = 1440 * 365.25


@dataclass(frozen=True)
class SyntheticData:
    """Synthetic transactions and the customers who made them.

    Attributes
    ----------
    transactions : pandas.DataFrame
        One row per order line: ``order_id``, ``customer_id``, ``order_date``, ``product_id``,
        ``category``, ``quantity``, ``unit_price``, ``amount``.
    customers : pandas.DataFrame
        One row per customer: ``customer_id``, ``region``, ``channel``, ``customer_type``,
        ``age``, ``employee_count``, ``true_segment``, ``industry`` and ``company_size`` (both
        missing for consumers; the size band follows ``employee_count``).
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame


def catalogue() -> pd.DataFrame:
    """Return the fixed product catalogue (no randomness; the same for every seed).

    Returns
    -------
    pandas.DataFrame
        Columns ``product_id``, ``category``, ``unit_price``; 25 products per category.
    """
    ids, cats, prices = _catalogue_arrays()
    return pd.DataFrame(
        {
            "product_id": _labels(ids, np.arange(len(ids))),
            "category": _labels(CATEGORIES, cats),
            "unit_price": prices,
        }
    )


def generate(
    n_customers: int = 20_000,
    *,
    seed: int = 0,
    start: str = "2024-11-01",
    end: str = "2026-10-31",
) -> SyntheticData:
    """Generate synthetic customers and their transactions.

    Parameters
    ----------
    n_customers : int
        Number of customers (at least 1); every archetype is present when it is 7 or more.
    seed : int
        Seed of the random generator; the same seed gives the same data.
    start, end : str
        First and last day of the observation window: ISO dates (a ``datetime.date`` is accepted
        too; a time of day is ignored). ``end``'s day is included, up to 23:59.

    Returns
    -------
    SyntheticData
        Transactions sorted by ``order_date``, ``order_id``, ``product_id`` and customers sorted
        by ``customer_id``.

    Raises
    ------
    ConfigError
        If an argument is out of range or a date cannot be parsed.
    """
    _check_n_customers(n_customers)
    _check_seed(seed)
    start_day = _parse_day(start, "start")
    end_day = _parse_day(end, "end")
    if start_day >= end_day:
        raise ConfigError(
            f"start must be before end: got start={start!r} and end={end!r}; "
            "expected a start date earlier than the end date"
        )
    return _generate(n_customers, np.random.default_rng(seed), start_day, end_day)


def _generate(
    n_customers: int,
    rng: np.random.Generator,
    start_day: pd.Timestamp,
    end_day: pd.Timestamp,
    first_customer: int = 1,
    first_order: int = 1,
) -> SyntheticData:
    """:func:`generate` with checked arguments; ids are numbered from the two given numbers."""
    # Last minute of the window, counted from start 00:00 (the window is [0, span] minutes).
    span = ((end_day - start_day).days + 1) * _MINUTES_PER_DAY - 1
    arch = _assign_archetypes(n_customers, rng)
    first, last = _active_windows(arch, span, rng)
    counts = _order_counts(arch, first, last, rng)
    order_cust, order_minute, order_value = _orders(arch, first, last, counts, rng)
    transactions = _lines(
        arch, order_cust, order_minute, order_value, start_day, rng, first_customer, first_order
    )
    customers = _customers(arch, rng, first_customer)
    return SyntheticData(transactions=transactions, customers=customers)


def write_parts(
    n_customers: int,
    transactions_dir: str | Path,
    customers_path: str | Path,
    *,
    seed: int = 0,
    start: str = "2024-11-01",
    end: str = "2026-10-31",
    part_customers: int = 100_000,
    progress: bool = True,
) -> dict[str, Path]:
    """Generate a large synthetic log part by part, in bounded memory, straight to Parquet.

    Customers are drawn in parts of `part_customers` (each from its own stream of the seed, so
    the same arguments give the same files); each part's lines become one Parquet file in
    `transactions_dir`, and all customers one file. Ids run on across parts. The folder is
    written under a temporary name and renamed when complete, so an interrupted run leaves no
    partial log behind.

    Parameters
    ----------
    n_customers : int
        Number of customers (at least 1).
    transactions_dir, customers_path : str or pathlib.Path
        Folder of transaction parts (replaced if it exists) and the customers file.
    seed, start, end
        As in :func:`generate`.
    part_customers : int
        Customers per part; memory grows with it (100,000 take about 1 GB).
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"transactions": folder, "customers": path}``.
    """
    _check_n_customers(n_customers)
    if part_customers < 1:
        raise ConfigError(f"part_customers must be at least 1: got {part_customers}")
    _check_seed(seed)
    start_day, end_day = _parse_day(start, "start"), _parse_day(end, "end")
    folder, customers_path = Path(transactions_dir), Path(customers_path)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    customers, next_customer, next_order = [], 1, 1
    starts = range(0, n_customers, part_customers)
    for part, first in enumerate(progress_bar(starts, desc="synth", unit="part", enabled=progress)):
        size = min(part_customers, n_customers - first)
        rng = np.random.default_rng([seed, part])
        data = _generate(size, rng, start_day, end_day, next_customer, next_order)
        _to_parquet(data.transactions, partial / f"part-{part:05d}.parquet")
        customers.append(data.customers)
        next_customer += size
        next_order += data.transactions["order_id"].nunique()
    customers_path.parent.mkdir(parents=True, exist_ok=True)
    _to_parquet(pd.concat(customers, ignore_index=True), customers_path)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return {"transactions": folder, "customers": customers_path}


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write without an index, timestamps in microseconds (Spark cannot read nanoseconds)."""
    frame.to_parquet(path, index=False, coerce_timestamps="us")


def write(data: SyntheticData, out_dir: str | Path) -> dict[str, Path]:
    """Write transactions.parquet and customers.parquet into ``out_dir`` (created if needed).

    Parameters
    ----------
    data : SyntheticData
        The data to write.
    out_dir : str or pathlib.Path
        Target directory.

    Returns
    -------
    dict of str to pathlib.Path
        ``{"transactions": path, "customers": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "transactions": out / "transactions.parquet",
        "customers": out / "customers.parquet",
    }
    _to_parquet(data.transactions, paths["transactions"])
    _to_parquet(data.customers, paths["customers"])
    return paths


# --------------------------------------------------------------------------------------------
# Argument checks


def _check_n_customers(n_customers: object) -> None:
    if isinstance(n_customers, bool) or not isinstance(n_customers, int | np.integer):
        raise ConfigError(
            f"n_customers must be an integer: got {n_customers!r}; expected an int >= 1"
        )
    if n_customers < 1:
        raise ConfigError(f"n_customers must be at least 1: got {n_customers}; expected >= 1")


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer: got {seed!r}")


def _parse_day(value: object, name: str) -> pd.Timestamp:
    expected = "expected an ISO date such as '2024-11-01'"
    if not isinstance(value, str | date):
        raise ConfigError(f"{name} is not a valid date: got {value!r}; {expected}")
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} is not a valid date: got {value!r}; {expected}") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ConfigError(f"{name} is not a valid date: got {value!r}; {expected}")
    if ts.tzinfo is not None:
        raise ConfigError(f"{name} must be a date without time zone: got {value!r}; {expected}")
    return ts.normalize()


# --------------------------------------------------------------------------------------------
# Customers and their active windows


def _param(name: str) -> np.ndarray:
    """Return one archetype parameter as an array indexed by archetype code."""
    return np.array([getattr(a, name) for a in ARCHETYPES], dtype=float)


def _assign_archetypes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Archetype code per customer: exact largest-remainder counts, shuffled."""
    shares = _param("share")
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    if n >= len(ARCHETYPES):
        # Make every archetype present, taking from the most over-served one.
        for k in np.flatnonzero(counts == 0):
            surplus = np.where(counts > 1, counts - raw, -np.inf)
            counts[np.argmax(surplus)] -= 1
            counts[k] += 1
    codes = np.repeat(np.arange(len(ARCHETYPES)), counts)
    return rng.permutation(codes)


def _active_windows(
    arch: np.ndarray, span: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """First and last active minute per customer (inclusive, within [0, span])."""
    n = len(arch)
    span_days = span / _MINUTES_PER_DAY
    first_lo = np.minimum(_param_pair("first_purchase_days", 0)[arch], span_days)
    first_hi = np.minimum(_param_pair("first_purchase_days", 1)[arch], span_days)
    first_days = first_lo + rng.random(n) * (first_hi - first_lo)
    first = np.clip(np.rint(span - first_days * _MINUTES_PER_DAY), 0, span).astype(np.int64)

    last_lo = _param_pair("last_active_days", 0)[arch]
    last_hi = _param_pair("last_active_days", 1)[arch]
    last_days = last_lo + rng.random(n) * (last_hi - last_lo)
    last = np.clip(np.rint(span - last_days * _MINUTES_PER_DAY), first, span).astype(np.int64)

    drops = rng.random(n) < _param("dropout")[arch]
    cut = first + np.floor(rng.random(n) * (last - first + 1)).astype(np.int64)
    last = np.where(drops, cut, last)
    return first, last


def _param_pair(name: str, i: int) -> np.ndarray:
    return np.array([getattr(a, name)[i] for a in ARCHETYPES], dtype=float)


def _order_counts(
    arch: np.ndarray, first: np.ndarray, last: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Number of orders per customer: Poisson(rate * active years), at least 1."""
    shape = _param("rate_shape")[arch]
    rate = _param("orders_per_year")[arch] * rng.gamma(shape, 1.0 / shape)
    years = (last - first + 1) / _MINUTES_PER_YEAR
    counts = np.maximum(rng.poisson(rate * years), 1)
    cap = np.array([a.max_orders or np.iinfo(np.int64).max for a in ARCHETYPES], dtype=np.int64)
    return np.minimum(counts, cap[arch])


def _orders(
    arch: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    counts: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, minute and value of every order, in chronological order."""
    n = len(arch)
    level = _param("order_value")[arch] * np.exp(_param("value_sigma")[arch] * rng.normal(size=n))
    growth = _param("trend_mean")[arch] + _param("trend_sd")[arch] * rng.normal(size=n)

    cust = np.repeat(np.arange(n), counts)
    width = last[cust] - first[cust] + 1
    minute = first[cust] + np.floor(rng.random(len(cust)) * width).astype(np.int64)
    years = (minute - first[cust]) / _MINUTES_PER_YEAR
    noise = np.exp(_ORDER_NOISE_SIGMA * rng.normal(size=len(cust)))
    value = level[cust] * np.exp(growth[cust] * years) * noise

    chrono = np.argsort(minute * n + cust)  # unique keys: by time, then customer
    return cust[chrono], minute[chrono], value[chrono]


# --------------------------------------------------------------------------------------------
# Order lines and output frames


def _catalogue_arrays() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Product ids, category codes and unit prices of the fixed catalogue."""
    per = _PRODUCTS_PER_CATEGORY
    n_cat = len(CATEGORIES)
    cats = np.repeat(np.arange(n_cat), per)
    k = np.tile(np.arange(per), n_cat)
    # Prices spread geometrically from 0.35x to 3x the category median, in a scrambled order so
    # that popularity (by position) is not tied to price; prices end in .x9.
    mult = 0.35 * (3.0 / 0.35) ** (((k * 7 + cats * 3) % per) / (per - 1))
    base = np.asarray(_CATEGORY_PRICE)[cats] * mult
    prices = np.maximum(np.round(base, 1) - 0.01, 0.49).round(2)
    ids = [f"P{1001 + i}" for i in range(n_cat * per)]
    return ids, cats, prices


def _lines(
    arch: np.ndarray,
    order_cust: np.ndarray,
    order_minute: np.ndarray,
    order_value: np.ndarray,
    start_day: pd.Timestamp,
    rng: np.random.Generator,
    first_customer: int,
    first_order: int,
) -> pd.DataFrame:
    """Expand orders into order lines and build the transactions frame."""
    ids, cat_of_product, prices = _catalogue_arrays()
    line_order, product, quantity = _draw_lines(arch[order_cust], order_value, prices, rng)
    price = prices[product]
    amount = np.round(quantity * price, 2)

    n_orders = len(order_cust)
    order_ids = _padded_ids("O", np.arange(first_order, first_order + n_orders), 8)
    customer_ids = _padded_ids("C", order_cust + first_customer, 7)
    dates = np.datetime64(start_day.date(), "m") + order_minute.astype("timedelta64[m]")
    return pd.DataFrame(
        {
            "order_id": order_ids.take(line_order),
            "customer_id": customer_ids.take(line_order),
            "order_date": dates.astype("datetime64[us]")[line_order],
            "product_id": _labels(ids, product),
            "category": _labels(CATEGORIES, cat_of_product[product]),
            "quantity": quantity,
            "unit_price": price,
            "amount": amount,
        }
    )


def _draw_lines(
    order_arch: np.ndarray, order_value: np.ndarray, prices: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order index, product index and quantity of every line, sorted by order then product."""
    n_orders = len(order_arch)
    per = _PRODUCTS_PER_CATEGORY
    n_products = len(prices)
    n_cat = len(CATEGORIES)

    lines_mean = _param("lines_per_order")[order_arch]
    n_lines = np.minimum(1 + rng.poisson(lines_mean - 1.0), _MAX_LINES)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    line_arch = order_arch[line_order]
    n_draw = len(line_order)

    # Category by inverse CDF of the line's archetype preferences; archetype a's cumulative
    # weights are shifted to [a, a + 1] so that one searchsorted serves all archetypes.
    weights = np.array([a.category_weights for a in ARCHETYPES], dtype=float)
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    shifted = (np.arange(len(ARCHETYPES))[:, None] + cum).ravel()
    category = np.searchsorted(shifted, line_arch + rng.random(n_draw), side="right")
    category -= line_arch * n_cat
    np.minimum(category, n_cat - 1, out=category)
    del line_arch

    # Two candidate products per line within its category, by popularity rank.
    popularity = 1.0 / np.arange(1, per + 1) ** 0.8
    pop_cum = np.cumsum(popularity / popularity.sum())
    pop_cum[-1] = 1.0
    first = category * per + np.minimum(np.searchsorted(pop_cum, rng.random(n_draw)), per - 1)
    second = category * per + np.minimum(np.searchsorted(pop_cum, rng.random(n_draw)), per - 1)
    del category

    # Split each order's value over its lines; a line whose first product costs more than its
    # share takes the second candidate when that one is cheaper (small baskets, cheap items).
    target = rng.gamma(2.0, 1.0, size=n_draw)
    target *= (order_value / np.bincount(line_order, weights=target, minlength=n_orders))[
        line_order
    ]
    p_first, p_second = prices[first], prices[second]
    swap = (p_first > target) & (p_second < p_first)
    del p_first, p_second
    product = np.where(swap, second, first)
    del first, second, swap

    # Sort lines by (order, product) and merge repeated products within an order.
    key, inverse = np.unique(line_order * n_products + product, return_inverse=True)
    del line_order, product
    target = np.bincount(inverse, weights=target, minlength=len(key))
    del inverse
    quantity = np.maximum(np.rint(target / prices[key % n_products]), 1).astype(np.int64)
    return key // n_products, key % n_products, quantity


def _customers(arch: np.ndarray, rng: np.random.Generator, first_customer: int) -> pd.DataFrame:
    """Build the customers frame with attributes drawn per customer."""
    n = len(arch)
    is_b2b = rng.random(n) < _param("b2b_share")[arch]
    region = _pick(rng, _REGION_WEIGHTS, n)
    channel = np.where(
        is_b2b, _pick(rng, _CHANNEL_WEIGHTS_B2B, n), _pick(rng, _CHANNEL_WEIGHTS_B2C, n)
    )
    age = np.clip(np.rint(rng.normal(44.0, 14.0, size=n)), 18, 85)
    age = np.where(is_b2b, np.nan, age)
    bulk = arch == _code("b2b_bulk")
    log_size = np.where(bulk, np.log(60.0), np.log(12.0)) + 1.5 * rng.normal(size=n)
    employees = np.clip(np.rint(np.exp(log_size)), 1, 5000)
    employees = np.where(is_b2b, employees, np.nan)
    # Drawn last: the columns above are those of earlier versions, value for value.
    weights = np.array([INDUSTRY_WEIGHTS[a.name] for a in ARCHETYPES])
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    industry = (rng.random(n)[:, None] > cumulative[arch]).sum(axis=1)
    industry = np.minimum(industry, len(INDUSTRIES) - 1)
    bounds = [limit for _, limit in COMPANY_SIZES[:-1]]
    size = np.searchsorted(bounds, np.nan_to_num(employees), side="right")
    return pd.DataFrame(
        {
            "customer_id": _padded_ids("C", np.arange(first_customer, first_customer + n), 7),
            "region": _labels(REGIONS, region),
            "channel": _labels(CHANNELS, channel),
            "customer_type": _labels(("B2C", "B2B"), is_b2b.astype(np.int64)),
            "age": age.astype(np.float64),
            "employee_count": employees.astype(np.float64),
            "true_segment": _labels([a.name for a in ARCHETYPES], arch),
            "industry": _labels(INDUSTRIES, industry, present=is_b2b),
            "company_size": _labels([name for name, _ in COMPANY_SIZES], size, present=is_b2b),
        }
    )


def _code(name: str) -> int:
    return next(i for i, a in enumerate(ARCHETYPES) if a.name == name)


def _pick(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _labels(
    labels: tuple[str, ...] | list[str], codes: np.ndarray, present: np.ndarray | None = None
) -> pd.api.extensions.ExtensionArray:
    """String column (pandas "str" dtype) holding ``labels[codes]``, missing where not
    `present`."""
    column = pd.array(pa.array(list(labels), type=pa.string()), dtype="str").take(codes)
    return column if present is None else pd.Series(column).where(present).array


def _padded_ids(prefix: str, numbers: np.ndarray, width: int) -> pd.api.extensions.ExtensionArray:
    """String column of ``prefix`` + zero-padded ``numbers`` (wider when the numbers need it)."""
    width = max(width, len(str(int(numbers.max())))) if len(numbers) else width
    digits = pc.utf8_lpad(pa.array(numbers, type=pa.int64()).cast(pa.string()), width, "0")
    joined = pc.binary_join_element_wise(prefix, digits, "")
    return pd.array(joined, dtype="str")
