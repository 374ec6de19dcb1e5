"""Tables for reading: thousands separators, money in the shop's currency, percentages.

:func:`readable` formats a table by its column names (``share`` -> percent, revenue and values
-> money, counts -> whole numbers) and never prints scientific notation; a table longer than
``max_rows`` shows its first rows and says how many are hidden and which CSV beside the report
holds them all. :func:`setup_display` sets pandas' own display the same way for every other
table of a notebook.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["MAX_ROWS", "full_table_name", "money", "readable", "setup_display"]

#: Tables longer than this show their first rows and name the CSV that holds them all.
MAX_ROWS = 25
_SHARE = re.compile(r"(share|_rate|rate_|fidelity|jaccard|^ari$|membership)")
_MONEY = re.compile(r"(revenue|monetary|value|spend|price|amount|clv|order_value)")
_COUNT = re.compile(r"(customers|^rows|orders|frequency|count|^n_|size|days)")


def setup_display() -> None:
    """pandas display for a report: thousands separators, 2 decimals, no scientific notation."""
    pd.set_option("display.float_format", _number)
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_colwidth", 120)


def full_table_name(name: str) -> str:
    """The file beside the report that holds a table in full.

    >>> full_table_name("Heuristic segments")
    'tables/heuristic_segments.csv'
    """
    return f"tables/{re.sub(r'[^0-9a-z]+', '_', name.lower()).strip('_')}.csv"


def readable(
    table: pd.DataFrame,
    *,
    currency: str = "",
    name: str | None = None,
    max_rows: int = MAX_ROWS,
    index: bool = True,
):
    """A Styler of `table` formatted for reading, cut to `max_rows` with a caption saying so.

    Parameters
    ----------
    table : DataFrame
        Any table; columns are formatted by their names and types.
    currency : str
        Prefix of money columns (the config's ``data.currency``).
    name : str, optional
        The table's name; a cut table's caption points to :func:`full_table_name` of it.
    max_rows : int
        Rows shown at most.
    index : bool
        Show the index.
    """
    shown = table.head(max_rows)
    styler = shown.style.format(
        {column: _formatter(column, shown[column], currency) for column in shown.columns},
        na_rep="–",
    )
    if not index:
        styler = styler.hide(axis="index")
    if len(table) > max_rows:
        where = f" All of them are in {full_table_name(name)} beside this report." if name else ""
        styler = styler.set_caption(
            f"Showing the first {max_rows:,} of {len(table):,} rows "
            f"({len(table) - max_rows:,} hidden).{where}"
        )
    return styler


def _formatter(column: object, values: pd.Series, currency: str):
    label = str(column).lower()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    if _SHARE.search(label):
        return lambda v: "–" if pd.isna(v) else f"{v:.1%}"
    if _MONEY.search(label) and "share" not in label:
        return lambda v: "–" if pd.isna(v) else money(v, currency)
    if _COUNT.search(label) or pd.api.types.is_integer_dtype(values):
        return lambda v: (
            "–" if pd.isna(v) else f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
        )
    return _number


def money(value: float, currency: str = "") -> str:
    """An amount for reading: whole units from 100 up, cents below, the currency first.

    >>> money(9747748.4, "GBP"), money(18.8)
    ('GBP 9,747,748', '18.80')
    """
    prefix = f"{currency} " if currency else ""
    return f"{prefix}{value:,.0f}" if abs(value) >= 100 else f"{prefix}{value:,.2f}"


def _number(value: float) -> str:
    """A number for reading: thousands separators, at most 2 decimals (3 significant if tiny).

    >>> [_number(v) for v in (9747748.0, 0.5, 0.000123, -1234.5678)]
    ['9,747,748.00', '0.50', '0.000123', '-1,234.57']
    """
    if pd.isna(value):
        return "–"
    if value != 0 and abs(value) < 0.01:
        return np.format_float_positional(value, precision=3, fractional=False, trim="-")
    return f"{value:,.2f}"
