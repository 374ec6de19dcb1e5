"""The segmentation a run keeps: the chosen solution with its ids, names, actions and profile.

Segments are numbered 0..k-1 inside a run (0 = the largest) and known to people by their id
(``S1``..), which stays the same across refits and periods (:mod:`seglab.interpret.identity`).
The analyst's names and actions (``clustering.names``) are keyed by id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.evaluate.drift import DRIFT_COLUMNS
from seglab.features import compute_features
from seglab.features.settings import FeaturesConfig
from seglab.interpret.identity import (
    IDENTITY_COLUMNS,
    MATCH_LIMIT,
    first_ids,
    match_segments,
    segment_number,
)
from seglab.interpret.model import Scores, SegmentModel
from seglab.interpret.profile import (
    name_segments,
    profile_segments,
    standardised_differences,
    suggest_actions,
)

__all__ = ["Segmentation", "segment"]

#: How many features a segment's description names.
DESCRIBED_FEATURES = 3
IDENTITY = [*IDENTITY_COLUMNS, "previous_name"]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


@dataclass(frozen=True)
class Segmentation:
    """The chosen clustering solution, fitted once by the grid, identified, named and profiled.

    Attributes
    ----------
    solution : str
        Its id in the grid (``feature_set/scaling/algorithm/k=K/seed=S``).
    feature_set, scaling, algorithm : str
        How it was made.
    features : tuple of str
        The clustered features, in order.
    k, seed : int
        Number of segments and seed.
    labels : Series
        Segment of every customer in scope (0 = the largest), indexed by ``customer_id``.
    memberships : DataFrame or None
        Fuzzy or mixture memberships (column ``membership_j`` for segment j), None when hard.
    names : DataFrame
        Per segment j: ``segment_id``, ``name``, ``action``, ``description`` and ``status``
        (``first`` without a reference, else ``kept`` or ``new``).
    differences : DataFrame
        Per segment, each feature's mean minus the base mean in base standard deviations.
    profile : DataFrame
        Per segment: size, revenue, means and medians of every numeric column, and `names`.
    identity : DataFrame
        The matching to the reference segmentation (see
        :func:`~seglab.interpret.identity.match_segments`), empty without one.
    drift : DataFrame
        Population stability per feature against the reference's training customers, empty
        without a reference.
    model : SegmentModel or None
        What scores new customers (saved as ``segmentation.skops``; in memory only here).
    scaled : ndarray or None
        The scaled features of the customers, in the order of `labels` (in memory only).
    """

    solution: str
    feature_set: str
    scaling: str
    algorithm: str
    features: tuple[str, ...]
    k: int
    seed: int
    labels: pd.Series
    memberships: pd.DataFrame | None
    names: pd.DataFrame
    differences: pd.DataFrame
    profile: pd.DataFrame
    identity: pd.DataFrame = field(default_factory=lambda: _empty(IDENTITY))
    drift: pd.DataFrame = field(default_factory=lambda: _empty(DRIFT_COLUMNS))
    model: SegmentModel | None = field(default=None, metadata={"transient": True})
    scaled: np.ndarray | None = field(default=None, metadata={"transient": True})

    @property
    def segment_names(self) -> pd.Series:
        """The name of every customer's segment, indexed by ``customer_id``."""
        return self._per_customer("name", "cluster_name")

    @property
    def segment_ids(self) -> pd.Series:
        """The id of every customer's segment, indexed by ``customer_id``."""
        return self._per_customer("segment_id", "segment_id")

    def _per_customer(self, column: str, name: str) -> pd.Series:
        values = self.names[column].reindex(self.labels.to_numpy()).to_numpy()
        return pd.Series(values, index=self.labels.index, name=name)

    def score(self, data: pd.DataFrame, *, as_of: str | dt.date | None = None) -> Scores:
        """Assign customers to these segments, as the training customers were.

        Parameters
        ----------
        data : DataFrame
            Clean transactions in the contract's columns (``customer_id``, ``order_date``,
            ``amount``, ...), whose features are computed with the training settings, or a
            customer table indexed by ``customer_id`` holding the segmentation's features.
        as_of : date or str, optional
            The date the transactions' features describe; the training date by default.

        Returns
        -------
        Scores
            Per customer ``segment_id``, ``segment_name``, ``action``, memberships when soft
            and ``outside_training_range``; drift per feature; warnings in words.
        """
        if self.model is None:
            raise ConfigError(
                "this segmentation has no scoring model; load it with "
                "seglab.load_segmentation('.../segmentation.skops')"
            )
        customers = data
        if {"order_date", "amount"} <= set(data.columns):
            day = dt.date.fromisoformat(str(as_of or self.model.training["as_of"]))
            options = FeaturesConfig(**self.model.settings["features"])
            customers = compute_features(data, day, self.model.features, options=options)
        scores = self.model.score(customers)
        table = scores.customers.drop(columns="segment")
        names = self.names.set_index("segment_id").reindex(table["segment_id"])
        table.insert(1, "segment_name", names["name"].to_numpy())
        table.insert(2, "action", names["action"].to_numpy())
        return Scores(table, scores.drift, scores.warnings)


