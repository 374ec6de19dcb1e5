"""Fuzzy c-means clustering with a fused, deterministic numba kernel.

Every customer gets a membership to every cluster instead of a single label. The estimator
follows scikit-learn's conventions; the validity indices of its memberships live in
:mod:`seglab.evaluate.validity`.

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
>>> model = FuzzyCMeans(2, init=np.array([[0.0, 0.0], [10.0, 10.0]])).fit(X)
>>> model.labels_.tolist()
[0, 0, 1, 1]
>>> model.memberships_.max(axis=1).round(3).tolist()
[0.999, 0.999, 0.999, 0.999]
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from numba import njit, prange
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from seglab.cluster.validation import (
    ClusteringDataError,
    check_data,
    check_n_clusters,
    check_params,
)
from seglab.errors import SeglabWarning

__all__ = ["FuzzyCMeans", "FuzzyCMeansConvergenceWarning"]

#: Points are split into this many contiguous chunks whatever the number of threads; each chunk
#: sums its own partial centres and the partials are added in chunk order, so results are
#: bitwise identical for any thread count.
N_CHUNKS = 64
#: Inputs with fewer distance terms (n_samples x n_features x n_clusters) run single-threaded.
PARALLEL_MIN_WORK = 1 << 20


class FuzzyCMeansConvergenceWarning(SeglabWarning, ConvergenceWarning):
    """The memberships still moved by more than ``tol`` after ``max_iter`` iterations."""


# ---------------------------------------------------------------------------------------------
# Kernels. One point at a time: distances, memberships and the point's share of the next centres
# are computed in registers and small per-chunk buffers; no n x c temporaries.
# ---------------------------------------------------------------------------------------------


@njit(inline="always")
def _point_memberships(X, i, centres, m, two, d, u, w):  # pragma: no cover - compiled
    """Fill ``u`` with the memberships of point ``i``, ``w`` with ``u ** m``; return its J_m term.

    With squared distances ``d`` and ``r_j = min(d) / d_j`` in (0, 1], the memberships are
    ``u_j = r_j ** a / s`` with ``a = 1 / (m - 1)`` and ``s = sum_k r_k ** a``: nothing overflows,
    ``u_j ** m = u_j * r_j / s ** (m - 1)`` (one power per point instead of one per centre) and
    the point's objective term ``sum_j u_j ** m * d_j`` is ``min(d) / s ** (m - 1)``. For m = 2
    no power is taken at all.
    """
    n_clusters, n_features = centres.shape
    d_min = np.inf
    for j in range(n_clusters):
        total = 0.0
        for f in range(n_features):
            diff = X[i, f] - centres[j, f]
            total += diff * diff
        d[j] = total
        if total < d_min:
            d_min = total
    if d_min == 0.0 or d_min == np.inf:
        # The point sits on one or more centres: it belongs to them alone, in equal shares.
        # (All distances overflowing to inf, for values beyond 1e154, is split the same way.)
        ties = 0
        for j in range(n_clusters):
            if d[j] == d_min:
                ties += 1
        share = 1.0 / ties
        share_m = share * share if two else share**m
        for j in range(n_clusters):
            if d[j] == d_min:
                u[j] = share
                w[j] = share_m
            else:
                u[j] = 0.0
                w[j] = 0.0
        return d_min
    if two:
        s = 0.0
        for j in range(n_clusters):
            r = d_min / d[j]
            u[j] = r
            s += r
        for j in range(n_clusters):
            u[j] = u[j] / s
            w[j] = u[j] * u[j]
        return d_min / s
    a = 1.0 / (m - 1.0)
    s = 0.0
    for j in range(n_clusters):
        r = d_min / d[j]
        d[j] = r
        u[j] = r**a
        s += u[j]
    s_m1 = s ** (m - 1.0)
    for j in range(n_clusters):
        u[j] = u[j] / s
        w[j] = u[j] * d[j] / s_m1
    return d_min / s_m1


@njit(fastmath=False, cache=True)
def _pass_chunk(X, centres, m, bounds, k, u_all, compare, num, den, stats):  # pragma: no cover
    """Chunk ``k`` of one pass over the points for the current ``centres``.

    Writes the memberships of the chunk's points into ``u_all`` (comparing them first with the
    previous ones when ``compare``), the weighted sums ``num[k]`` and weights ``den[k]`` of the
    next centres, ``stats[k, 0]`` the objective and ``stats[k, 1]`` the largest membership change.
    """
    n_clusters, n_features = centres.shape
    two = m == 2.0
    d = np.empty(n_clusters)
    u = np.empty(n_clusters)
    w = np.empty(n_clusters)
    part_num = np.zeros((n_clusters, n_features))
    part_den = np.zeros(n_clusters)
    objective = 0.0
    change = 0.0
    for i in range(bounds[k], bounds[k + 1]):
        objective += _point_memberships(X, i, centres, m, two, d, u, w)
        for j in range(n_clusters):
            if compare:
                delta = abs(u[j] - u_all[i, j])
                if delta > change:
                    change = delta
            u_all[i, j] = u[j]
            part_den[j] += w[j]
            for f in range(n_features):
                part_num[j, f] += w[j] * X[i, f]
    for j in range(n_clusters):
        den[k, j] = part_den[j]
        for f in range(n_features):
            num[k, j, f] = part_num[j, f]
    stats[k, 0] = objective
    stats[k, 1] = change


@njit(parallel=True, fastmath=False, cache=True)
def _fcm_pass_parallel(X, centres, m, bounds, u_all, compare, num, den, stats):  # pragma: no cover
    """All chunks of a pass, spread over numba's threads."""
    for k in prange(bounds.shape[0] - 1):
        _pass_chunk(X, centres, m, bounds, k, u_all, compare, num, den, stats)


