"""The scoring part of a segmentation: what assigns customers to its segments, and what it saw.

A :class:`SegmentModel` holds the features and the settings that computed them, the fitted
scaler and :class:`~seglab.cluster.assign.Assigner`, the segments' ids and centres, and the
training customers' feature distributions. :meth:`SegmentModel.score` assigns a customer table
to the segments, flags customers outside the training range and measures drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.cluster import FeatureScaler
from seglab.cluster.assign import Assigner
from seglab.errors import DataError
from seglab.evaluate.drift import DRIFT_WARNING, describe, stability_table
from seglab.features.categorical import encode_categories

__all__ = ["Scores", "SegmentModel", "build_model"]


@dataclass(frozen=True)
class SegmentModel:
    """What scores customers into the segments of one segmentation.

    Attributes
    ----------
    features : tuple of str
        The clustered features, in order.
    settings : dict
        How the features were computed: ``features`` (window, growth and recent periods),
        ``cleaning`` (the cleaning policy), ``preset`` and ``columns`` of the data section.
    scaler : FeatureScaler
        Fitted on the training customers.
    assigner : Assigner
        Assigns scaled customers to segments 0..k-1.
    segment_ids : tuple of str
        The id of segment j (``S1``..).
    centres : ndarray of shape (k, d)
        Mean scaled features of every segment's training customers.
    training : dict
        ``as_of``, ``data_fingerprint``, ``customers`` and ``distributions`` (per feature, its
        deciles and range, :func:`seglab.evaluate.drift.describe`).
    categorical : tuple of str
        The attribute columns a mixed feature set clusters as categories (none for numbers).
    categories : tuple of tuple of str
        The training customers' categories of each, whose positions are the codes the
        estimator knows (:mod:`seglab.features.categorical`).
    """

    features: tuple[str, ...]
    settings: dict
    scaler: FeatureScaler
    assigner: Assigner
    segment_ids: tuple[str, ...]
    centres: np.ndarray
    training: dict = field(default_factory=dict)
    categorical: tuple[str, ...] = ()
    categories: tuple[tuple[str, ...], ...] = ()

    def with_ids(self, segment_ids: list[str]) -> SegmentModel:
        """The same model with other segment ids (after matching to a reference)."""
        return SegmentModel(
            self.features, self.settings, self.scaler, self.assigner, tuple(segment_ids),
            self.centres, self.training, self.categorical, self.categories,
        )  # fmt: skip

    def transform(self, customers: pd.DataFrame) -> np.ndarray:
        """The model's features of `customers`, scaled as at training."""
        missing = [name for name in self.features if name not in customers.columns]
        if missing:
            raise DataError(
                f"the segmentation needs the feature(s) {', '.join(missing)}, which these "
                f"customers do not have (they have {', '.join(map(str, customers.columns[:12]))}"
                f"{', ...' if len(customers.columns) > 12 else ''}); compute the features with the "
                "model's settings (seglab score does) or score data that can give them"
            )
        return self.scaler.transform(customers[list(self.features)])

    def clustered(self, customers: pd.DataFrame) -> np.ndarray:
        """What the assigner takes: :meth:`transform`, then the category codes (mixed sets)."""
        X = self.transform(customers)
        if not self.categorical:
            return X
        missing = [name for name in self.categorical if name not in customers.columns]
        if missing:
            raise DataError(
                f"the segmentation clusters the attribute column(s) {', '.join(missing)} as "
                "categories, which these customers do not have; join the customer attribute "
                "table (data.customers; seglab score does) before scoring"
            )
        codes = encode_categories(customers, self.categorical, self.categories)
        return np.column_stack([X, codes])

    def score(self, customers: pd.DataFrame) -> Scores:
        """Assign every customer of a feature table to a segment and measure drift.

        Parameters
        ----------
        customers : DataFrame
            One row per customer, indexed by ``customer_id``, holding the model's features.
        """
        X = self.clustered(customers)
        segments = self.assigner.labels(X)
        ids = np.asarray(self.segment_ids)[segments]
        table = pd.DataFrame({"segment": segments, "segment_id": ids}, index=customers.index)
        memberships = self.assigner.memberships(X)
        if memberships is not None:
            for j, segment_id in enumerate(self.segment_ids):
                table[f"membership_{segment_id.lower()}"] = memberships[:, j]
        table["outside_training_range"] = self._outside(customers)
        drift = stability_table(self.training.get("distributions", {}), customers)
        return Scores(table, drift, _warnings(drift, table))

    def _outside(self, customers: pd.DataFrame) -> pd.Series:
        """The features (comma-separated) on which a customer lies beyond the training range."""
        flags = pd.Series("", index=customers.index, dtype=object)
        for feature, distribution in self.training.get("distributions", {}).items():
            values = customers[feature]
            beyond = (values < distribution["low"]) | (values > distribution["high"])
            flags[beyond] = flags[beyond] + np.where(flags[beyond] == "", "", ", ") + feature
        return flags


@dataclass(frozen=True)
class Scores:
    """Customers scored by a segmentation.

    Attributes
    ----------
    customers : DataFrame
        Indexed by ``customer_id``: ``segment`` (0..k-1), ``segment_id``, memberships
        (``membership_s1``..) for fuzzy and mixture models, ``outside_training_range`` (the
        features beyond the training minimum or maximum, "" when none); the segmentation adds
        ``segment_name`` and ``action``.
    drift : DataFrame
        Population stability index per feature against the training customers.
    warnings : list of str
        What the reader should know, in words (drift above 0.25, customers out of range).
    """

    customers: pd.DataFrame
    drift: pd.DataFrame
    warnings: list[str]


def build_model(
    features: tuple[str, ...],
    settings: dict,
    scaler: FeatureScaler,
    assigner: Assigner,
    customers: pd.DataFrame,
    labels: np.ndarray,
    *,
    segment_ids: list[str],
    as_of: dt.date,
    data_fingerprint: str,
    categorical: tuple[str, ...] = (),
    categories: tuple[tuple[str, ...], ...] = (),
) -> SegmentModel:
    """The model of a fitted segmentation, with its centres (of the scaled numbers) and
    training distributions; `categorical` and `categories` for a mixed feature set."""
    X = scaler.transform(customers[list(features)])
    centres = np.vstack([X[labels == j].mean(axis=0) for j in range(assigner.k)])
    training = {
        "as_of": as_of.isoformat(),
        "data_fingerprint": data_fingerprint,
        "customers": len(customers),
        "distributions": {name: describe(customers[name].to_numpy()) for name in features},
    }
    return SegmentModel(
        tuple(features), settings, scaler, assigner, tuple(segment_ids), centres, training,
        tuple(categorical), tuple(tuple(c) for c in categories),
    )  # fmt: skip


def _warnings(drift: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    notes = []
    drifted = drift[drift["psi"] > DRIFT_WARNING]
    if not drifted.empty:
        listed = ", ".join(f"{r.feature} (PSI {r.psi:.2f})" for r in drifted.itertuples())
        notes.append(
            f"These features have shifted strongly since the segmentation was trained: "
            f"{listed}. Above {DRIFT_WARNING} the segments may no longer describe the customers; "
            "consider refitting the segmentation on recent data."
        )
    outside = int((table["outside_training_range"] != "").sum())
    if outside:
        notes.append(
            f"{outside:,} of {len(table):,} customers lie outside the range seen in training on "
            "at least one feature (column outside_training_range); their segment is the nearest "
            "one, but the segmentation was not built on customers like them."
        )
    return notes
