"""The choice of the segmentation a run shows: eligibility first, then comparable evidence.

The rule, in order:

1. **Eligible.** A solution is eligible when its smallest segment holds at least
   ``min_segment_share`` of the customers and at least ``min_segment_size`` customers, and, once
   its stability is measured, when every segment's mean bootstrap Jaccard is at least
   ``min_stability`` (fpc::clusterboot reads <= 0.5 as dissolved, >= 0.75 as stable).
2. **The best k of each series.** Within each (feature set, scaling, algorithm, seed) the
   internal criteria vote for k among the eligible solutions (:func:`~seglab.evaluate.choice.
   choose_k`): each criterion is compared only in the space it was measured in.
3. **The best series of each feature set.** The series winners of a feature set are compared
   in one reference space, the feature set's log-scaled standardised features, where a distance
   means a ratio ("twice the spend"), the reading that fits heavy-tailed money and counts: the
   best silhouette there wins. A solution found in a robust or quantile space must still
   separate customers in that common space.
4. **The best feature set.** Feature sets are compared only on evidence that does not depend
   on a space: how many criteria agreed on their champion's k (the votes), then the balance of
   its segment sizes (normalised entropy).

When the gap statistic (Tibshirani's 1-SE rule) finds k = 1 in the chosen feature set's
reference space, or no solution is eligible, the data hold no clear cluster structure: the
choice says so, and the segmentation shown is a practical partition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab.cluster.algorithms import ALGORITHMS
from seglab.errors import ConfigError
from seglab.evaluate.choice import GROUP_COLUMNS, choose_k

__all__ = [
    "Choice",
    "Rules",
    "balance",
    "eligibility",
    "explain",
    "rank_candidates",
    "series_winners",
    "solution_id",
]

SERIES = [*GROUP_COLUMNS, "seed"]
#: Candidates shown with their evidence, and whose stability is measured.
TOP = 5


@dataclass(frozen=True)
class Rules:
    """The thresholds that make a solution eligible (``clustering`` settings)."""

    min_segment_share: float = 0.02
    min_segment_size: int = 30
    min_stability: float = 0.6


@dataclass(frozen=True)
class Choice:
    """The solution a run shows, and the evidence it was chosen on.

    Attributes
    ----------
    solution : str
        Its id (:func:`solution_id`).
    chosen_by : str
        ``vote`` (the rule of this module) or ``config`` (named by the analyst).
    structure : bool
        False when the evidence says the data hold no clear cluster structure (the gap's 1-SE
        rule finds k = 1, or no solution is eligible): the solution is a practical partition.
    statement : str
        The decision in words: what won, why, what came second and why it lost, where the
        criteria disagree, whether structure was found.
    candidates : DataFrame
        Every series winner ranked, with its evidence: ``rank``, ``solution``, the series
        columns, ``k``, ``votes``, ``n_voting``, ``support``, ``voters``, ``reference_silhouette``,
        ``balance``, ``smallest_share``, ``largest_share``, stability columns where measured,
        ``eligible``, ``reason``.
    eligibility : DataFrame
        Every solution of the grid: ``solution``, ``smallest_share``, ``smallest_size``,
        ``largest_share``, ``balance``, ``eligible``, ``reason``.
    votes : DataFrame
        How each criterion voted in the chosen solution's series (among eligible k).
    stability : DataFrame
        Bootstrap and seed stability of the measured candidates (the chosen one always).
    """

    solution: str
    chosen_by: str
    structure: bool
    statement: str
    candidates: pd.DataFrame
    eligibility: pd.DataFrame
    votes: pd.DataFrame
    stability: pd.DataFrame

    def top(self, n: int = TOP) -> pd.DataFrame:
        """The first `n` candidates."""
        return self.candidates.head(n)

    @property
    def knee(self) -> int | None:
        """The k the inertia knee votes for in the chosen series (None when it abstains)."""
        knee = (
            self.votes.loc[self.votes["criterion"] == "inertia_knee", "k"]
            if len(self.votes)
            else []
        )
        return None if len(knee) == 0 or pd.isna(knee.iloc[0]) else int(knee.iloc[0])


def solution_id(feature_set: str, scaling: str, algorithm: str, k: int, seed: int) -> str:
    """The readable id of one solution.

    >>> solution_id("rfm", "standard", "kmeans", 4, 0)
    'rfm/standard/kmeans/k=4/seed=0'
    """
    return f"{feature_set}/{scaling}/{algorithm}/k={k}/seed={seed}"


def balance(sizes: Sequence[int]) -> float:
    """Normalised entropy of segment sizes: 1 for equal sizes, near 0 for one giant segment.

    >>> balance([50, 50]), round(balance([98, 1, 1]), 3)
    (1.0, 0.102)
    """
    counts = np.asarray(sizes, dtype=np.float64)
    if len(counts) < 2:
        return 0.0
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * np.log(shares)).sum() / math.log(len(counts)))


def eligibility(results: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Whether each solution's segments are large enough to act on, and why not.

    Parameters
    ----------
    results : DataFrame
        The grid's results: ``solution`` and ``sizes`` (comma-separated segment sizes).
    rules : Rules
        The thresholds.

    Examples
    --------
    >>> table = pd.DataFrame({"solution": ["a", "b"], "sizes": ["600,400", "990,10"]})
    >>> eligibility(table, Rules())[["solution", "eligible", "reason"]].to_dict("records")
    [{'solution': 'a', 'eligible': True, 'reason': ''}, {'solution': 'b', 'eligible': False, \
'reason': 'smallest segment 10 customers (1.0%), under 2% and 30'}]
    """
    rows = []
    for solution, text in zip(results["solution"], results["sizes"], strict=True):
        sizes = np.array([int(v) for v in str(text).split(",")])
        n, smallest = sizes.sum(), sizes.min()
        share = smallest / n
        too_small = []
        if share < rules.min_segment_share:
            too_small.append(f"{rules.min_segment_share:.0%}")
        if smallest < rules.min_segment_size:
            too_small.append(f"{rules.min_segment_size}")
        limits = " and ".join(too_small)
        reason = (
            f"smallest segment {smallest:,} customers ({share:.1%}), under {limits}"
            if too_small
            else ""
        )
        rows.append(
            {
                "solution": solution, "smallest_share": share, "smallest_size": int(smallest),
                "largest_share": sizes.max() / n, "balance": balance(sizes),
                "eligible": not too_small, "reason": reason,
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def series_winners(
    results: pd.DataFrame, eligible: pd.DataFrame, gap: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The k the internal criteria vote for in each series, among its eligible solutions.

    Returns
    -------
    winners : DataFrame
        One row per series with an eligible solution: its results row plus ``votes``,
        ``n_voting``, ``support`` (votes / n_voting) and ``voters``.
    votes : DataFrame
        Every criterion's vote per series.
    """
    usable = results.merge(eligible[["solution", "eligible"]], on="solution")
    usable = usable[usable["eligible"]].drop(columns="eligible")
    if usable.empty:
        return usable.assign(votes=0, n_voting=0, support=0.0, voters=""), pd.DataFrame()
    kchoice = choose_k(usable, gap=gap, by=SERIES)
    chosen = kchoice.recommended.dropna(subset=["recommended_k"])
    chosen = chosen.rename(columns={"recommended_k": "k"}).astype({"k": "int64"})
    winners = usable.merge(chosen[[*SERIES, "k", "votes", "n_voting", "voters"]], on=[*SERIES, "k"])
    winners["support"] = winners["votes"] / winners["n_voting"].where(winners["n_voting"] > 0)
    return winners.reset_index(drop=True), kchoice.votes


def constrain(candidates: pd.DataFrame, constraints: Mapping[str, object]) -> pd.DataFrame:
    """The candidates that meet every constraint (``feature_set``, ``scaling``, ``algorithm``,
    ``seed``: a value or a list; ``k``: a value or an inclusive ``[low, high]`` range)."""
    keep = pd.Series(True, index=candidates.index)
    for column, wanted in constraints.items():
        if wanted is None:
            continue
        if column == "k" and isinstance(wanted, tuple | list):
            low, high = wanted
            keep &= candidates["k"].between(low, high)
        else:
            values = list(wanted) if isinstance(wanted, tuple | list) else [wanted]
            keep &= candidates[column].isin(values)
    return candidates[keep]


def rank_candidates(winners: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Order the series winners by the rule (steps 3 and 4 of the module docstring).

    Parameters
    ----------
    winners : DataFrame
        From :func:`series_winners`, with ``reference_silhouette`` added.
    evidence : DataFrame
        :func:`eligibility` rows (balance, shares) to join by solution.

    Returns
    -------
    DataFrame
        The winners with their evidence and ``rank`` (1 = chosen), best first; ties end on the
        solution id so that the order never depends on the grid's order.
    """
    extra = [
        c for c in evidence.columns if c not in winners.columns and c not in ("eligible", "reason")
    ]
    table = winners.merge(evidence[["solution", *extra]], on="solution")
    if table.empty:
        return table.assign(rank=pd.Series(dtype="int64"), eligible=True, reason="")
    table = table.sort_values(
        ["reference_silhouette", "solution"], ascending=[False, True], na_position="last"
    )
    champions = table.drop_duplicates("feature_set")
    order = champions.sort_values(
        ["votes", "balance", "reference_silhouette", "solution"],
        ascending=[False, False, False, True],
    )["feature_set"].tolist()
    table["_set"] = table["feature_set"].map({name: i for i, name in enumerate(order)})
    table = table.sort_values(["_set", "reference_silhouette", "solution"],
                              ascending=[True, False, True], na_position="last")  # fmt: skip
    table = table.drop(columns="_set").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.assign(eligible=True, reason="")


def explain(
    candidates: pd.DataFrame,
    votes: pd.DataFrame,
    *,
    structure: bool,
    gap_k: int | None,
    chosen_by: str,
    constraints: Mapping[str, object],
) -> str:
    """The decision in a few sentences of plain words (for the report and summary.json)."""
    if candidates.empty:
        return "No solution of the grid could be ranked."
    best = candidates.iloc[0]
    parts = []
    if chosen_by == "config":
        parts.append(f"The config names {best['solution']}.")
    else:
        limits = [f"{key} {value}" for key, value in constraints.items() if value is not None]
        within = f" among the solutions with {', '.join(limits)}" if limits else ""
        agreed = (
            f"{best['votes']} of {best['n_voting']} criteria agree on k = {best['k']} in its series"
            if best["n_voting"]
            else "no criterion voted in its series"
        )
        parts.append(
            f"Chosen{within}: {best['solution']}: {agreed}, silhouette "
            f"{best['reference_silhouette']:.3f} in the reference space of the "
            f"'{best['feature_set']}' features ({_reference_space(best['algorithm'])}), "
            f"segment balance {best['balance']:.2f}."
        )
        other = candidates[
            (candidates["k"] != best["k"]) | (candidates["feature_set"] != best["feature_set"])
        ]
        if len(other):
            parts.append(_runner_up(best, other.iloc[0]))
    disagreement = _disagreement(votes, best)
    if disagreement:
        parts.append(disagreement)
    if not structure:
        why = (
            "the gap statistic finds no cluster structure (k = 1)"
            if gap_k == 1
            else "no solution meets the eligibility rules"
        )
        parts.append(
            f"No clear cluster structure: {why}. The segments shown are a practical partition "
            "of the customer base, not natural groups."
        )
    return " ".join(parts)


def _runner_up(best: pd.Series, second: pd.Series) -> str:
    name = second["solution"]
    if second["feature_set"] == best["feature_set"]:
        return (
            f"The best alternative, {name}, separates the customers less well in the same "
            f"reference space (silhouette {second['reference_silhouette']:.3f})."
        )
    if second["votes"] < best["votes"]:
        return (
            f"The best alternative, {name}, on other features, has weaker agreement among its "
            "criteria "
            f"({second['votes']} of {second['n_voting']})."
        )
    return (
        f"Runner-up {name}, on other features, is as well supported but less balanced "
        f"(balance {second['balance']:.2f})."
    )


def _disagreement(votes: pd.DataFrame, best: pd.Series) -> str:
    if votes.empty:
        return ""
    mine = votes[(votes[SERIES] == best[SERIES].to_numpy()).all(axis=1)]
    against = mine[mine["k"].notna() & (mine["k"] != best["k"])]
    if against.empty:
        return ""
    others = ", ".join(f"{row.criterion} k = {row.k}" for row in against.itertuples())
    return f"The criteria disagree: {others}."


def check_constraints(constraints: Mapping[str, object], results: pd.DataFrame) -> None:
    """Raise a ConfigError when a constraint names something the grid does not hold."""
    for column, wanted in constraints.items():
        if wanted is None or column == "k":
            continue
        values = list(wanted) if isinstance(wanted, tuple | list) else [wanted]
        known = sorted(set(results[column]))
        missing = [v for v in values if v not in known]
        if missing:
            raise ConfigError(
                f"clustering.{column}: {', '.join(map(str, missing))} is not in the experiment "
                f"grid ({', '.join(map(str, known))}); add it to experiments or change the "
                "constraint"
            )


def _reference_space(algorithm: str) -> str:
    """How the reference space measures distance for solutions of `algorithm`."""
    if algorithm in ALGORITHMS and ALGORITHMS.get(algorithm).mixed:
        return "Gower distance over the log-scaled numbers and the categories"
    return "log-scaled"
