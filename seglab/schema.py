"""The transaction contract: column names, types, invariants, presets and the cleaning account.

Contract columns: ``customer_id``, ``order_date`` and ``amount`` are required (``amount`` may be
derived as ``quantity * unit_price``); ``order_id``, ``quantity``, ``unit_price``, ``product_id``
and ``category`` are optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.config import CONTRACT_COLUMNS
from seglab.errors import SchemaError
from seglab.registry import Registry, suggest

__all__ = [
    "PRESETS",
    "REQUIRED_COLUMNS",
    "CleaningAccount",
    "Preset",
    "apply_contract",
    "normalise_ids",
    "resolve_mapping",
]

REQUIRED_COLUMNS = ("customer_id", "order_date", "amount")


@dataclass(frozen=True)
class Preset:
    """A named source format: for each contract column, the file's column names to try in order."""

    description: str
    columns: dict[str, tuple[str, ...]]


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
    ),
)


@dataclass
class CleaningAccount:
    """Rows and revenue in, dropped per reason, and out: nothing disappears silently.

    >>> account = CleaningAccount(rows_in=10, revenue_in=100.0)
    >>> account.record("missing_customer", "no customer id", rows=2, revenue=5.0)
    >>> account.rows_out, account.revenue_out
    (8, 95.0)
    """

    rows_in: int
    revenue_in: float
    steps: list[dict] = field(default_factory=list)

    def record(self, step: str, reason: str, *, rows: int, revenue: float) -> None:
        """Add one cleaning step: how many rows it dropped and the revenue they carried."""
        self.steps.append({"step": step, "reason": reason, "rows": rows, "revenue": revenue})

    @property
    def rows_out(self) -> int:
        """Rows left after every step."""
        return self.rows_in - sum(s["rows"] for s in self.steps)

    @property
    def revenue_out(self) -> float:
        """Revenue left after every step."""
        return self.revenue_in - sum(s["revenue"] for s in self.steps)

    def to_frame(self) -> pd.DataFrame:
        """One row for the input, one per step (dropped), one for the output."""
        rows = [
            {
                "step": "input",
                "reason": "rows read",
                "rows": self.rows_in,
                "revenue": self.revenue_in,
            },
            *({**s, "rows": -s["rows"], "revenue": -s["revenue"]} for s in self.steps),
            {
                "step": "output",
                "reason": "rows kept",
                "rows": self.rows_out,
                "revenue": self.revenue_out,
            },
        ]
        frame = pd.DataFrame(rows)
        frame["share_of_rows"] = frame["rows"] / self.rows_in if self.rows_in else np.nan
        return frame


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


def apply_contract(raw: pd.DataFrame, mapping: dict[str, str], *, source: str) -> pd.DataFrame:
    """Rename, derive ``amount`` and convert types; raise SchemaError on anything off-contract.

    Parameters
    ----------
    raw : DataFrame
        The file as read.
    mapping : dict
        From :func:`resolve_mapping`.
    source : str
        File name for messages.

    Returns
    -------
    DataFrame
        Contract columns only, with ``order_date`` as datetime and ``amount`` as float64.
    """
    if "amount" not in mapping and {"quantity", "unit_price"} <= mapping.keys():
        derived = True
    else:
        derived = False
    missing = [c for c in REQUIRED_COLUMNS if c not in mapping and not (c == "amount" and derived)]
    if missing:
        raise SchemaError(
            f"{source}: required column(s) {', '.join(missing)} not found. Columns found: "
            f"{', '.join(map(str, raw.columns))}. Map them under data.columns in the config "
            "(contract name: file column), or name a data.preset."
        )
    frame = pd.DataFrame({name: raw[column] for name, column in mapping.items()})
    for name in ("amount", "quantity", "unit_price"):
        if name in frame:
            frame[name] = _to_number(frame[name], mapping[name], source)
    if derived:
        frame["amount"] = frame["quantity"] * frame["unit_price"]
    frame["order_date"] = _to_datetime(frame["order_date"], mapping["order_date"], source)
    frame["customer_id"] = normalise_ids(frame["customer_id"])
    if "order_id" in frame:
        frame["order_id"] = frame["order_id"].astype("string").astype(object)
    return frame[[c for c in CONTRACT_COLUMNS if c in frame]]


def _to_number(values: pd.Series, column: str, source: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        sample = ", ".join(repr(v) for v in values[bad].unique()[:5])
        raise SchemaError(
            f"{source}: column '{column}' must be numeric; {int(bad.sum())} value(s) are not "
            f"(e.g. {sample}). Fix the file or map another column."
        )
    return numbers.astype("float64")


def _to_datetime(values: pd.Series, column: str, source: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
    else:
        dates = pd.to_datetime(values, errors="coerce", format="mixed")
        bad = values.notna() & dates.isna()
        if bad.any():
            sample = ", ".join(repr(v) for v in values[bad].unique()[:5])
            raise SchemaError(
                f"{source}: column '{column}' has {int(bad.sum())} value(s) that are not dates "
                f"(e.g. {sample}). Use ISO dates (2024-01-31 or 2024-01-31 14:05)."
            )
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    return dates.astype("datetime64[us]")


def normalise_ids(ids: pd.Series) -> pd.Series:
    """Whole-number ids become Int64 (also when read as floats because of gaps); others strings.

    Transactions and attribute tables go through the same function so that they join.
    """
    present = ids.dropna()
    if pd.api.types.is_numeric_dtype(ids) and (present == np.floor(present)).all():
        return ids.astype("Int64")
    return ids.astype("string").astype(object).where(ids.notna(), None)
