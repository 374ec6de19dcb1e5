"""Fuzzy validity indices: plain functions of a membership matrix ``u`` (n_samples, n_clusters).

Rows of ``u`` sum to 1. The partition coefficient and entropy measure how crisp the memberships
are; the modified partition coefficient rescales the first to [0, 1]; Xie-Beni weighs
compactness against the separation of the centres (lower is better).

>>> round(partition_coefficient([[1.0, 0.0], [0.5, 0.5]]), 3)
0.75
"""

from __future__ import annotations

import numpy as np

from seglab.errors import DataError

__all__ = [
    "modified_partition_coefficient",
    "partition_coefficient",
    "partition_entropy",
    "xie_beni",
]


def _check_memberships(u) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 2 or u.size == 0:
        raise DataError(
            f"u must be a non-empty 2-D array (n_samples, n_clusters); got shape {u.shape}"
        )
    sums = u.sum(axis=1)
    if not (np.isfinite(u).all() and u.min() >= 0 and np.allclose(sums, 1.0, atol=1e-6)):
        raise DataError(
            "u must hold memberships in [0, 1] with one row per sample summing to 1; row sums "
            f"range from {sums.min():.6g} to {sums.max():.6g} (scikit-fuzzy's u is "
            "(n_clusters, n_samples): pass u.T)"
        )
    return u


def partition_coefficient(u) -> float:
    """Partition coefficient (Bezdek): ``PC = sum_ij u_ij ** 2 / n``.

    From 1/c (every membership 1/c) to 1 (a hard partition); higher is crisper.

    Parameters
    ----------
    u : array-like of shape (n_samples, n_clusters)
        Memberships; rows sum to 1.

    Returns
    -------
    float

    Examples
    --------
    >>> partition_coefficient([[1.0, 0.0], [0.5, 0.5]])
    0.75
    """
    u = _check_memberships(u)
    # a column at a time, here and below: no n x c temporaries (1M customers, c = 8: 64 MB each)
    return float(sum(np.dot(column, column) for column in u.T) / u.shape[0])


def partition_entropy(u) -> float:
    """Partition entropy (Bezdek): ``PE = -sum_ij u_ij * ln(u_ij) / n``, with ``0 ln 0 = 0``.

    From 0 (a hard partition) to ln(c) (every membership 1/c); lower is crisper.

    Parameters
    ----------
    u : array-like of shape (n_samples, n_clusters)
        Memberships; rows sum to 1.

    Returns
    -------
    float

    Examples
    --------
    >>> round(partition_entropy([[1.0, 0.0], [0.5, 0.5]]), 6)  # ln(2) / 2
    0.346574
    """
    u = _check_memberships(u)
    total = 0.0
    for column in u.T:
        positive = column[column > 0]
        total -= float(np.dot(positive, np.log(positive)))
    return total / u.shape[0]


def modified_partition_coefficient(u) -> float:
    """Modified partition coefficient (Dave): ``MPC = 1 - c / (c - 1) * (1 - PC)``.

    The partition coefficient rescaled to [0, 1] so that values compare across c.

    Parameters
    ----------
    u : array-like of shape (n_samples, n_clusters)
        Memberships; rows sum to 1; at least 2 clusters.

    Returns
    -------
    float

    Examples
    --------
    >>> modified_partition_coefficient([[1.0, 0.0], [0.5, 0.5]])
    0.5
    """
    u = _check_memberships(u)
    c = u.shape[1]
    if c < 2:
        raise DataError("the modified partition coefficient needs at least 2 clusters")
    return 1.0 - c / (c - 1) * (1.0 - partition_coefficient(u))


def xie_beni(X, u, centres, m=2.0) -> float:
    """Xie-Beni index: compactness over separation, lower is better.

    ``XB = sum_ij u_ij ** m * ||x_i - v_j|| ** 2 / (n * min_{j != k} ||v_j - v_k|| ** 2)``:
    the objective ``J_m`` per sample over the squared distance of the two closest centres. Xie
    and Beni used m = 2. Coinciding centres give ``inf``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The clustered data.
    u : array-like of shape (n_samples, n_clusters)
        Memberships; rows sum to 1.
    centres : array-like of shape (n_clusters, n_features)
        Cluster centres; at least 2.
    m : float, default=2.0
        Exponent of the memberships, the fuzzifier of the clustering.

    Returns
    -------
    float

    Examples
    --------
    >>> X = [[0.0], [1.0], [4.0]]
    >>> u = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    >>> xie_beni(X, u, [[0.0], [4.0]])  # (0.25 * 1 + 0.25 * 9) / (3 * 16)
    0.052083...
    """
    u = _check_memberships(u)
    X = np.asarray(X, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    n_samples, n_clusters = u.shape
    if X.ndim != 2 or X.shape[0] != n_samples:
        raise DataError(
            f"X has shape {X.shape} but u has {n_samples} rows; pass the data that was clustered"
        )
    if centres.shape != (n_clusters, X.shape[1]):
        raise DataError(
            f"centres have shape {centres.shape}, expected (n_clusters, n_features) = "
            f"{(n_clusters, X.shape[1])}"
        )
    if n_clusters < 2:
        raise DataError("the Xie-Beni index needs at least 2 clusters")
    compactness = 0.0
    for j in range(n_clusters):
        diff = X - centres[j]
        compactness += float(np.dot(u[:, j] ** m, np.einsum("ij,ij->i", diff, diff)))
    gaps = centres[:, None, :] - centres[None, :, :]
    squared = np.einsum("jkf,jkf->jk", gaps, gaps)[~np.eye(n_clusters, dtype=bool)]
    separation = float(squared.min())
    if separation == 0.0:
        return float("inf")
    return compactness / (n_samples * separation)
