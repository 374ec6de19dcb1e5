"""The transaction contract: column mapping, types, presets, the cleaning policy and its account.

Contract columns: ``customer_id``, ``order_date`` and ``amount`` are required (``amount`` may be
derived as ``quantity * unit_price``); ``order_id``, ``quantity``, ``unit_price``, ``product_id``
and ``category`` are optional. Everything here builds lazy Ibis expressions; counts and samples for
error messages are the only queries run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from seglab.config import CONTRACT_COLUMNS, CleaningConfig
from seglab.errors import SchemaError
from seglab.registry import Registry, suggest

__all__ = [
    "PRESETS",
    "REQUIRED_COLUMNS",
    "CleaningAccount",
    "CleaningPolicy",
    "Preset",
    "apply_contract",
    "clean",
    "resolve_mapping",
]

REQUIRED_COLUMNS = ("customer_id", "order_date", "amount")
STRING_COLUMNS = ("order_id", "product_id", "category")
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


@dataclass(frozen=True)
class CleaningPolicy:
    """The cleaning rules in force: the config's choices filled in with the preset's defaults."""

    return_prefix: str
    cancellations: str
    non_product_codes: tuple[str, ...]
    drop_non_positive_prices: bool
    drop_duplicates: bool
    logistic_minimum: float

    @classmethod
    def from_config(cls, config: CleaningConfig, preset: str | None) -> CleaningPolicy:
        """Resolve unset config values from the preset (when one is named)."""
        defaults = PRESETS.get(preset) if preset else Preset("", {})
        return cls(
            return_prefix=(
                defaults.return_prefix if config.return_prefix is None else config.return_prefix
            ),
            cancellations=config.cancellations,
            non_product_codes=(
                defaults.non_product_codes
                if config.non_product_codes is None
                else config.non_product_codes
            ),
            drop_non_positive_prices=config.drop_non_positive_prices,
            drop_duplicates=config.drop_duplicates,
            logistic_minimum=config.logistic_minimum,
        )


@dataclass
class CleaningAccount:
    """Rows and revenue in, matched and removed per rule, and out: nothing disappears silently.

    ``rows_matched`` counts every input row a rule matches; ``rows_removed`` only those it removed
    that no earlier rule had removed, so ``rows_in - sum(rows_removed) == rows_out``.

    >>> account = CleaningAccount(rows_in=10, revenue_in=100.0)
    >>> account.record("missing_customer", "drop", "no customer id", 2, 5.0, 2, 5.0)
    >>> account.rows_out, account.revenue_out
    (8, 95.0)
    """

    rows_in: int
    revenue_in: float
    steps: list[dict] = field(default_factory=list)

    def record(
        self,
        step: str,
        action: str,
        reason: str,
        rows_matched: int,
        revenue_matched: float,
        rows_removed: int,
        revenue_removed: float,
    ) -> None:
        """Add one rule's counts."""
        self.steps.append(
            {
                "step": step,
                "action": action,
                "reason": reason,
                "rows_matched": int(rows_matched),
                "revenue_matched": float(revenue_matched),
                "rows_removed": int(rows_removed),
                "revenue_removed": float(revenue_removed),
            }
        )

    @property
    def rows_out(self) -> int:
        """Rows left after every rule."""
        return self.rows_in - sum(s["rows_removed"] for s in self.steps)

    @property
    def revenue_out(self) -> float:
        """Revenue left after every rule."""
        return self.revenue_in - sum(s["revenue_removed"] for s in self.steps)

    def to_frame(self) -> pd.DataFrame:
        """One row for the input, one per rule, one for the output."""
        ends = {"action": "", "rows_removed": 0, "revenue_removed": 0.0}
        rows = [
            {"step": "input", "reason": "rows read", "rows_matched": self.rows_in,
             "revenue_matched": self.revenue_in, **ends},
            *self.steps,
            {"step": "output", "reason": "rows kept", "rows_matched": self.rows_out,
             "revenue_matched": self.revenue_out, **ends},
        ]  # fmt: skip
        frame = pd.DataFrame(rows)[
            ["step", "action", "reason", "rows_matched", "revenue_matched", "rows_removed",
             "revenue_removed"]
        ]  # fmt: skip
        frame["share_removed"] = frame["rows_removed"] / max(self.rows_in, 1)
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


def clean(table: ir.Table, policy: CleaningPolicy) -> tuple[ir.Table, CleaningAccount]:
    """Apply the cleaning policy; return the kept lines (with ``is_return``) and the account.

    Rules, in order: missing customer, date or amount; non-product codes; non-positive prices;
    negative amounts not marked as returns (only with a return prefix); returns (netted or
    dropped); exact duplicate lines (same :func:`line_keys`, hashes of every input column); orders
    under the logistic minimum (judged on what is left).
    """
    columns = set(table.columns)
    marked = policy.return_prefix and "order_id" in columns and table.order_id.type().is_string()
    if marked:
        is_return = table.order_id.startswith(policy.return_prefix).fill_null(False)
        returns_reason = f"order id starts with '{policy.return_prefix}': cancellation or return"
    else:
        is_return = (table.amount < 0).fill_null(False)
        returns_reason = "negative amount: return"
    table = table.mutate(is_return=is_return)
    rules = _rules(table, policy, marked, returns_reason)
    account, kept = _count(table, rules)
    if set(LINE_KEYS) <= columns:
        kept = _duplicates(table, kept, policy.drop_duplicates, account).drop(*LINE_KEYS)
    if policy.logistic_minimum > 0:
        kept = _apply_logistic_minimum(kept, policy.logistic_minimum, columns, account)
    return kept, account


