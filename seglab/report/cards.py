"""One card per segment for the report's readers: who they are, what they bring, what to do.

Each card answers the practitioners' questions in business words and original units against
the whole customer base: who they are (the three features that set them apart most), the
typical customer (the segment's medoid), how much they bring, what they buy, when to reach
them, at what price level, and the recommended action.
"""

from __future__ import annotations

import pandas as pd

from seglab.features.catalogue import FEATURES
from seglab.report.tables import money

__all__ = ["segment_cards"]

#: How many features "who they are" names.
WHO_FEATURES = 3
#: Plain words for the features a card names most often (others: the catalogue's definition).
PLAIN_WORDS = {
    "recency_days": "days since the last purchase",
    "frequency": "orders",
    "monetary_total": "net revenue",
    "monetary_mean": "average order value",
    "tenure_days": "days as a customer",
    "orders_per_month": "orders per month",
    "active_months": "months with a purchase",
    "interpurchase_mean_days": "days between purchases",
    "interpurchase_median_days": "days between purchases",
    "interpurchase_cv": "irregularity of the gaps between purchases",
    "revenue_cv": "volatility of order values",
    "revenue_growth": "revenue growth",
    "product_breadth": "distinct products bought",
    "category_breadth": "distinct categories bought",
    "returns_rate": "share of revenue returned",
}


def segment_cards(
    summary: pd.DataFrame,
    differences: pd.DataFrame,
    customers: pd.DataFrame,
    labels: pd.Series,
    personas: pd.DataFrame,
    answers: pd.DataFrame,
    *,
    currency: str = "",
) -> str:
    """Markdown: one card per segment, in the order of `summary` (largest first).

    Parameters
    ----------
    summary : DataFrame
        :func:`seglab.report.export.segment_summary`.
    differences : DataFrame
        Standardised differences per segment (index 0..k-1, as `labels`).
    customers : DataFrame
        The customer table (features in original units).
    labels : Series
        Segment 0..k-1 of every customer.
    personas, answers : DataFrame
        From the interpretation stage (``segment`` column 0..k-1).
    currency : str
        Prefix of money amounts.
    """
    everyone = customers.median(numeric_only=True)
    medians = customers.groupby(labels.to_numpy()).median(numeric_only=True)
    overall_order = summary["revenue"].sum() / max(_orders(customers), 1)
    cards = []
    for j, row in summary.iterrows():
        persona = personas.set_index("segment").loc[j] if j in set(personas["segment"]) else None
        answer = answers.set_index("segment").loc[j] if j in set(answers["segment"]) else None
        cards.append(
            "\n\n".join(
                [
                    f"### {row['segment_id']} · {row['segment_name']}",
                    f"**{int(row['customers']):,} customers ({row['share']:.0%})**, "
                    f"**{row['revenue_share']:.0%} of revenue**.",
                    "**Who they are.** "
                    + _who(differences.loc[j], medians.loc[j], everyone, currency),
                    "**Typical customer.** " + _persona(persona, currency),
                    "**What they bring and at what price.** "
                    + _value(row, overall_order, currency),
                    "**What they buy and when to reach them.** " + _timing(answer),
                    f"**Recommended action.** {row['action']}",
                ]
            )
        )
    return "\n\n---\n\n".join(cards)


def _who(difference: pd.Series, segment: pd.Series, everyone: pd.Series, currency: str) -> str:
    """The features that set the segment apart most, where its median differs from everyone's."""
    ranked = difference.abs().sort_values(ascending=False, kind="stable").index
    shown = [name for name in ranked if segment[name] != everyone[name]][:WHO_FEATURES]
    parts = []
    for name in shown:
        feature = FEATURES.get(name) if name in FEATURES.names() else None
        definition = feature.definition.split(":")[0].split(" (")[0] if feature else name
        what = PLAIN_WORDS.get(name, definition.replace("_", " "))
        unit = feature.unit if feature else ""
        mine, theirs = segment[name], everyone[name]
        parts.append(
            f"{what} {_amount(mine, unit, currency)} against {_amount(theirs, unit, currency)} "
            f"for everyone ({'more' if mine > theirs else 'less'})"
        )
    return ("; ".join(parts) or "close to the whole customer base on every feature") + "."


def _amount(value: float, unit: str, currency: str) -> str:
    """A median with its unit: money in the currency, shares as percentages."""
    if unit == "currency":
        return money(value, currency)
    if unit in ("share", "ratio") and abs(value) <= 1:
        return f"{value:.0%}"
    text = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2g}"
    if not unit or unit == "ratio" or unit == "orders":
        return text
    return f"{text} {unit[:-1] if text == '1' and unit.endswith('s') else unit}"


def _persona(persona: pd.Series | None, currency: str) -> str:
    if persona is None:
        return "not computed."
    facts = []
    if "frequency" in persona:
        orders = persona["frequency"]
        facts.append(f"{orders:,.0f} order{'' if orders == 1 else 's'}")
    if "recency_days" in persona:
        facts.append(f"the last {persona['recency_days']:,.0f} days ago")
    if "monetary_total" in persona:
        facts.append(f"{money(persona['monetary_total'], currency)} in total")
    return f"customer {persona['customer_id']}: " + ", ".join(facts) + "."


def _value(row: pd.Series, overall_order: float, currency: str) -> str:
    text = f"{money(row['revenue'], currency)} of net revenue"
    order = row["average_order_value"]
    if pd.notna(order) and overall_order > 0:
        ratio = order / overall_order
        level = "above" if ratio > 1.15 else "below" if ratio < 0.87 else "about the same as"
        text += (
            f"; an average order of {money(order, currency)}, {level} the "
            f"{money(overall_order, currency)} of all customers ({ratio:.1f}×)"
        )
    return text + "."


def _timing(answer: pd.Series | None) -> str:
    if answer is None:
        return "not computed."
    parts = []
    if "buys_most" in answer and pd.notna(answer["buys_most"]):
        parts.append(f"most revenue from {answer['buys_most']}")
    since = answer.get("median_days_since_last")
    between = answer.get("median_days_between_purchases")
    if pd.notna(since):
        parts.append(f"last bought a median {since:,.0f} days ago")
    if pd.notna(between):
        parts.append(f"they buy every {between:,.0f} days or so (median)")
        if pd.notna(since):
            parts.append(
                "due about now"
                if since >= between
                else f"next due in about {between - since:,.0f} days"
            )
    return "; ".join(parts) + "." if parts else "the data does not say."


def _orders(customers: pd.DataFrame) -> float:
    return float(customers["frequency"].sum()) if "frequency" in customers else 0.0
