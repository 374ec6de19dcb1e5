"""Sentences that read a run's numbers for the report: the opening and the migration summary."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from seglab.evaluate.agreement import PairComparison
from seglab.evaluate.drift import DRIFT_WARNING
from seglab.evaluate.selection import Choice
from seglab.interpret.migration import Migration

__all__ = ["migration_text", "narrative"]


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