def _rules(table: ir.Table, policy: CleaningPolicy, marked: bool, returns_reason: str):
    drop = "drop"
    rules = [
        ("missing_customer", drop, "no customer id: not segmentable", table.customer_id.isnull()),
        ("missing_date", drop, "no order date", table.order_date.isnull()),
        ("missing_amount", drop, "no amount (or quantity / unit price)", table.amount.isnull()),
    ]
    if policy.non_product_codes and "product_id" in table.columns:
        exact = [c for c in policy.non_product_codes if not c.endswith("*")]
        prefixes = [c[:-1] for c in policy.non_product_codes if c.endswith("*")]
        product = table.product_id.cast("string")
        matches = product.isin(exact)
        for prefix in prefixes:
            matches |= product.startswith(prefix)
        listed = ", ".join(policy.non_product_codes)
        rules.append(("non_product_code", drop, f"not a product ({listed})", matches))
    if policy.drop_non_positive_prices and "unit_price" in table.columns:
        rules.append(("non_positive_price", drop, "unit price <= 0", table.unit_price <= 0))
    if marked:
        unmarked = (table.amount < 0) & ~table.is_return
        rules.append(("unmarked_negative", drop, "negative amount, not a marked return", unmarked))
    action = "drop" if policy.cancellations == "drop" else "net"
    rules.append(("returns", action, returns_reason, table.is_return))
    return [(step, action, reason, flag.fill_null(False)) for step, action, reason, flag in rules]


def _count(table: ir.Table, rules) -> tuple[CleaningAccount, ir.Table]:
    removed_before = ibis.literal(False)
    metrics = {"rows_in": table.count(), "revenue_in": table.amount.sum()}
    for i, (_, action, _, flag) in enumerate(rules):
        metrics[f"m{i}"] = flag.sum()
        metrics[f"mr{i}"] = table.amount.sum(where=flag)
        if action == "drop":
            removes = flag & ~removed_before
            metrics[f"r{i}"] = removes.sum()
            metrics[f"rr{i}"] = table.amount.sum(where=removes)
            removed_before |= flag
    counts = table.aggregate(**metrics).to_pandas().iloc[0].fillna(0).to_dict()
    account = CleaningAccount(
        rows_in=int(counts["rows_in"]), revenue_in=float(counts["revenue_in"])
    )
    for i, (step, action, reason, _) in enumerate(rules):
        matched, removed = (
            (counts[f"m{i}"], counts[f"mr{i}"]),
            (
                counts.get(f"r{i}", 0),
                counts.get(f"rr{i}", 0.0),
            ),
        )
        account.record(step, action, reason, *matched, *removed)
    return account, table.filter(~removed_before)


def _duplicates(table: ir.Table, kept: ir.Table, drop: bool, account: CleaningAccount) -> ir.Table:
    """Count exact repeats of a line in the input; drop them from `kept` when asked to."""
    copies = table.group_by(*LINE_KEYS).aggregate(n=table.count(), revenue=table.amount.sum())
    extra = copies.filter(copies.n > 1)
    repeated_revenue = (extra.revenue * (extra.n - 1) / extra.n).sum()
    counts = extra.aggregate(rows=(extra.n - 1).sum(), revenue=repeated_revenue)
    counts = counts.to_pandas().iloc[0].fillna(0)
    removed = (0, 0.0)
    if drop:
        before = _size(kept)
        # Copies are identical, so which one stays does not matter; Spark wants an order anyway.
        copy = ibis.row_number().over(group_by=LINE_KEYS, order_by=LINE_KEYS)
        kept = kept.mutate(copy=copy).filter(lambda t: t.copy == 0).drop("copy")
        after = _size(kept)
        removed = (before[0] - after[0], before[1] - after[1])
    action = "drop" if drop else "keep"
    reason = "exact repeat of an earlier line"
    account.record("duplicate_line", action, reason, counts["rows"], counts["revenue"], *removed)
    return kept


def _size(table: ir.Table) -> tuple[int, float]:
    figures = table.aggregate(rows=table.count(), revenue=table.amount.sum()).to_pandas().iloc[0]
    return int(figures["rows"]), float(figures["revenue"] or 0.0)


def _apply_logistic_minimum(
    kept: ir.Table, minimum: float, columns: set[str], account: CleaningAccount
) -> ir.Table:
    order_key = (
        [kept.customer_id, kept.order_id]
        if "order_id" in columns
        else [kept.customer_id, kept.order_date.date()]
    )
    value = kept.amount.sum().over(group_by=[*order_key, kept.is_return])
    kept = kept.mutate(below_minimum=~kept.is_return & (value < minimum))
    counts = (
        kept.aggregate(
            rows=kept.below_minimum.sum(), revenue=kept.amount.sum(where=kept.below_minimum)
        )
        .to_pandas()
        .iloc[0]
        .fillna(0)
    )
    reason = f"order worth less than the logistic minimum {minimum:g}: ignored"
    account.record(
        "below_logistic_minimum", "drop", reason, counts["rows"], counts["revenue"],
        counts["rows"], counts["revenue"],
    )  # fmt: skip
    return kept.filter(~kept.below_minimum).drop("below_minimum")
