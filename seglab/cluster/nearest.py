"""Nearest centre of every row: a compiled, parallel, exact-distance assignment.

Assigning a million customers to a thousand micro-clusters is the largest step of two-step
Ward after the micro-clusters' k-means: scikit-learn's ``pairwise_distances_argmin`` took 4.3 to
5.4 s there on the 2-core reference machine, this kernel a fraction of it (see
benchmarks/README.md, "Hierarchical clustering"). Distances are the sums of squared differences
themselves (not ``|x|^2 - 2 x.c + |c|^2``, which cancels), so near ties are decided exactly.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from seglab.cluster.numba_cache import cached_njit

__all__ = ["nearest_centre"]

#: Rows per parallel task.
_ROWS = 4096


@cached_njit(parallel=True, error_model="numpy")
def _nearest(X, centres_t, out):  # pragma: no cover - compiled
    """Fill ``out`` with the index of the nearest column of ``centres_t`` (features x centres)
    for each row of ``X``; the first one on ties."""
    n_samples, n_features = X.shape
    n_centres = centres_t.shape[1]
    n_tasks = (n_samples + _ROWS - 1) // _ROWS
    for task in prange(n_tasks):
        distances = np.empty(n_centres)
        for i in range(task * _ROWS, min(n_samples, (task + 1) * _ROWS)):
            for k in range(n_centres):
                distances[k] = 0.0
            for f in range(n_features):
                x = X[i, f]
                for k in range(n_centres):
                    e = x - centres_t[f, k]
                    distances[k] += e * e
            best = 0
            for k in range(1, n_centres):
                best = k if distances[k] < distances[best] else best
            out[i] = best


def nearest_centre(X: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``centres`` (Euclidean) for every row of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite float64 rows.
    centres : ndarray of shape (n_centres, n_features)
        Finite float64 centres, at least one.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Index of each row's nearest centre; the first one on ties.
    """
    out = np.empty(X.shape[0], dtype=np.intp)
    _nearest(
        np.ascontiguousarray(X, dtype=np.float64),
        np.ascontiguousarray(np.asarray(centres, dtype=np.float64).T),
        out,
    )
    return out
