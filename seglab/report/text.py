"""Sentences that read a run's numbers for the report: the opening and the migration summary."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from seglab.evaluate.agreement import PairComparison
from seglab.evaluate.drift import DRIFT_WARNING
from seglab.evaluate.selection import Choice
from seglab.features.lifetime import CustomerValue
from seglab.interpret.migration import Migration

__all__ = ["agreement_text", "identity_text", "migration_text", "narrative", "value_text"]


def migration_text(migration: Migration) -> str:
    """One Markdown sentence on the purchase-frequency tier moves since the previous period."""
    if not migration.matrices:
        return f"No migration: {migration.note}."
    if migration.tier_moves.empty:
        return f"Compared with {migration.previous_as_of}."
    counts = migration.tier_moves.set_index("move")["customers"]
    return (
        f"Since **{migration.previous_as_of}**, {counts['up']:,} customers moved up a "
        f"purchase-frequency tier and {counts['down']:,} moved down; {counts['same']:,} kept "
        f"their tier, {counts['new']:,} are new and {counts['lost']:,} were lost."
    )


def identity_text(names: pd.DataFrame, identity: pd.DataFrame, drift: pd.DataFrame) -> str:
    r"""Markdown on where the segment ids come from: a first fit, or matched to a reference.

    >>> names = pd.DataFrame({"segment_id": ["S1", "S3"], "name": ["loyal", "lapsed"]})
    >>> identity = pd.DataFrame(
    ...     {"segment_id": ["S1", "S3", "S2"], "status": ["kept", "new", "dissolved"],
    ...      "previous_name": ["loyal", None, "new"]}
    ... )
    >>> print(identity_text(names, identity, pd.DataFrame()).replace(". ", ".\n"))
    Matched to the reference segmentation: **S1** (loyal) kept its id, name and action.
    New since the reference: **S3** (lapsed).
    Dissolved since the reference: **S2** (new).
    """
    if identity.empty:
        ids = ", ".join(names["segment_id"])
        return (
            f"A first segmentation: the segments are numbered by size ({ids}). Name them in the "
            "config under `clustering.names` by id; later reports match their segments to this "
            "one, so the ids and names stay with the segments that persist."
        )
    by_status = {
        status: ", ".join(f"**{row.segment_id}** ({name})" for row, name in rows)
        for status, rows in _rows_by_status(names, identity).items()
    }
    parts = []
    if "kept" in by_status:
        parts.append(f"{by_status['kept']} kept its id, name and action.")
    if "new" in by_status:
        parts.append(f"New since the reference: {by_status['new']}.")
    if "dissolved" in by_status:
        parts.append(f"Dissolved since the reference: {by_status['dissolved']}.")
    drifted = drift[drift["psi"] > DRIFT_WARNING]["feature"].tolist() if not drift.empty else []
    if drifted:
        parts.append(
            f"The customers have shifted strongly on {', '.join(drifted)} (population "
            f"stability index above {DRIFT_WARNING}); the segments may need a fresh look."
        )
    return "Matched to the reference segmentation: " + " ".join(parts)


def _rows_by_status(names: pd.DataFrame, identity: pd.DataFrame) -> dict[str, list]:
    current = names.set_index("segment_id")["name"]
    grouped: dict[str, list] = {}
    for row in identity.itertuples():
        name = row.previous_name if row.status == "dissolved" else current.get(row.segment_id)
        grouped.setdefault(row.status, []).append((row, name))
    return grouped


def narrative(
    headline: Mapping,
    choice: Choice,
    profile: pd.DataFrame,
    truth: PairComparison | None = None,
    *,
    currency: str = "",
) -> str:
    """A few sentences of Markdown that read the run's numbers for the report's opening.

    Parameters
    ----------
    headline : mapping
        The run's headline figures (customers, net revenue, period covered).
    choice : Choice
        The solution shown and the evidence it was chosen on.
    profile : DataFrame
        The segments' profile with their names.
    truth : PairComparison, optional
        The clusters against the true archetypes (synthetic data).
    currency : str
        Prefix of money amounts.
    """
    largest = profile.sort_values("customers", ascending=False).iloc[0]
    richest = profile.sort_values("revenue_share", ascending=False).iloc[0]
    lines = [
        f"As of **{headline['as_of']}**, **{headline['customers']:,} customers** bought for "
        f"**{(currency + ' ') if currency else ''}{headline['net revenue']:,.0f}** net between "
        f"{headline['first transaction']} and {headline['last transaction']}.",
        _how_chosen(choice, len(profile)),
        f"The largest segment, *{largest['name']}*, holds {largest['share']:.0%} of customers; "
        f"*{richest['name']}* brings {richest['revenue_share']:.0%} of revenue with "
        f"{richest['share']:.0%} of customers.",
    ]
    if truth is not None:
        lines.append(
            f"Against the synthetic archetypes the clusters reach an adjusted Rand index of "
            f"{truth.scores['ari']:.2f}."
        )
    return " ".join(lines)


def _how_chosen(choice: Choice, k: int) -> str:
    """The choice in a manager's words (the evidence is in the report's appendix)."""
    if choice.chosen_by == "config":
        return f"They are divided into **{k} segments**, as the analyst set in the config."
    if not choice.structure:
        return (
            f"The customers do not fall into clearly separate groups, so the **{k} segments** "
            "below are a practical division for targeting, with soft borders between them "
            "(the evidence is in the appendix)."
        )
    return (
        f"They fall into **{k} segments**: of every division tried, the most distinct, stable "
        "and balanced one (how it was chosen is in the appendix)."
    )


def agreement_text(pairs: Mapping[str, PairComparison], names: pd.DataFrame) -> str:
    """In words: which heuristic schemes the segments agree with, and which they do not.

    Association is Cramér's V (0 none, 1 the same grouping): 0.5 and above strong, 0.25 and
    above moderate. For the closest scheme, each segment's most over-represented label is named.
    """
    strength = {
        scheme: float(pair.scores.get("cramers_v", float("nan")))
        for scheme, pair in pairs.items()
        if scheme != "true_segment"
    }
    ranked = sorted(((v, k) for k, v in strength.items() if v == v), reverse=True)
    if not ranked:
        return "No heuristic scheme was compared."
    words = {True: "strongly", False: "moderately"}
    close = [f"{k} ({v:.2f})" for v, k in ranked if v >= 0.25]
    far = [f"{k} ({v:.2f})" for v, k in ranked if v < 0.25]
    best = ranked[0][1]
    lift = pairs[best].lift
    label = names.set_index(names.index)["segment_id"] + " " + names["name"]
    matches = [
        f"{label.get(segment, segment)} mostly {row.idxmax()}"
        for segment, row in lift.iterrows()
        if row.max() > 1.5
    ]
    text = []
    if close:
        text.append(
            f"The segments agree {words[ranked[0][0] >= 0.5]} with {', '.join(close)} (Cramér's V)."
        )
    if matches:
        text.append(f"Against {best}: " + "; ".join(matches) + ".")
    if far:
        text.append(f"They have little to do with {', '.join(far)}.")
    return " ".join(text)


def value_text(value: CustomerValue, summary: pd.DataFrame, *, currency: str = "") -> str:
    """Markdown on expected future value: total, and which segments gain or lose weight.

    `summary` is :func:`seglab.report.export.segment_summary` with the value columns. A segment
    "gains" when its share of expected future revenue exceeds its share of past revenue.
    """
    if not value.fitted:
        return (
            f"Lifetime value was not estimated: {value.reason.removeprefix(_NOT_ESTIMATED)}. The "
            "value/potential matrix ranks potential by revenue growth and recency instead."
        )
    money = f"{currency} " if currency else ""
    years, days = divmod(value.horizon_days, 365)
    horizon = f"{value.horizon_days} days" if days else f"{years} years" if years > 1 else "year"
    gain = (summary["clv_share"] - summary["revenue_share"]).to_numpy()
    rows = summary.assign(gain=gain).sort_values("gain")
    label = rows["segment_id"] + " (" + rows["segment_name"] + ")"
    lines = [
        f"Over the next {horizon} the customers are expected to bring **{money}"
        f"{summary['clv_total'].sum():,.0f}** (lifetime value: BG/NBD purchases times Gamma-Gamma "
        f"order values, discounted at {value.annual_discount_rate:.0%} a year).",
    ]
    alive = value.customers["p_alive"].mean()
    if alive > STAYING:
        lines.append(
            f"The purchase model sees almost no customer leaving (on average a {alive:.1%} "
            "chance that a customer still buys): the history is likely too short to show "
            "churn, so read these values as an upper bound."
        )
    top, bottom = rows.iloc[-1], rows.iloc[0]
    if top["gain"] > 0.01:
        lines.append(
            f"**{label.iloc[-1]}** gains weight: {top['clv_share']:.0%} of future value against "
            f"{top['revenue_share']:.0%} of past revenue."
        )
    if bottom["gain"] < -0.01:
        lines.append(
            f"**{label.iloc[0]}** loses weight: {bottom['clv_share']:.0%} of future value "
            f"against {bottom['revenue_share']:.0%} of past revenue."
        )
    return " ".join(lines)


_NOT_ESTIMATED = "customer lifetime value not estimated: "
#: Above this mean probability of still buying, the purchase model has found no churn to speak of.
STAYING = 0.98
