"""One card per segment for the report's readers: who they are, what they bring, what to do.

Each card answers the practitioners' questions in business words and original units against
the whole customer base: who they are (the three features that set them apart most), the
typical customer (the segment's medoid), how much they bring, what they buy, when to reach
them, at what price level, and the recommended action.
"""

from __future__ import annotations

import pandas as pd

from seglab.features.catalogue import FEATURES

__all__ = ["segment_cards"]

#: How many features "who they are" names.
WHO_FEATURES = 3


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
    top = difference.abs().sort_values(ascending=False, kind="stable").index[:WHO_FEATURES]
    parts = []
    for name in top:
        feature = FEATURES.get(name) if name in FEATURES.names() else None
        what = feature.definition.split(":")[0] if feature else name.replace("_", " ")
        unit = feature.unit if feature else ""
        mine, theirs = segment[name], everyone[name]
        word = "more" if mine > theirs else "less" if mine < theirs else "the same"
        parts.append(
            f"{what}: {_amount(mine, unit, currency)} against {_amount(theirs, unit, currency)} "
            f"for everyone ({word})"
        )
    return "; ".join(parts) + "."


def _amount(value: float, unit: str, currency: str) -> str:
    """A median with its unit: money in the currency, shares as percentages."""
    if unit == "currency":
        return _money(value, currency)
    if unit in ("share", "ratio") and abs(value) <= 1:
        return f"{value:.0%}"
    text = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2g}"
    return f"{text} {unit}" if unit and unit not in ("ratio",) else text


def _persona(persona: pd.Series | None, currency: str) -> str:
    if persona is None:
        return "not computed."
    facts = []
    if "frequency" in persona:
        facts.append(f"{persona['frequency']:,.0f} orders")
    if "recency_days" in persona:
        facts.append(f"the last {persona['recency_days']:,.0f} days ago")
    if "monetary_total" in persona:
        facts.append(f"{_money(persona['monetary_total'], currency)} in total")
    return f"customer {persona['customer_id']}: " + ", ".join(facts) + "."


def _value(row: pd.Series, overall_order: float, currency: str) -> str:
    text = f"{_money(row['revenue'], currency)} of net revenue"
    order = row["average_order_value"]
    if pd.notna(order) and overall_order > 0:
        ratio = order / overall_order
        level = "higher" if ratio > 1.15 else "lower" if ratio < 0.87 else "about the same"
        text += (
            f"; an average order of {_money(order, currency)}, {level} than the "
            f"{_money(overall_order, currency)} of all customers ({ratio:.1f}×)"
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


def _money(value: float, currency: str) -> str:
    prefix = f"{currency} " if currency else ""
    return f"{prefix}{value:,.0f}" if abs(value) >= 100 else f"{prefix}{value:,.2f}"
