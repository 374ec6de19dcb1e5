"""The transaction contract: column mapping, types and the named source formats (presets).

Contract columns: ``customer_id``, ``order_date`` and ``amount`` are required (``amount`` may be
derived as ``quantity * unit_price``); ``order_id``, ``quantity``, ``unit_price``, ``product_id``
and ``category`` are optional. Everything here builds lazy Ibis expressions; counts and samples for
error messages are the only queries run.

Customer ids are text, one form whatever the file holds: integers and whole floats as their
integer text (``12345.0`` -> ``"12345"``), text stripped; the attribute table's ids go through the
same function, so both sides of the attribute join agree.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from seglab.data.settings import CONTRACT_COLUMNS
from seglab.errors import ConfigError, DataError, SchemaError
from seglab.registry import Registry, suggest

__all__ = [
    "LINE_KEYS",
    "MONEY",
    "MONEY_LIMIT",
    "PRESETS",
    "REQUIRED_COLUMNS",
    "Preset",
    "apply_contract",
    "check_amounts",
    "customer_ids",
    "finite",
    "line_keys",
    "resolve_mapping",
    "spark_date_pattern",
]

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("customer_id", "order_date", "amount")
NUMERIC_COLUMNS = ("amount", "quantity", "unit_price")
#: Money is summed as exact decimals: float sums in a parallel engine depend on the order in
#: which threads combine partial sums, and the same inputs must give the same bytes.
MONEY = ibis.dtype("decimal(38, 6)")
#: Amounts, and their absolute total, must stay below this to be summed exactly as :data:`MONEY`.
MONEY_LIMIT = 10.0 ** (MONEY.precision - MONEY.scale)
#: Floats hold every integer up to 2**53; a float id beyond it may not be the id that was meant.
_EXACT_FLOAT_INTEGERS = 2.0**53
#: Day/month/year or month/day/year with any of / . - between, a four-digit year, any time after.
_NUMERIC_DATE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(.*)$"


@dataclass(frozen=True)
class Preset:
    """A named source format: file column names per contract column, and cleaning defaults."""

    description: str
    columns: dict[str, tuple[str, ...]]
    return_prefix: str = ""
    non_product_codes: tuple[str, ...] = ()


PRESETS: Registry[Preset] = Registry("data preset")
PRESETS.register(
    "uci_online_retail",
    Preset(
        description="UCI Online Retail (I and II spellings): one row per invoice line, GBP.",
        columns={
            "customer_id": ("CustomerID", "Customer ID"),
            "order_date": ("InvoiceDate",),
            "order_id": ("InvoiceNo", "Invoice"),
            "quantity": ("Quantity",),
            "unit_price": ("UnitPrice", "Price"),
            "product_id": ("StockCode",),
        },
        return_prefix="C",
        non_product_codes=(
            "POST",
            "DOT",
            "M",
            "C2",
            "D",
            "S",
            "BANK CHARGES",
            "AMAZONFEE",
            "CRUK",
            "B",
            "PADS",
            "gift_0001_*",
        ),
    ),
)


def resolve_mapping(
    found: list[str], *, preset: str | None = None, columns: dict[str, str] | None = None
) -> dict[str, str]:
    """Decide which file column feeds each contract column.

    Explicit `columns` win over the preset, which wins over columns already named as the contract.

    Parameters
    ----------
    found : list of str
        Column names in the file.
    preset : str, optional
        Name in ``PRESETS``.
    columns : dict, optional
        Contract name -> file column name, from the config's ``data.columns``.

    Returns
    -------
    dict
        Contract name -> file column, for the contract columns that could be mapped.
    """
    mapping = {name: name for name in CONTRACT_COLUMNS if name in found}
    if preset is not None:
        for name, candidates in PRESETS.get(preset).columns.items():
            present = [c for c in candidates if c in found]
            if present:
                mapping[name] = present[0]
    for name, column in (columns or {}).items():
        if column not in found:
            raise SchemaError(
                f"data.columns maps '{name}' to '{column}', but the file has no such column"
                f"{suggest(column, found) or '.'} Columns found: {', '.join(map(str, found))}."
            )
        mapping[name] = column
    return mapping


#: Two hashes of all input columns of a line, in file order and reversed. Together they are 64
#: bits or more on every engine (Spark's hash is 32 bits: millions of lines would collide).
LINE_KEYS = ("line_hash", "line_hash_reversed")


def line_keys(raw: ir.Table) -> dict[str, ir.IntegerColumn]:
    """The :data:`LINE_KEYS` columns of `raw`: exact duplicate lines share both."""
    columns = list(raw.columns)
    return {
        key: ibis.struct({c: raw[c] for c in order}).hash()
        for key, order in zip(LINE_KEYS, (columns, columns[::-1]), strict=True)
    }


def apply_contract(
    raw: ir.Table,
    mapping: dict[str, str],
    *,
    source: str,
    keep: tuple[str, ...] = (),
    date_format: str | None = None,
) -> ir.Table:
    """Rename, convert types and derive ``amount``; raise SchemaError on anything off-contract.

    Parameters
    ----------
    raw : ibis Table
        The file as read.
    mapping : dict
        From :func:`resolve_mapping`.
    source : str
        File name for messages.
    keep : tuple of str
        Extra columns of `raw` passed through unchanged.
    date_format : str, optional
        The strftime format of text order dates (``data.date_format``); unset: ISO dates, or
        day/month/year and month/day/year when a day above 12 shows which (ambiguous: an error).

    Returns
    -------
    ibis Table
        Contract columns: ``order_date`` timestamp, numbers float64, ``customer_id`` text, order
        and product ids int64 (whole numbers) or text.
    """
    derived = "amount" not in mapping and {"quantity", "unit_price"} <= mapping.keys()
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping and not (c == "amount" and derived)]
    if missing:
        raise SchemaError(
            f"{source}: required column(s) {', '.join(missing)} not found. Columns found: "
            f"{', '.join(map(str, raw.columns))}. Map them under data.columns in the config "
            "(contract name: file column), or name a data.preset."
        )
    converted = {}
    for name, column in mapping.items():
        if name in NUMERIC_COLUMNS:
            converted[name] = _to_number(raw, column, source)
        elif name == "order_date":
            converted[name] = _to_timestamp(raw, column, source, date_format)
        elif name == "customer_id":
            converted[name] = customer_ids(raw, column, source=source)
        elif name in ("order_id", "product_id"):
            converted[name] = _to_id(raw, column, source, as_text=False)
        else:
            converted[name] = raw[column].cast("string")
    if derived:
        converted["amount"] = converted["quantity"] * converted["unit_price"]
    ordered = {name: converted[name] for name in CONTRACT_COLUMNS if name in converted}
    return raw.select(**ordered, **{name: raw[name] for name in keep})


def finite(values: ir.FloatingValue) -> ir.BooleanValue:
    """True where `values` is a finite number; False for NaN and infinities, NULL for NULL.

    Written as ``x - x == 0`` (NaN for NaN and infinities, 0 otherwise) because that reads the
    same on every engine: Ibis's ``isinf`` is always false on Spark, and DuckDB 2.0 folds
    ``isnan(x)`` and ``abs(x) < inf`` to constants from Parquet statistics, which leave NaN out.
    """
    return (values - values) == 0


def check_amounts(table: ir.Table, source: str, column: str) -> None:
    """Refuse amounts too large to be summed exactly as :data:`MONEY` (non-finite ones aside).

    Parameters
    ----------
    table : ibis Table
        Contract lines.
    source : str
        File name for messages.
    column : str
        What the amount is in the file, for messages (a column name, or how it is derived).

    Raises
    ------
    DataError
        When the largest finite amount, or the absolute total of them, reaches
        :data:`MONEY_LIMIT` (every exact sum of money would overflow).
    """
    size = table.amount.abs()
    ok = finite(table.amount)
    figures = table.aggregate(largest=size.max(where=ok), total=size.sum(where=ok)).to_pandas()
    largest, total = (float(figures[name].iloc[0]) for name in ("largest", "total"))
    if not (largest >= MONEY_LIMIT or total >= MONEY_LIMIT):  # NaN (no amounts) passes
        return
    raise DataError(
        f"{source}: the amounts in {column} are too large to be summed exactly: the largest is "
        f"{largest:.6g} and their absolute total {total:.6g}, but money is summed as "
        f"{str(MONEY).upper()}, which holds less than {MONEY_LIMIT:.0e}. Check that the right "
        "column is mapped as the amount (data.columns) and that its unit is money, not a code "
        "or a cent count gone wrong."
    )


def _whole(value) -> int:
    """A count from a one-row aggregate: NULL (an aggregate over no rows) is 0."""
    return 0 if value is None or value != value else int(value)


def _count(table: ir.Table, condition: ir.BooleanValue) -> int:
    return _whole(table.aggregate(n=condition.fill_null(False).sum()).to_pandas()["n"].iloc[0])


def _sample(raw: ir.Table, column: str, condition: ir.BooleanValue, n: int = 5) -> list[str]:
    bad = raw.filter(condition.fill_null(False))
    values = bad.select(value=bad[column].cast("string")).distinct().order_by("value").limit(n)
    return values.to_pandas()["value"].tolist()


def _quoted(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _to_number(raw: ir.Table, column: str, source: str) -> ir.Column:
    values = raw[column]
    if values.type().is_numeric():
        return values.cast("float64")
    if not values.type().is_string():
        raise SchemaError(f"{source}: column '{column}' must be numeric, not {values.type()}")
    text = values.strip().nullif("")
    numbers = text.try_cast("float64")
    bad = text.notnull() & numbers.isnull()
    count = _count(raw, bad)
    if count:
        raise SchemaError(
            f"{source}: column '{column}' must be numeric; {count} value(s) are not "
            f"(e.g. {_quoted(_sample(raw, column, bad))}). Fix the file or map another column."
        )
    return numbers


# --- dates -------------------------------------------------------------------------------------


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(text: str, format: str) -> dt.datetime:
    """DuckDB's ``try_strptime``: the timestamp `text` spells in `format`, NULL if it does not."""


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _spark_try_to_timestamp(text: str, format: str) -> dt.datetime:
    """Spark's ``try_to_timestamp``: as DuckDB's ``try_strptime``, with a Java pattern."""


