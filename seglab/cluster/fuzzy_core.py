"""Fuzzy c-means iterations from given centres, without scikit-learn: cheap to import.

:class:`~seglab.cluster.fuzzy.FuzzyCMeans` (the estimator: initialisation, ``n_init``,
scikit-learn's conventions) runs these functions. A one-shot script that brings its own
starting centres can call :func:`fuzzy_cmeans` and import only NumPy, numba and the compiled
kernels, which load from numba's disk cache (scikit-learn's import alone takes longer than a
fit of 100,000 customers).

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
>>> fuzzy_cmeans(X, np.array([[0.0, 0.0], [10.0, 10.0]])).labels.tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from seglab.cluster import fuzzy_kernels as kernels

__all__ = ["FuzzyCMeansResult", "fuzzy_cmeans"]

#: Points are split into this many contiguous chunks whatever the number of threads; each chunk
#: sums its own partial centres and the partials are added in chunk order, so results are
#: bitwise identical for any thread count.
N_CHUNKS = 64
#: Inputs with fewer distance terms (n_samples x n_features x n_clusters) run single-threaded.
PARALLEL_MIN_WORK = 1 << 20


@dataclass(frozen=True)
class FuzzyCMeansResult:
    """What :func:`fuzzy_cmeans` found.

    Attributes
    ----------
    centres : ndarray of shape (n_clusters, n_features)
        Final centres.
    memberships : ndarray of shape (n_samples, n_clusters)
        Memberships to ``centres`` (a transposed view of a C-ordered (c, n) array); rows sum to 1.
    labels : ndarray of shape (n_samples,)
        Cluster of largest membership; the first one on ties.
    n_iter : int
        Iterations (centre updates) run.
    objective : float
        ``J_m`` of ``memberships`` and ``centres``.
    converged : bool
        Whether the largest membership change fell below ``tol``.
    """

    centres: np.ndarray
    memberships: np.ndarray
    labels: np.ndarray
    n_iter: int
    objective: float
    converged: bool


def fuzzy_cmeans(X, centres, *, m=2.0, tol=1e-5, max_iter=300) -> FuzzyCMeansResult:
    """Fuzzy c-means of the rows of ``X`` from the starting ``centres``.

    The iterations of :class:`~seglab.cluster.fuzzy.FuzzyCMeans` (same bits) for one given
    start, without its scikit-learn machinery, and without a warning when not converged (see
    ``converged``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite numbers.
    centres : array-like of shape (n_clusters, n_features)
        Starting centres, finite; ``n_clusters <= n_samples``.
    m : float, default=2.0
        Fuzzifier, > 1.
    tol : float, default=1e-5
        Stop when no membership moved by ``tol`` or more in an iteration; 0 runs ``max_iter``.
    max_iter : int, default=300
        Maximum number of centre updates, >= 1.

    Returns
    -------
    result : FuzzyCMeansResult
        Centres, memberships, labels, iterations, objective, convergence.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    centres = np.ascontiguousarray(centres, dtype=np.float64)
    _check(X, centres, m, tol, max_iter)
    memberships = np.empty((centres.shape[0], X.shape[0]))
    found, objective, n_iter, converged = iterate(
        tiles(X), centres, float(m), float(tol), int(max_iter), memberships
    )
    return FuzzyCMeansResult(
        found, memberships.T, labels_of(memberships), n_iter, objective, converged
    )


def _check(X: np.ndarray, centres: np.ndarray, m, tol, max_iter) -> None:
    """Raise seglab's clustering error naming what is wrong (imported then: it brings
    scikit-learn)."""
    problem, parameter = None, False
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        problem = f"X must be a non-empty 2-D array; got shape {X.shape}"
    elif centres.ndim != 2 or centres.shape[1] != X.shape[1] or centres.shape[0] == 0:
        problem = (
            f"centres has shape {centres.shape} but (n_clusters, n_features) with "
            f"n_features={X.shape[1]} is expected"
        )
    elif not (np.isfinite(X).all() and np.isfinite(centres).all()):
        problem = "X or centres contain NaN or infinite values; impute or drop them"
    elif centres.shape[0] > X.shape[0]:
        problem = (
            f"n_clusters={centres.shape[0]} is larger than n_samples={X.shape[0]}; "
            f"choose n_clusters <= {X.shape[0]}"
        )
    else:
        parameter = True
        for name, value, kind, low, allowed in (
            ("m", m, Real, 1, "a number > 1"),
            ("tol", tol, Real, 0, "a number >= 0"),
            ("max_iter", max_iter, Integral, 1, "an integer >= 1"),
        ):
            number = isinstance(value, kind) and not isinstance(value, bool)
            if not (number and (value > low if name == "m" else value >= low)):
                problem = f"{name} must be {allowed}; got {value!r}"
                break
    if problem is not None:
        from seglab.cluster import validation

        error = validation.ClusteringParameterError if parameter else validation.ClusteringDataError
        raise error(problem)


def pass_kernel(n_samples: int, n_features: int, n_clusters: int):
    """The parallel pass kernel from ``PARALLEL_MIN_WORK`` distance terms, else the serial one.

    Both give the same bits; on small inputs waking threads costs more than the pass itself.
    """
    if n_samples * n_features * n_clusters >= PARALLEL_MIN_WORK:
        return kernels.fcm_pass_parallel
    return kernels.fcm_pass_serial


def memberships_to(tiled: np.ndarray, centres: np.ndarray, m: float, out: np.ndarray) -> None:
    """Fill ``out`` (c x n) with the memberships to ``centres`` of the points in ``tiled``
    (:func:`tiles`: a fit passes the tiles it iterated on, predictions tile their rows)."""
    n_clusters, n_features = centres.shape
    n_samples = out.shape[1]
    num = np.empty((N_CHUNKS, n_clusters, n_features))
    den = np.empty((N_CHUNKS, n_clusters))
    stats = np.empty((N_CHUNKS, 2))
    kernel = pass_kernel(n_samples, n_features, n_clusters)
    bounds = chunk_bounds(n_samples)
    padded = kernels.padded(centres)
    kernel(tiled, n_samples, padded, m, bounds, out, False, num, den, stats)


def labels_of(u: np.ndarray) -> np.ndarray:
    """``np.argmax(u, axis=0)`` of a C-ordered (c, n) array, in parallel."""
    out = np.empty(u.shape[1], dtype=np.int64)
    kernels.argmax_columns(u, chunk_bounds(u.shape[1]), out)
    return out


def chunk_bounds(n_samples: int) -> np.ndarray:
    """Start of each of the ``N_CHUNKS`` contiguous chunks (multiples of the kernels' ``BLOCK``;
    some may be empty), then ``n_samples``."""
    n_blocks = -(-n_samples // kernels.BLOCK)
    bounds = (np.arange(N_CHUNKS + 1, dtype=np.int64) * n_blocks) // N_CHUNKS * kernels.BLOCK
    bounds[-1] = n_samples
    return bounds


def read_only(X: np.ndarray) -> np.ndarray:
    """A read-only view, so that the kernels compile once for writable and read-only inputs."""
    view = X.view()
    view.flags.writeable = False
    return view


def tiles(X: np.ndarray) -> np.ndarray:
    """The rows of the C-ordered float64 ``X`` copied into the kernels' tiles (see
    :func:`~seglab.cluster.fuzzy_kernels.tile`): one more copy of ``X``, made once per fit."""
    n_samples, n_features = X.shape
    n_blocks = -(-n_samples // kernels.BLOCK)
    out = np.empty((n_blocks, kernels.n_padded(n_features), kernels.BLOCK))
    kernels.tile(read_only(X), chunk_bounds(n_samples), out)
    return out


def iterate(tiled, centres, m, tol, max_iter, memberships):
    """Iterate from ``centres``; return (centres, objective, n_iter, converged).

    ``tiled`` holds the points (:func:`tiles`). On return ``memberships`` (c x n) holds the
    memberships to the returned centres.
    """
    n_clusters, n_features = centres.shape
    n_samples = memberships.shape[1]
    fcm_pass = pass_kernel(n_samples, n_features, n_clusters)
    bounds = chunk_bounds(n_samples)
    num = np.empty((N_CHUNKS, n_clusters, n_features))
    den = np.empty((N_CHUNKS, n_clusters))
    stats = np.empty((N_CHUNKS, 2))
    current = kernels.padded(centres)
    following = current.copy()  # the padding columns stay zero: combine writes the features
    fcm_pass(tiled, n_samples, current, m, bounds, memberships, False, num, den, stats)
    kernels.combine(num, den, stats, current, following)
    n_iter, converged = 0, False
    while n_iter < max_iter and not converged:
        n_iter += 1
        current, following = following, current
        fcm_pass(tiled, n_samples, current, m, bounds, memberships, True, num, den, stats)
        objective, change = kernels.combine(num, den, stats, current, following)
        converged = change < tol
    return current[:, :n_features].copy(), float(objective), n_iter, converged