@njit(fastmath=False, cache=True)
def _fcm_pass_serial(X, centres, m, bounds, u_all, compare, num, den, stats):  # pragma: no cover
    """All chunks of a pass, one after the other (same chunks, so the same bits)."""
    for k in range(bounds.shape[0] - 1):
        _pass_chunk(X, centres, m, bounds, k, u_all, compare, num, den, stats)


@njit(cache=True)
def _combine(num, den, stats, centres, new_centres):  # pragma: no cover - compiled
    """Add the chunk partials in chunk order into ``new_centres``; return (objective, change).

    A centre whose total weight is zero (every membership to it underflowed) keeps its place.
    """
    n_chunks, n_clusters, n_features = num.shape
    objective = 0.0
    change = 0.0
    for k in range(n_chunks):
        objective += stats[k, 0]
        change = max(change, stats[k, 1])
    for j in range(n_clusters):
        weight = 0.0
        for k in range(n_chunks):
            weight += den[k, j]
        for f in range(n_features):
            total = 0.0
            for k in range(n_chunks):
                total += num[k, j, f]
            new_centres[j, f] = total / weight if weight > 0.0 else centres[j, f]
    return objective, change


@njit(fastmath=False, cache=True)
def _assign_chunk(X, centres, m, bounds, k, u_all, labels, store):  # pragma: no cover - compiled
    """Labels (first largest membership) of chunk ``k``'s points; memberships too when ``store``."""
    n_clusters = centres.shape[0]
    two = m == 2.0
    d = np.empty(n_clusters)
    u = np.empty(n_clusters)
    w = np.empty(n_clusters)
    for i in range(bounds[k], bounds[k + 1]):
        _point_memberships(X, i, centres, m, two, d, u, w)
        best = 0
        for j in range(n_clusters):
            if u[j] > u[best]:
                best = j
            if store:
                u_all[i, j] = u[j]
        labels[i] = best


@njit(parallel=True, fastmath=False, cache=True)
def _assign_parallel(X, centres, m, bounds, u_all, labels, store):  # pragma: no cover - compiled
    """All chunks of an assignment, spread over numba's threads."""
    for k in prange(bounds.shape[0] - 1):
        _assign_chunk(X, centres, m, bounds, k, u_all, labels, store)


@njit(fastmath=False, cache=True)
def _assign_serial(X, centres, m, bounds, u_all, labels, store):  # pragma: no cover - compiled
    """All chunks of an assignment, one after the other."""
    for k in range(bounds.shape[0] - 1):
        _assign_chunk(X, centres, m, bounds, k, u_all, labels, store)