_JAVA_LETTERS = {
    "%Y": "yyyy", "%y": "yy", "%m": "M", "%b": "MMM", "%B": "MMMM", "%d": "d", "%H": "H",
    "%I": "h", "%p": "a", "%M": "m", "%S": "s",
}  # fmt: skip


def spark_date_pattern(date_format: str) -> str:
    """The Java pattern Spark parses `date_format` (strftime, :data:`DATE_DIRECTIVES`) with.

    One-letter fields read one or two digits, as DuckDB's ``strptime`` does; literal text is
    quoted, so letters in it are not taken for fields.

    >>> spark_date_pattern("%m/%d/%Y %H:%M")
    "M'/'d'/'yyyy' 'H':'m"
    >>> spark_date_pattern("%Y-%m-%dT%H:%M")
    "yyyy'-'M'-'d'T'H':'m"
    """
    parts = []
    for token in re.split(r"(%.)", date_format):
        if token in _JAVA_LETTERS:
            parts.append(_JAVA_LETTERS[token])
        elif token:
            literal = "%" if token == "%%" else token
            parts.append("'" + literal.replace("'", "''") + "'")
    return "".join(parts)


def _parse_dates(text: ir.StringValue, date_format: str, engine: str) -> ir.TimestampValue:
    """`text` read with `date_format` on `engine`; NULL where a value does not match it."""
    if engine == "duckdb":
        return _duckdb_try_strptime(text, date_format)
    if engine == "pyspark":
        if "%y" in date_format:
            raise ConfigError(
                f"data.date_format '{date_format}' has a two-digit year (%y), which Spark reads "
                "as 2000-2099 and DuckDB as 1969-2068; write four-digit years (%Y) in the file, "
                "or use data.engine: duckdb"
            )
        return _spark_try_to_timestamp(text, spark_date_pattern(date_format))
    raise ConfigError(f"data.date_format is not supported on the {engine} engine")


