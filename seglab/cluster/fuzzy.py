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
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from seglab.cluster import fuzzy_core as core
from seglab.cluster.validation import (
    ClusteringDataError,
    check_data,
    check_n_clusters,
    check_params,
)
from seglab.errors import SeglabWarning

__all__ = ["FuzzyCMeans", "FuzzyCMeansConvergenceWarning"]

#: predict works through its input in slices of this many rows.
_PREDICT_ROWS = 1 << 16


class FuzzyCMeansConvergenceWarning(SeglabWarning, ConvergenceWarning):
    """The memberships still moved by more than ``tol`` after ``max_iter`` iterations."""


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
        Memberships of the training samples to ``cluster_centers_``; rows sum to 1. A
        transposed view of a C-ordered (n_clusters, n_samples) array (Fortran order).
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
    Each iteration is one fused pass over the points (numba; parallel on large inputs) that
    computes distances, memberships and the next centres' sums without n x c temporaries, in
    ``N_CHUNKS`` chunks added in order: the bits do not depend on the number of threads. The
    passes read a copy of ``X`` laid out for them, made once per fit (memory: X twice). The
    compiled kernels are loaded from numba's disk cache (see :mod:`seglab.cluster.numba_cache`);
    with the cache empty, the first fit compiles them (about 9 s on the 2-core machine).

    A point at distance 0 from a centre gets membership 1 to it (shared equally between
    coinciding centres). As in scikit-fuzzy's ``cmeans`` (which takes the Frobenius norm of the
    change, not its largest entry), iteration t compares the memberships of steps t and t - 1;
    from the same initial memberships the iterates match: to rounding for ``m = 2``, to 5e-7
    otherwise, where the powers ``r ** (1 / (m - 1))`` are computed in float32 (each within
    2.5e-7; twice as fast as float64, which took half of each pass).

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
        tiled = core.tiles(X)  # the points as the kernels read them, for every start
        # Cluster-major (c x n): each cluster's memberships are contiguous for the kernels.
        memberships = np.empty((self.n_clusters, n_samples))
        best = None
        for start in starts:
            run = core.iterate(tiled, start, m, self.tol, self.max_iter, memberships)
            if best is None or run[1] < best[1]:
                best, best_is_last = run, True
            else:
                best_is_last = False
        centres, objective, n_iter, converged = best
        if not best_is_last:
            core.memberships_to(tiled, centres, m, memberships)
        if not converged and self.tol > 0:
            warnings.warn(
                f"FuzzyCMeans did not converge in max_iter={self.max_iter} iterations "
                f"(tol={self.tol}); raise max_iter or tol",
                FuzzyCMeansConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centres
        self.memberships_ = memberships.T
        self.labels_ = core.labels_of(memberships)
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
        X = self._new_data(X)
        labels = np.empty(X.shape[0], dtype=np.int64)
        for start in range(0, X.shape[0], _PREDICT_ROWS):  # memory O(_PREDICT_ROWS x c)
            rows = X[start : start + _PREDICT_ROWS]
            u = np.empty((self.n_clusters, rows.shape[0]))
            core.memberships_to(core.tiles(rows), self.cluster_centers_, float(self.m), u)
            labels[start : start + rows.shape[0]] = core.labels_of(u)
        return labels

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
        X = self._new_data(X)
        u = np.empty((self.n_clusters, X.shape[0]))
        core.memberships_to(core.tiles(X), self.cluster_centers_, float(self.m), u)
        return u.T

    def _new_data(self, X) -> np.ndarray:
        """``X`` checked against the fitted model."""
        check_is_fitted(self)
        return check_data(self, X, reset=False)

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