def _kernels(n_samples: int, n_features: int, n_clusters: int):
    """(pass, assign) kernels: parallel from ``PARALLEL_MIN_WORK`` distance terms, else serial.

    Both compute the same chunks with the same code, hence the same bits. Small inputs run
    serially because waking threads costs more than the pass itself, much more on a busy machine.
    """
    if n_samples * n_features * n_clusters >= PARALLEL_MIN_WORK:
        return _fcm_pass_parallel, _assign_parallel
    return _fcm_pass_serial, _assign_serial


def _chunk_bounds(n_samples: int) -> np.ndarray:
    """Start of each of the ``N_CHUNKS`` contiguous chunks, then ``n_samples``."""
    return (np.arange(N_CHUNKS + 1, dtype=np.int64) * n_samples) // N_CHUNKS


def _read_only(X: np.ndarray) -> np.ndarray:
    """A read-only view, so that the kernels compile once for writable and read-only inputs."""
    view = X.view()
    view.flags.writeable = False
    return view


class FuzzyCMeans(ClusterMixin, BaseEstimator):
    """Fuzzy c-means clustering (Bezdek): soft memberships, Euclidean distance.

    Minimises ``J_m = sum_i sum_j u_ij ** m * ||x_i - v_j|| ** 2`` over memberships ``u``
    (rows sum to 1) and centres ``v`` by alternating the two closed-form updates.

    Parameters
    ----------
    n_clusters : int, default=3
        Number of clusters c.
    m : float, default=2.0
        Fuzzifier, > 1. Near 1 the memberships become hard; larger values make them softer.
        m = 2 runs a faster path that takes no powers.
    tol : float, default=1e-5
        Convergence threshold on the largest absolute change of any membership between two
        consecutive iterations. With ``tol=0`` exactly ``max_iter`` iterations are run.
    max_iter : int, default=300
        Maximum number of iterations (centre updates) per initialisation.
    n_init : int, default=1
        Number of initialisations; the run with the lowest objective is kept. Forced to 1, with
        a warning, when ``init`` is an array.
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), default="k-means++"
        Initial centres: k-means++ seeding, distinct samples drawn at random, or given centres.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation, the only source of randomness.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres of the kept run.
    memberships_ : ndarray of shape (n_samples, n_clusters)
        Memberships of the training samples to ``cluster_centers_``; rows sum to 1.
    labels_ : ndarray of shape (n_samples,)
        Cluster of largest membership (the nearest centre; the first one on ties).
    n_iter_ : int
        Iterations run by the kept run.
    objective_ : float
        ``J_m`` of ``memberships_`` and ``cluster_centers_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    Notes
    -----
    Each iteration is one pass over the points (numba, parallel from ``PARALLEL_MIN_WORK``
    distance terms) that computes their distances and memberships and accumulates the next
    centres, then adds the partial sums of a fixed number of chunks (``N_CHUNKS``) in order: the
    results are bitwise identical for any number of threads. Apart from ``memberships_``, the
    loop uses O(N_CHUNKS x c x p) memory. The first call in a process loads the compiled kernels
    from numba's disk cache (compiling them, about 10 s, when the cache is empty).

    A point at distance 0 from a centre gets membership 1 to it (shared equally between
    coinciding centres). Iteration t compares the memberships to the centres of step t with
    those of step t - 1, as scikit-fuzzy's ``cmeans`` does (which uses the Frobenius norm of the
    change instead of its largest entry); from the same initial memberships the iterates match.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.2], [5.0], [5.2], [2.6]])
    >>> model = FuzzyCMeans(2, random_state=0).fit(X)
    >>> model.predict_proba([[2.6]]).round(2)
    array([[0.5, 0.5]])
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declarative convention
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "m": [Interval(Real, 1, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=3,
        *,
        m=2.0,
        tol=1e-5,
        max_iter=300,
        n_init=1,
        init="k-means++",
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.m = m
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init = init
        self.random_state = random_state

    def fit(self, X, y=None):
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite numbers, typically scaled features.
        y : None
            Ignored.

        Returns
        -------
        self : FuzzyCMeans
            The fitted estimator.
        """
        check_params(self)
        X = check_data(self, X, reset=True)
        n_samples = X.shape[0]
        check_n_clusters(self.n_clusters, n_samples)
        starts = self._initial_centres(X)
        m = float(self.m)
        X_ro = _read_only(X)
        bounds = _chunk_bounds(n_samples)
        memberships = np.empty((n_samples, self.n_clusters))
        fcm_pass, assign = _kernels(n_samples, X.shape[1], self.n_clusters)
        best = None
        for start in starts:
            run = _run(fcm_pass, X_ro, start, m, self.tol, self.max_iter, bounds, memberships)
            if best is None or run[1] < best[1]:
                best, best_is_last = run, True
            else:
                best_is_last = False
        centres, objective, n_iter, converged = best
        if not best_is_last:
            labels = np.empty(n_samples, dtype=np.int64)
            assign(X_ro, centres, m, bounds, memberships, labels, True)
        if not converged and self.tol > 0:
            warnings.warn(
                f"FuzzyCMeans did not converge in max_iter={self.max_iter} iterations "
                f"(tol={self.tol}); raise max_iter or tol",
                FuzzyCMeansConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centres
        self.memberships_ = memberships
        self.labels_ = np.argmax(memberships, axis=1)
        self.n_iter_ = n_iter
        self.objective_ = objective
        return self

    def predict(self, X):
        """Cluster of largest membership (the nearest centre) of each sample of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices; the first cluster on ties, as ``argmax`` of :meth:`predict_proba`.
        """
        return self._assign(X, store=False)[1]

    def predict_proba(self, X):
        """Memberships of the samples of ``X`` to the fitted centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        u : ndarray of shape (n_samples, n_clusters)
            Memberships in [0, 1]; each row sums to 1.
        """
        return self._assign(X, store=True)[0]

    def _assign(self, X, *, store):
        """(memberships or an empty placeholder, labels) of new data."""
        check_is_fitted(self)
        X = _read_only(check_data(self, X, reset=False))
        n_samples, n_features = X.shape
        u = np.empty((n_samples if store else 0, self.n_clusters))
        labels = np.empty(n_samples, dtype=np.int64)
        assign = _kernels(n_samples, n_features, self.n_clusters)[1]
        assign(X, self.cluster_centers_, float(self.m), _chunk_bounds(n_samples), u, labels, store)
        return u, labels

    def _initial_centres(self, X) -> list[np.ndarray]:
        """The starting centres of each run, drawn from one random generator."""
        n_samples, n_features = X.shape
        if not isinstance(self.init, str):
            centres = np.array(self.init, dtype=np.float64, order="C")
            expected = (self.n_clusters, n_features)
            if centres.shape != expected:
                raise ClusteringDataError(
                    f"init has shape {centres.shape} but (n_clusters, n_features) is {expected}"
                )
            if not np.isfinite(centres).all():
                raise ClusteringDataError("init contains NaN or infinite values")
            if self.n_init != 1:
                warnings.warn(
                    f"init is an array of centres, so n_init={self.n_init} is replaced by 1",
                    SeglabWarning,
                    stacklevel=3,
                )
            return [centres]
        rng = check_random_state(self.random_state)
        starts = []
        for _ in range(self.n_init):
            if self.init == "k-means++":
                centres, _ = kmeans_plusplus(X, self.n_clusters, random_state=rng)
            else:
                centres = X[rng.choice(n_samples, self.n_clusters, replace=False)]
            starts.append(np.ascontiguousarray(centres, dtype=np.float64))
        return starts


def _run(fcm_pass, X, centres, m, tol, max_iter, bounds, memberships):
    """Iterate from ``centres``; return (centres, objective, n_iter, converged).

    ``fcm_pass`` is the parallel or serial pass kernel. On return ``memberships`` holds the
    memberships to the returned centres.
    """
    n_clusters, n_features = centres.shape
    num = np.empty((N_CHUNKS, n_clusters, n_features))
    den = np.empty((N_CHUNKS, n_clusters))
    stats = np.empty((N_CHUNKS, 2))
    current = centres.copy()
    following = np.empty_like(current)
    fcm_pass(X, current, m, bounds, memberships, False, num, den, stats)
    _combine(num, den, stats, current, following)
    n_iter, converged = 0, False
    while n_iter < max_iter and not converged:
        n_iter += 1
        current, following = following, current
        fcm_pass(X, current, m, bounds, memberships, True, num, den, stats)
        objective, change = _combine(num, den, stats, current, following)
        converged = change < tol
    return current, float(objective), n_iter, converged


# ---------------------------------------------------------------------------------------------
# Validity indices
# ---------------------------------------------------------------------------------------------
