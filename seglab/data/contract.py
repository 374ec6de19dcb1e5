"""The transaction contract: column mapping, types and the named source formats (presets).

Contract columns: ``customer_id``, ``order_date`` and ``amount`` are required (``amount`` may be
derived as ``quantity * unit_price``); ``order_id``, ``quantity``, ``unit_price``, ``product_id``
and ``category`` are optional. Everything here builds lazy Ibis expressions; counts and samples for
error messages are the only queries run.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from seglab.data.settings import CONTRACT_COLUMNS
from seglab.errors import SchemaError
from seglab.registry import Registry, suggest

__all__ = [
    "LINE_KEYS",
    "PRESETS",
    "REQUIRED_COLUMNS",
    "Preset",
    "apply_contract",
    "line_keys",
    "resolve_mapping",
]

REQUIRED_COLUMNS = ("customer_id", "order_date", "amount")
NUMERIC_COLUMNS = ("amount", "quantity", "unit_price")


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
    raw: ir.Table, mapping: dict[str, str], *, source: str, keep: tuple[str, ...] = ()
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

    Returns
    -------
    ibis Table
        Contract columns: ``order_date`` timestamp, numbers float64, ids as int64 or string.
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
            converted[name] = _to_timestamp(raw, column, source)
        elif name in ("customer_id", "order_id", "product_id"):
            converted[name] = _to_id(raw[column])
        else:
            converted[name] = raw[column].cast("string")
    if derived:
        converted["amount"] = converted["quantity"] * converted["unit_price"]
    ordered = {name: converted[name] for name in CONTRACT_COLUMNS if name in converted}
    return raw.select(**ordered, **{name: raw[name] for name in keep})


def _bad_values(raw: ir.Table, column: str, converted: ir.Column) -> tuple[int, str]:
    bad = raw.filter(raw[column].notnull() & converted.isnull())
    count = int(bad.count().to_pandas())
    sample = bad.select(value=bad[column].cast("string")).distinct().order_by("value").limit(5)
    return count, ", ".join(repr(v) for v in sample.to_pandas()["value"])


def _to_number(raw: ir.Table, column: str, source: str) -> ir.Column:
    values = raw[column]
    if values.type().is_numeric():
        return values.cast("float64")
    if not values.type().is_string():
        raise SchemaError(f"{source}: column '{column}' must be numeric, not {values.type()}")
    numbers = values.strip().try_cast("float64")
    count, sample = _bad_values(raw, column, numbers)
    if count:
        raise SchemaError(
            f"{source}: column '{column}' must be numeric; {count} value(s) are not "
            f"(e.g. {sample}). Fix the file or map another column."
        )
    return numbers


def _to_timestamp(raw: ir.Table, column: str, source: str) -> ir.Column:
    values = raw[column]
    kind = values.type()
    if kind.is_timestamp() or kind.is_date():
        return values.cast("timestamp")
    if not kind.is_string():
        raise SchemaError(f"{source}: column '{column}' must hold dates, not {kind}")
    dates = values.strip().try_cast("timestamp")
    count, sample = _bad_values(raw, column, dates)
    if count:
        raise SchemaError(
            f"{source}: column '{column}' has {count} value(s) that are not dates "
            f"(e.g. {sample}). Use ISO dates (2024-01-31 or 2024-01-31 14:05)."
        )
    return dates


def _to_id(values: ir.Column) -> ir.Column:
    """Whole-number ids become int64 (floats too: CSV gaps make them floats); others strings."""
    kind = values.type()
    if kind.is_integer() or kind.is_floating():
        return values.cast("int64")
    return values.cast("string")