def _to_timestamp(raw: ir.Table, column: str, source: str, date_format: str | None) -> ir.Column:
    values = raw[column]
    kind = values.type()
    if kind.is_timestamp() or kind.is_date():
        return values.cast("timestamp")
    if not kind.is_string():
        raise SchemaError(f"{source}: column '{column}' must hold dates, not {kind}")
    text = values.strip().nullif("")
    if date_format is not None:
        dates = _parse_dates(text, date_format, ibis.get_backend(raw).name)
        bad = text.notnull() & dates.isnull()
        count = _count(raw, bad)
        if count:
            raise SchemaError(
                f"{source}: column '{column}' has {count} value(s) that are not dates written "
                f"as data.date_format '{date_format}' (e.g. {_quoted(_sample(raw, column, bad))})."
                " Fix those values, or set data.date_format to how the file writes its dates."
            )
        return dates.cast("timestamp")
    iso = text.try_cast("timestamp")
    numeric = text.re_search(_NUMERIC_DATE)
    first, second = (text.re_extract(_NUMERIC_DATE, i).try_cast("int64") for i in (1, 2))
    stats = raw.aggregate(
        n=text.count(),
        iso=iso.count(),
        numeric=numeric.fill_null(False).sum(),
        first=first.max(where=numeric),
        second=second.max(where=numeric),
    ).to_pandas()
    n, n_iso, n_numeric = (_whole(stats[k].iloc[0]) for k in ("n", "iso", "numeric"))
    if n_iso == n:
        return iso
    if n_numeric == n:
        first, second = (_whole(stats[k].iloc[0]) for k in ("first", "second"))
        return _numeric_dates(raw, column, source, first, second)
    if n_numeric > n_iso:  # a few odd values among day/month dates: name those, not the rest
        bad = text.notnull() & ~numeric.fill_null(False)
        written = _sample(raw, column, numeric, n=1)
        raise SchemaError(
            f"{source}: column '{column}' has {n - n_numeric:,} value(s) that are not dates "
            f"(e.g. {_quoted(_sample(raw, column, bad))}) among {n_numeric:,} written like "
            f"{_quoted(written)}. Fix or remove those values (the order of day and month is "
            f"then read from the data), or set data.date_format{_format_hint(written)}."
        )
    bad = text.notnull() & iso.isnull()
    sample = _sample(raw, column, bad)
    raise SchemaError(
        f"{source}: column '{column}' has {n - n_iso} value(s) that are not dates "
        f"(e.g. {_quoted(sample)}). Use ISO dates (2024-01-31 or 2024-01-31 14:05), or set "
        f"data.date_format to how the file writes them{_format_hint(sample)}."
    )


