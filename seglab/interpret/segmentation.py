"""The segmentation a run keeps: the chosen solution with its names, actions and profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.cluster import FeatureScaler, FittedSolution
from seglab.interpret.profile import name_segments, profile_segments, standardised_differences

__all__ = ["Segmentation", "segment"]


@dataclass(frozen=True)
class Segmentation:
    """The chosen clustering solution, fitted once by the grid, named and profiled.

    Attributes
    ----------
    solution : str
        Its id in the grid (``feature_set/scaling/algorithm/k=K/seed=S``).
    feature_set, scaling, algorithm : str
        How it was made.
    features : tuple of str
        The clustered features, in order.
    k, seed : int
        Number of clusters and seed.
    labels : Series
        Cluster of every customer in scope (0 = the largest), indexed by ``customer_id``.
    memberships : DataFrame or None
        Fuzzy memberships (column ``membership_j`` for cluster j), None for hard solutions.
    names : DataFrame
        Per cluster: ``name`` and ``action`` (generated, or the analyst's from the config).
    differences : DataFrame
        Per cluster, each feature's mean minus the base mean in base standard deviations.
    profile : DataFrame
        Per cluster: size, revenue, means and medians of every numeric column, name, action.
    scaler : FeatureScaler
        The fitted scaler (in memory only).
    scaled : ndarray
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
    scaler: FeatureScaler | None = field(default=None, metadata={"transient": True})
    scaled: np.ndarray | None = field(default=None, metadata={"transient": True})

    @property
    def segment_names(self) -> pd.Series:
        """The name of every customer's segment, indexed by ``customer_id``."""
        return pd.Series(
            self.names["name"].reindex(self.labels.to_numpy()).to_numpy(),
            index=self.labels.index,
            name="cluster_name",
        )


def segment(
    solution: Mapping,
    fitted: FittedSolution,
    customers: pd.DataFrame,
    *,
    scaler: FeatureScaler,
    scaled: np.ndarray,
    features: tuple[str, ...],
    names: Mapping | None = None,
) -> Segmentation:
    """Name and profile the chosen solution.

    Parameters
    ----------
    solution : mapping
        Its row of the grid's results (``solution``, ``feature_set``, ``scaling``,
        ``algorithm``, ``k``, ``seed``).
    fitted : FittedSolution
        Its labels (and memberships) from the grid.
    customers : DataFrame
        The customer table (features and attributes), in the grid's row order.
    scaler, scaled
        The scaler the grid fitted for its feature set and scaling, and its output.
    features : tuple of str
        The clustered features.
    names : mapping, optional
        The analyst's names and actions by cluster (``clustering.names``).
    """
    labels = pd.Series(fitted.labels, index=customers.index, name="cluster").astype("int64")
    memberships = None
    if fitted.memberships is not None:
        columns = [f"membership_{j}" for j in range(fitted.memberships.shape[1])]
        memberships = pd.DataFrame(fitted.memberships, index=customers.index, columns=columns)
    differences = standardised_differences(customers[list(features)], labels)
    named = name_segments(differences, names or {})
    return Segmentation(
        solution=solution["solution"],
        feature_set=solution["feature_set"],
        scaling=solution["scaling"],
        algorithm=solution["algorithm"],
        features=tuple(features),
        k=int(solution["k"]),
        seed=int(solution["seed"]),
        labels=labels,
        memberships=memberships,
        names=named,
        differences=differences,
        profile=profile_segments(customers, labels).join(named),
        scaler=scaler,
        scaled=scaled,
    )
