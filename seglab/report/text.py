"""Sentences that read a run's numbers for the report: the opening and the migration summary."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from seglab.evaluate.agreement import PairComparison
from seglab.evaluate.choice import Choice
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


def narrative(
    headline: Mapping,
    choice: Choice,
    results: pd.DataFrame,
    recommended: pd.DataFrame,
    profile: pd.DataFrame,
    truth: PairComparison | None = None,
) -> str:
    """A few sentences of Markdown that read the run's numbers for the report's opening.

    Parameters
    ----------
    headline : mapping
        The run's headline figures (customers, net revenue, period covered).
    choice : Choice
        The solution shown and how it was chosen.
    results, recommended : DataFrame
        The grid's results and its recommended k per series.
    profile : DataFrame
        The segments' profile with their names.
    truth : PairComparison, optional
        The clusters against the true archetypes (synthetic data).
    """
    chosen = results.set_index("solution").loc[choice.solution]
    largest = profile.sort_values("customers", ascending=False).iloc[0]
    richest = profile.sort_values("revenue_share", ascending=False).iloc[0]
    keys = ["feature_set", "scaling", "algorithm", "seed"]
    support = recommended[(recommended[keys] == chosen[keys].to_numpy()).all(axis=1)]
    backed = not support.empty and support["recommended_k"].iloc[0] == chosen["k"]
    if choice.chosen_by != "vote":
        how = "named in the config"
    elif backed:
        how = f"recommended by {support['votes'].iloc[0]} of {support['n_voting'].iloc[0]} criteria"
    else:
        how = "no criterion voted, so the best silhouette"
    lines = [
        f"As of **{headline['as_of']}**, **{headline['customers']:,} customers** bought for "
        f"**{headline['net revenue']:,.0f}** net between {headline['first transaction']} and "
        f"{headline['last transaction']}.",
        f"The segmentation shown, *{choice.solution}*, has **{int(chosen['k'])} clusters** "
        f"({how}; silhouette {chosen['silhouette']:.2f}).",
        f"The largest cluster, *{largest['name']}*, holds {largest['share']:.0%} of customers; "
        f"*{richest['name']}* brings {richest['revenue_share']:.0%} of revenue with "
        f"{richest['share']:.0%} of customers.",
    ]
    if truth is not None:
        lines.append(
            f"Against the synthetic archetypes the clusters reach an adjusted Rand index of "
            f"{truth.scores['ari']:.2f}."
        )
    return " ".join(lines)