def _format_hint(sample: list[str]) -> str:
    """The formats numeric `sample` dates may be in, as the end of a sentence ("" for others)."""
    found = [re.match(_NUMERIC_DATE, value) for value in sample]
    if not found or not all(found):
        return ""
    first = found[0]
    separator = sample[0][len(first.group(1))]
    time = {0: "", 1: " %H:%M", 2: " %H:%M:%S"}.get(first.group(4).count(":"), "")
    formats = [separator.join(order) + time for order in (("%m", "%d", "%Y"), ("%d", "%m", "%Y"))]
    return f", e.g. '{formats[0]}' (month first) or '{formats[1]}' (day first)"


def _numeric_dates(raw: ir.Table, column: str, source: str, first: int, second: int) -> ir.Column:
    """Dates written d/m/Y or m/d/Y: read in the one order every value fits, never guessed."""
    text = raw[column].strip().nullif("")
    month_first, day_first = first <= 12, second <= 12
    if month_first == day_first:
        sample = _sample(raw, column, text.notnull(), n=3)
        if month_first:
            raise SchemaError(
                f"{source}: column '{column}' holds dates such as {_quoted(sample)} that read "
                "both as month/day/year and as day/month/year (no day is above 12). Set "
                f"data.date_format to how the file writes them{_format_hint(sample)}."
            )
        raise SchemaError(
            f"{source}: column '{column}' holds dates such as {_quoted(sample)} with numbers "
            f"above 12 in both the first and the second place ({first} and {second}), so "
            "neither day/month/year nor month/day/year fits every value. Fix the file, or set "
            "data.date_format to how it writes its dates."
        )
    day, month = (2, 1) if month_first else (1, 2)

    def part(group: int) -> ir.StringValue:
        return text.re_extract(_NUMERIC_DATE, group)

    iso = part(3) + "-" + part(month).lpad(2, "0") + "-" + part(day).lpad(2, "0") + part(4)
    dates = iso.try_cast("timestamp")
    order = "month/day/year" if month_first else "day/month/year"
    bad = text.notnull() & dates.isnull()
    count = _count(raw, bad)
    if count:
        raise SchemaError(
            f"{source}: column '{column}' holds {order} dates, but {count} value(s) are not "
            f"valid dates read so (e.g. {_quoted(_sample(raw, column, bad))}). Fix them, or set "
            "data.date_format to how the file writes its dates."
        )
    log.info("%s: column '%s' read as %s dates (a day above 12 shows it)", source, column, order)
    return dates


