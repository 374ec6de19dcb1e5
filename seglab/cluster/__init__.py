"""Registry of clustering algorithms; every entry builds a scikit-learn style estimator.

One module per algorithm family lives beside this file; this module holds the registry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import ClusterMixin
from sklearn.cluster import KMeans

from seglab.errors import DataError
from seglab.registry import Registry

__all__ = ["ALGORITHMS", "fit_clusters", "make_clusterer"]

ALGORITHMS: Registry[Callable[..., ClusterMixin]] = Registry("algorithm")
ALGORITHMS.register(
    "kmeans",
    lambda k, random_state, n_init=10: KMeans(
        n_clusters=k, n_init=n_init, random_state=random_state
    ),
)


def make_clusterer(name: str, k: int, *, random_state: int, **params) -> ClusterMixin:
    """Build an unfitted estimator of algorithm `name` with `k` clusters."""
    return ALGORITHMS.get(name)(k, random_state, **params)


def fit_clusters(
    X: np.ndarray, name: str, k: int, *, random_state: int, **params
) -> tuple[ClusterMixin, np.ndarray]:
    """Fit algorithm `name` on `X` and return the estimator and labels relabelled by size.

    Cluster 0 is the largest; ties keep the order in which clusters first appear. The relabelling
    makes labels readable and stable across runs that differ only in the internal numbering.

    Parameters
    ----------
    X : array of shape (n_customers, n_features)
        Scaled features.
    name : str
        Algorithm name in ``ALGORITHMS``.
    k : int
        Number of clusters; at most the number of customers.
    random_state : int
        Seed.
    **params
        Extra parameters of the algorithm.
    """
    n = X.shape[0]
    if k > n:
        raise DataError(
            f"cannot make k={k} clusters from {n} customers; choose k <= {n} "
            "or widen the data (earlier as_of window, fewer filters)"
        )
    if not np.isfinite(X).all():
        raise DataError("scaled features contain NaN or infinite values; check the feature table")
    estimator = make_clusterer(name, k, random_state=random_state, **params).fit(X)
    return estimator, relabel_by_size(estimator.labels_)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber labels so that 0 is the largest cluster, 1 the next, and so on.

    >>> relabel_by_size(np.array([5, 2, 2, 5, 2, 9])).tolist()
    [1, 0, 0, 1, 0, 2]
    """
    values, first_seen, counts = np.unique(labels, return_index=True, return_counts=True)
    order = np.lexsort((first_seen, -counts))
    new_label = np.empty(len(values), dtype=np.int64)
    new_label[order] = np.arange(len(values))
    return new_label[np.searchsorted(values, labels)]
