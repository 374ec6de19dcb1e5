"""The comparison stage: the chosen clusters against the heuristic schemes and each other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from seglab.evaluate.agreement import PairComparison, agreement_table, compare_labelings
from seglab.heuristics import SchemeLabels

__all__ = ["COMPARED_SCHEMES", "Comparison", "compare"]

#: Heuristic schemes the chosen solution is compared with (when they ran).
COMPARED_SCHEMES = ("rfm_segments", "abc", "lifecycle", "frequency_tiers", "bcg", "value_tiers")


@dataclass(frozen=True)
class Comparison:
    """How the chosen clusters relate to the segments already in use.

    Attributes
    ----------
    pairs : dict of str to PairComparison
        The chosen clusters against each compared scheme (and ``true_segment`` when the data
        know it): contingency, lift, agreement scores and the best mapping.
    agreement : DataFrame
        Agreement of every pair among the leading solutions of the grid and the schemes.
    """

    pairs: dict[str, PairComparison]
    agreement: pd.DataFrame

    def get(self, scheme: str) -> PairComparison | None:
        """The chosen clusters against `scheme`, None when that scheme did not run."""
        return self.pairs.get(scheme)


def compare(
    labels: pd.Series,
    customers: pd.DataFrame,
    schemes: SchemeLabels,
    leading: Mapping[str, pd.Series],
) -> Comparison:
    """Compare the chosen clusters with the schemes, and the leading solutions with each other.

    Parameters
    ----------
    labels : Series
        The chosen clusters, indexed by ``customer_id``.
    customers : DataFrame
        The customer table (``monetary_total`` weighs the revenue tables; ``true_segment``,
        when present, is compared first).
    schemes : SchemeLabels
        The heuristic schemes' labels.
    leading : mapping of str to Series
        The labels of the grid's leading solutions, by solution id.
    """
    references = {name: schemes.labels[name] for name in COMPARED_SCHEMES if name in schemes.labels}
    if "true_segment" in customers:
        references = {"true_segment": customers["true_segment"], **references}
    clusters = labels.rename("cluster")
    revenue = customers["monetary_total"]
    pairs = {
        name: compare_labelings(clusters, reference.rename(name), revenue=revenue)
        for name, reference in references.items()
    }
    return Comparison(pairs, agreement_table({**leading, **references}, measures=["ari"]))