def segment(
    solution: Mapping,
    model: SegmentModel,
    labels: np.ndarray,
    memberships: np.ndarray | None,
    customers: pd.DataFrame,
    *,
    scaled: np.ndarray,
    names: Mapping | None = None,
    reference: Segmentation | None = None,
    match_limit: float = MATCH_LIMIT,
) -> Segmentation:
    """Identify, name and profile the chosen solution.

    Parameters
    ----------
    solution : mapping
        Its row of the grid's results (``solution``, ``feature_set``, ``scaling``,
        ``algorithm``, ``k``, ``seed``).
    model : SegmentModel
        Its scoring model (ids are set here).
    labels, memberships
        Its segments (0 = largest) and memberships from the grid, in the rows of `customers`.
    customers : DataFrame
        The customer table (features and attributes), in the grid's row order.
    scaled : ndarray
        The scaled features of the customers.
    names : mapping, optional
        The analyst's names and actions by segment id (``clustering.names``).
    reference : Segmentation, optional
        A previous segmentation with its model: matched segments keep its ids, names, actions.
    match_limit : float
        See :func:`~seglab.interpret.identity.match_segments`.
    """
    series = pd.Series(labels, index=customers.index, name="cluster").astype("int64")
    features = list(model.features)
    differences = standardised_differences(customers[features], series)
    identity, drift = _empty(IDENTITY), _empty(DRIFT_COLUMNS)
    ids, inherited = first_ids(model.assigner.k), {}
    if reference is not None and reference.model is not None:
        ids, identity, inherited = _match(reference, customers, series, match_limit)
        drift = reference.model.score(customers).drift
    model = model.with_ids(ids)
    table = _names(differences, ids, inherited, names or {})
    suggested = suggest_actions(customers, series).reindex(table.index)
    table["action"] = table["action"].where(table["action"] != "", suggested)
    table["description"] = _descriptions(customers[features], series, differences)
    table["status"] = (
        identity.set_index("segment_id")["status"].reindex(ids).to_numpy()
        if not identity.empty else "first"
    )  # fmt: skip
    frame = None
    if memberships is not None:
        columns = [f"membership_{j}" for j in range(memberships.shape[1])]
        frame = pd.DataFrame(memberships, index=customers.index, columns=columns)
    return Segmentation(
        solution=solution["solution"],
        feature_set=solution["feature_set"],
        scaling=solution["scaling"],
        algorithm=solution["algorithm"],
        features=tuple(features),
        k=int(solution["k"]),
        seed=int(solution["seed"]),
        labels=series,
        memberships=frame,
        names=table,
        differences=differences,
        profile=profile_segments(customers, series).join(table),
        identity=identity,
        drift=drift,
        model=model,
        scaled=scaled,
    )


def _match(reference: Segmentation, customers, labels: pd.Series, limit: float):
    """Ids from the reference, the matching table, and the reference's name and action by id."""
    X = reference.model.transform(customers)
    centres = np.vstack([X[labels.to_numpy() == j].mean(axis=0) for j in range(labels.max() + 1)])
    ids, identity = match_segments(
        centres, reference.model.centres, list(reference.model.segment_ids), limit=limit
    )
    known = reference.names.set_index("segment_id")[["name", "action"]]
    names = identity.merge(known, left_on="segment_id", right_index=True, how="left")
    identity = names.rename(columns={"name": "previous_name"}).drop(columns="action")
    kept = set(identity.loc[identity["status"] == "kept", "segment_id"])
    inherited = {i: known.loc[i].to_dict() for i in kept}
    return ids, identity, inherited


def _names(differences: pd.DataFrame, ids: list[str], inherited: dict, names: Mapping):
    """Generated names, then the reference's for kept segments, then the analyst's by id."""
    unknown = sorted(set(map(str, names)) - set(ids), key=_order)
    if unknown:
        raise ConfigError(
            f"clustering.names names segment(s) {', '.join(unknown)}, but this segmentation "
            f"has {', '.join(ids)}; a name is never moved to another segment. Remove those "
            "names, or rename the segments the report lists under their new ids"
        )
    by_id = name_segments(differences.set_axis(ids), {**inherited, **names})
    table = by_id.rename_axis("segment_id").reset_index()
    table.index = differences.index
    return table


def _order(segment_id: str) -> tuple[int, str]:
    return (segment_number(segment_id), "") if segment_id[1:].isdigit() else (0, segment_id)


def _descriptions(features: pd.DataFrame, labels: pd.Series, differences) -> list[str]:
    """Per segment, its most distinctive features: segment median against everyone's."""
    everyone = features.median()
    medians = features.groupby(labels.to_numpy()).median()
    texts = []
    for j, row in differences.iterrows():
        top = row.abs().sort_values(ascending=False, kind="stable").index[:DESCRIBED_FEATURES]
        texts.append(
            "; ".join(
                f"{name} {medians.loc[j, name]:,.4g} (all: {everyone[name]:,.4g})" for name in top
            )
        )
    return texts
