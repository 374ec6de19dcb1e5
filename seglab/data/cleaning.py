"""The cleaning policy and its account: every rule counts the rows and revenue it removed.

Rules, in order: missing customer, date or amount; amounts that are not finite numbers (NaN,
infinity); non-product codes; non-positive prices; negative amounts not marked as returns; returns
(netted or dropped); exact duplicate lines; orders under the logistic minimum. Nothing disappears
silently: the account reconciles rows and revenue in with rows and revenue out.

Revenue in the account is summed as exact decimals (:data:`~seglab.data.contract.MONEY`), so it
reconciles to the last digit and is the same on every engine and every run; a line whose amount is
missing or not finite counts as a line, with no revenue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from seglab.data.contract import LINE_KEYS, MONEY, PRESETS, Preset, finite
from seglab.data.settings import CleaningConfig
from seglab.errors import DataError

__all__ = ["CleaningAccount", "CleaningPolicy", "clean", "require_revenue"]


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


def clean(table: ir.Table, policy: CleaningPolicy) -> tuple[ir.Table, CleaningAccount]:
    """Apply the cleaning policy; return the kept lines (with ``is_return``) and the account.

    Rules, in order: missing customer, date or amount; amount not finite; non-product codes;
    non-positive prices;
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
        products = "product_id" in columns
        kept = _duplicates(table, kept, policy.drop_duplicates, products, account)
        kept = kept.drop(*LINE_KEYS)
    if policy.logistic_minimum > 0:
        kept = _apply_logistic_minimum(kept, policy.logistic_minimum, columns, account)
    return kept, account


def _rules(table: ir.Table, policy: CleaningPolicy, marked: bool, returns_reason: str):
    drop = "drop"
    rules = [
        ("missing_customer", drop, "no customer id: not segmentable", table.customer_id.isnull()),
        ("missing_date", drop, "no order date", table.order_date.isnull()),
        ("missing_amount", drop, "no amount (or quantity / unit price)", table.amount.isnull()),
        ("amount_not_finite", drop, "amount is NaN or infinite", ~finite(table.amount)),
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
    money = _money(table)
    metrics = {"rows_in": table.count(), "revenue_in": money.sum()}
    for i, (_, action, _, flag) in enumerate(rules):
        metrics[f"m{i}"] = flag.sum()
        metrics[f"mr{i}"] = money.sum(where=flag)
        if action == "drop":
            removes = flag & ~removed_before
            metrics[f"r{i}"] = removes.sum()
            metrics[f"rr{i}"] = money.sum(where=removes)
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


def _money(table: ir.Table) -> ir.DecimalColumn:
    """The amount as exact money, NULL where it is missing or not finite (no revenue)."""
    return finite(table.amount).ifelse(table.amount, ibis.null("float64")).cast(MONEY)


def _duplicates(
    table: ir.Table, kept: ir.Table, drop: bool, products: bool, account: CleaningAccount
) -> ir.Table:
    """Count exact repeats of a line in the input; drop them from `kept` when asked to. Without
    a product column (`products` False) the reason says that different products may look alike:
    on Online Retail without its product columns, 237,168 lines repeat another, not 5,268."""
    # Copies are identical lines, so any one's amount is each one's: no division needed.
    copies = table.group_by(*LINE_KEYS).aggregate(n=table.count(), one=_money(table).max())
    extra = copies.filter(copies.n > 1)
    counts = extra.aggregate(rows=(extra.n - 1).sum(), revenue=((extra.n - 1) * extra.one).sum())
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
    if not products:
        reason += " (no product column: lines of different products may look alike)"
    account.record("duplicate_line", action, reason, counts["rows"], counts["revenue"], *removed)
    return kept


def _size(table: ir.Table) -> tuple[int, float]:
    figures = table.aggregate(rows=table.count(), revenue=_money(table).sum()).to_pandas().iloc[0]
    return int(figures["rows"]), float(figures["revenue"] or 0)


def _apply_logistic_minimum(
    kept: ir.Table, minimum: float, columns: set[str], account: CleaningAccount
) -> ir.Table:
    order_key = (
        [kept.customer_id, kept.order_id]
        if "order_id" in columns
        else [kept.customer_id, kept.order_date.date()]
    )
    value = _money(kept).sum().over(group_by=[*order_key, kept.is_return])
    kept = kept.mutate(below_minimum=~kept.is_return & (value < minimum))
    counts = (
        kept.aggregate(
            rows=kept.below_minimum.sum(), revenue=_money(kept).sum(where=kept.below_minimum)
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


def require_revenue(kept: ir.Table, source: str) -> None:
    """Refuse clean lines without revenue: every customer value and share would be 0 or undefined.

    Raises
    ------
    DataError
        When the purchases left after cleaning are worth nothing, or returns outweigh them.
    """
    money = _money(kept)
    figures = kept.aggregate(
        lines=kept.count(),
        purchases=money.sum(where=~kept.is_return),
        returns=money.sum(where=kept.is_return),
    ).to_pandas()
    lines, purchases, returns = (figures[k].iloc[0] for k in ("lines", "purchases", "returns"))
    purchases, returns = (0.0 if v is None or v != v else float(v) for v in (purchases, returns))
    if purchases <= 0:
        raise DataError(
            f"{source}: no revenue: the {int(lines)} line(s) left after cleaning hold purchases "
            f"worth {purchases:,.2f}, so there is no customer value to segment by. Check which "
            "column is mapped as the amount (data.columns: amount, or quantity and unit_price) "
            "and what the cleaning removed (seglab validate prints the account)."
        )
    if purchases + returns <= 0:
        raise DataError(
            f"{source}: no revenue: purchases of {purchases:,.2f} and returns of {returns:,.2f} "
            f"net to {purchases + returns:,.2f} after cleaning; revenue shares and customer "
            "values need a positive net revenue. Check the sign of the amounts (purchases "
            "positive, returns negative) and data.cleaning.return_prefix."
        )