# --- ids ---------------------------------------------------------------------------------------


def customer_ids(raw: ir.Table, column: str, *, source: str) -> ir.StringColumn:
    """`column` of `raw` as customer ids: text, one form for every file (see the module doc).

    Integers and whole floats become their integer text, text is stripped (blank: no id), NaN
    is no id. Raises SchemaError naming the column and examples when a float id is not a whole
    number: truncating it would merge different customers.
    """
    return _to_id(raw, column, source, as_text=True)


def _to_id(raw: ir.Table, column: str, source: str, *, as_text: bool) -> ir.Column:
    """An id column: numbers as int64 (text when `as_text`), after refusing non-whole ones."""
    values = raw[column]
    kind = values.type()
    if kind.is_string():
        return values.strip().nullif("")
    if kind.is_floating() or kind.is_decimal():
        # A remainder, not floor(): Ibis casts floor() to an integer, which fails on infinity.
        if kind.is_floating():
            nan = ~finite(values) & (values.abs() != math.inf)  # NaN is a missing id
            values = nan.fill_null(False).ifelse(ibis.null("float64"), values)
            bad = (values % 1 != 0) | ~(values.abs() < _EXACT_FLOAT_INTEGERS)
        else:
            bad = values % 1 != 0
        bad = values.notnull() & bad
        count = _count(raw, bad)
        if count:
            raise SchemaError(
                f"{source}: column '{column}' holds {count} id(s) that are not whole numbers "
                f"(e.g. {_quoted(_sample(raw, column, bad))}); ids must be whole numbers or "
                "text, and cutting off the decimals would merge different customers or orders. "
                "Map the id column under data.columns (an amount or a price may be mapped by "
                "mistake), or fix the file."
            )
        values = values.cast("int64") if kind.is_floating() else values.cast("decimal(38, 0)")
    elif not kind.is_integer():
        return values.cast("string")
    return values.cast("string") if as_text else values.cast("int64")
