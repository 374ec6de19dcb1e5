"""Assign customers to the segments of a fitted solution: what a saved segmentation scores with.

The grid keeps labels, not estimators, so :func:`fit_assigner` refits the chosen solution once
with its seed and maps the estimator's clusters onto the solution's segments (0 = largest).
k-means, fuzzy C-means and Gaussian mixtures assign new customers with their own ``predict``
(nearest centre, largest membership, largest posterior), k-prototypes too (lowest cost to a
prototype and its modes), and Gower hierarchical clustering to the segment of the nearest medoid
(Gower distance). Hierarchical solutions have no rule for
a new point, so they assign by the nearest centroid of the final segments
(:class:`~sklearn.neighbors.NearestCentroid`); on the training customers that agrees with the
tree for most but not necessarily all of them, and :attr:`Assigner.training_agreement` says how
many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.neighbors import NearestCentroid

from seglab.checks import check_matrix
from seglab.cluster.algorithms import ALGORITHMS, make_clusterer

__all__ = ["Assigner", "fit_assigner"]

#: Attributes of a fitted estimator that describe its training customers, not its rule.
TRAINING_ONLY = ("labels_", "memberships_", "tree_", "sample_indices_")


@dataclass(frozen=True)
class Assigner:
    """A fitted estimator and the segment each of its clusters stands for.

    Attributes
    ----------
    algorithm : str
        The algorithm of the solution (``kmeans``, ``ward``, ...).
    estimator : estimator
        Fitted, with ``predict`` (and ``predict_proba`` when `soft`), in the scaled space.
    segment_of : ndarray of int
        ``segment_of[c]`` is the segment (0 = largest at training) of the estimator's cluster c.
    soft : bool
        The estimator gives memberships (fuzzy C-means, Gaussian mixture).
    training_agreement : float
        Share of the training customers the assigner puts in the segment the run gave them.
    """

    algorithm: str
    estimator: object
    segment_of: np.ndarray
    soft: bool
    training_agreement: float

    @property
    def k(self) -> int:
        """Number of segments."""
        return len(self.segment_of)

    def labels(self, X: np.ndarray) -> np.ndarray:
        """The segment (0..k-1) of every row of the scaled features `X`."""
        return self.segment_of[self.estimator.predict(check_matrix(X))]

    def memberships(self, X: np.ndarray) -> np.ndarray | None:
        """Memberships of every row of `X`, one column per segment; None for hard solutions."""
        if not self.soft:
            return None
        raw = self.estimator.predict_proba(check_matrix(X))
        ordered = np.empty_like(raw)
        ordered[:, self.segment_of] = raw
        return ordered


def fit_assigner(
    X: np.ndarray,
    algorithm: str,
    labels: np.ndarray,
    *,
    random_state: int,
    params: Mapping[str, object] | None = None,
    categorical: Sequence[int] = (),
) -> Assigner:
    """Refit `algorithm` on `X` with the solution's seed and map its clusters onto `labels`.

    Parameters
    ----------
    X : array of shape (n_customers, n_features)
        The scaled features the solution was fitted on.
    algorithm : str
        Its algorithm name in ``ALGORITHMS``.
    labels : array of int
        The solution's segments (0..k-1) of the rows of `X`.
    random_state : int
        The solution's seed.
    params : mapping, optional
        The algorithm's extra parameters from the config.
    categorical : sequence of int
        Positions of the category codes in `X` (a mixed feature set).
    """
    X = check_matrix(X)
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1
    spec = ALGORITHMS.get(algorithm)
    params = {key: value for key, value in (params or {}).items() if key != "two_step_above"}
    if spec.tree:
        estimator = NearestCentroid().fit(X, labels)
        segment_of = estimator.classes_.astype(np.int64)
    else:
        estimator = make_clusterer(
            algorithm, k, random_state=random_state, categorical=categorical, **params
        ).fit(X)
        segment_of = _matching(estimator.labels_, labels, k)
        for name in TRAINING_ONLY:
            if hasattr(estimator, name):
                delattr(estimator, name)
    assigner = Assigner(algorithm, estimator, segment_of, spec.fuzzy, 0.0)
    agreement = float(np.mean(assigner.labels(X) == labels))
    return Assigner(algorithm, estimator, segment_of, spec.fuzzy, agreement)


def _matching(clusters: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The one-to-one map cluster -> segment that keeps the most customers where they are.

    >>> _matching(np.array([2, 2, 0, 1]), np.array([0, 0, 1, 2]), 3).tolist()
    [1, 2, 0]
    """
    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    rows, columns = linear_sum_assignment(-table)
    segment_of = np.empty(k, dtype=np.int64)
    segment_of[rows] = columns
    return segment_of
