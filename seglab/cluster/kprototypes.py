"""k-prototypes clustering of customers described by numbers and categories (Huang 1998).

The iterations are those of the maintained ``kmodes`` package (``kmodes.kprototypes``); this
module gives them seglab's input contract (a DataFrame, or an array with the positions of its
categorical columns, see :mod:`seglab.cluster.mixed`), a documented default for ``gamma``,
seglab's errors, and a vectorised ``predict``.

The cost of a customer x in cluster l is ``sum_num (x - c_l) ** 2 + gamma * mismatches(x, m_l)``
with ``c_l`` the mean of the cluster's numeric columns (the prototype) and ``m_l`` the mode of
each of its categorical columns.

>>> import pandas as pd
>>> table = pd.DataFrame(
...     {"spend": [1.0, 1.1, 0.9, 1.0, 1.2, 0.8], "channel": ["web"] * 3 + ["shop"] * 3}
... )
>>> model = KPrototypesClustering(2, random_state=0).fit(table)
>>> model.labels_.tolist()
[0, 0, 0, 1, 1, 1]
>>> model.modes_.tolist()
[['web'], ['shop']]
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from kmodes.kprototypes import KPrototypes
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from seglab.cluster.mixed import MixedData, check_mixed
from seglab.cluster.validation import (
    ClusteringDataError,
    check_n_clusters,
    check_params,
)

__all__ = ["KPrototypesClustering", "default_gamma"]

#: The rows whose costs to every prototype are computed at once in ``predict``.
_PREDICT_BLOCK = 1 << 16


def default_gamma(numeric: np.ndarray, codes: np.ndarray, rule: str) -> float:
    """The weight of one categorical mismatch against squared numeric differences.

    ``"balanced"`` (seglab's default) weighs the two parts by their spread, as the default of
    ``lambdaest`` in the R package clustMixType (Szepannek 2018) does: the mean variance of
    the numeric columns (with n - 1) divided by the mean Gini-Simpson diversity
    ``1 - sum_c p_c ** 2`` of the categorical columns. Half the variance is the expected
    squared difference of two random customers in a numeric column, the diversity the chance
    that they differ in a categorical one: with this gamma every column adds, on average, the
    same to the cost of a pair, whatever the units of the numeric columns (rescaling them by c
    multiplies gamma by c ** 2, as it multiplies their costs).

    ``"huang"`` is Huang's (1997) suggestion as the ``kmodes`` package applies it: half the mean
    standard deviation of the numeric columns (1/3 to 2/3 of it in the paper). It does not
    follow a change of units, and on standardised columns it is 0.5: a mismatch then weighs
    half the expected squared difference of one numeric column to its mean, so against a few
    numeric columns the categories barely count (the tests show it missing clusters that lie
    in the categories, which "balanced" recovers).

    When either part has no spread (constant numeric columns, a single row, or categorical
    columns with one value each) the parts cannot be balanced, and gamma is 1: with no
    numeric spread any positive gamma gives the same partition, and with no categorical
    spread gamma has no effect on the training data.

    Parameters
    ----------
    numeric : ndarray of shape (n_samples, n_numeric)
        Numeric columns, no missing value.
    codes : ndarray of shape (n_samples, n_categorical)
        Categorical codes (>= 0).
    rule : {"balanced", "huang"}
        Which rule.

    Examples
    --------
    >>> import numpy as np
    >>> numeric = np.array([[0.0], [2.0], [4.0], [6.0]])
    >>> codes = np.array([[0], [0], [0], [1]])
    >>> default_gamma(numeric, codes, "balanced")  # variance 20 / 3, diversity 1 - 10 / 16
    17.77...
    >>> default_gamma(numeric, codes, "huang")  # population standard deviation sqrt(5)
    1.118...
    """
    if rule == "huang":
        gamma = 0.5 * float(numeric.std(axis=0).mean())
    elif numeric.shape[0] < 2:
        gamma = 0.0
    else:
        variance = float(numeric.var(axis=0, ddof=1).mean())
        shares = [np.bincount(column) / column.size for column in codes.T]
        diversity = float(np.mean([1.0 - np.sum(share**2) for share in shares]))
        gamma = variance / diversity if diversity > 0 else 0.0
    return gamma if np.isfinite(gamma) and gamma > 0 else 1.0


class KPrototypesClustering(ClusterMixin, BaseEstimator):
    """k-prototypes: k-means on the numeric columns and k-modes on the categorical ones at once.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    categorical : list of int or of str, or None, default=None
        Positions (int) or names (str, X a DataFrame) of the categorical columns; every other
        column is numeric. None infers them from a DataFrame's dtypes (object, string, category
        and boolean columns). At least one column of each kind is needed. Numeric columns
        should be on comparable scales (standardised): their squared differences are added.
    gamma : {"balanced", "huang"} or float, default="balanced"
        Weight of one categorical mismatch in the cost, against squared numeric differences;
        the two rules derive it from the data (see :func:`default_gamma`). Larger values make
        the categories count more.
    init : {"cao", "huang", "random"}, default="cao"
        How ``kmodes`` seeds the categorical modes (Cao et al. 2009's density-based seeding,
        Huang's, or random rows); numeric prototypes start at random draws around the mean.
    n_init : int, default=4
        Initialisations; the one of lowest cost is kept.
    max_iter : int, default=100
        Iterations per initialisation.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisations, the only source of randomness.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of lowest cost of every training sample (the first one on ties).
    cluster_centers_ : ndarray of shape (n_clusters, n_numeric)
        Numeric prototypes (cluster means of the numeric columns), in X's column order.
    modes_ : ndarray of shape (n_clusters, n_categorical), dtype object
        Most frequent category of every categorical column in every cluster.
    gamma_ : float
        The gamma used.
    cost_ : float
        Total cost of the kept initialisation.
    n_iter_ : int
        Iterations of the kept initialisation.
    numeric_columns_, categorical_columns_ : ndarray of int
        Positions of the numeric and the categorical columns in X.
    categories_ : list of ndarray
        Categories of every categorical column, as seen in ``fit``.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    Notes
    -----
    ``kmodes`` iterates customer by customer in Python: about 10 to 20 microseconds per
    customer, cluster and iteration, so 100,000 customers, 8 clusters and 4 initialisations
    of ~10 iterations take minutes. Missing values are refused (fill them, or use
    :class:`~seglab.cluster.gower_hierarchical.GowerHierarchical`).
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declarative convention
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "categorical": ["array-like", None],
        "gamma": [StrOptions({"balanced", "huang"}), Interval(Real, 0, None, closed="neither")],
        "init": [StrOptions({"cao", "huang", "random"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        categorical=None,
        gamma="balanced",
        init="cao",
        n_init=4,
        max_iter=100,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.gamma = gamma
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y=None):
        """Cluster the rows of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric and categorical columns (see ``categorical``); no missing value.
        y : None
            Ignored.

        Returns
        -------
        self : KPrototypesClustering
            The fitted estimator.
        """
        check_params(self)
        data = check_mixed(self, X, self.categorical, reset=True)
        self._check_parts(data)
        data.refuse_missing(type(self).__name__)
        data.refuse_infinite()
        n_samples, n_numeric = data.numeric.shape
        check_n_clusters(self.n_clusters, n_samples)
        distinct = np.unique(np.column_stack([data.numeric, data.codes]), axis=0).shape[0]
        if distinct < self.n_clusters:
            raise ClusteringDataError(
                f"n_clusters={self.n_clusters} is larger than the {distinct} distinct rows of "
                f"X; choose n_clusters <= {distinct}"
            )
        gamma = self.gamma if not isinstance(self.gamma, str) else None
        gamma = default_gamma(data.numeric, data.codes, self.gamma) if gamma is None else gamma
        model = KPrototypes(
            n_clusters=self.n_clusters,
            max_iter=self.max_iter,
            init=self.init.capitalize() if self.init != "random" else "random",
            n_init=self.n_init,
            gamma=float(gamma),
            random_state=check_random_state(self.random_state),
            n_jobs=1,
        )
        # kmodes takes one array; the categorical columns are passed as their integer codes.
        columns = np.column_stack([data.numeric, data.codes.astype(np.float64)])
        try:
            model.fit(columns, categorical=list(range(n_numeric, columns.shape[1])))
        except ValueError as error:
            raise ClusteringDataError(
                f"k-prototypes could not be fitted with n_clusters={self.n_clusters} on "
                f"{n_samples} customers (kmodes: {error}); choose fewer clusters or another init"
            ) from error
        centroids = model.cluster_centroids_
        self.cluster_centers_ = np.ascontiguousarray(centroids[:, :n_numeric], dtype=np.float64)
        self._mode_codes = centroids[:, n_numeric:].astype(np.int64)
        self.modes_ = np.array(
            [[self.categories_[j][code] for j, code in enumerate(row)] for row in self._mode_codes],
            dtype=object,
        ).reshape(self._mode_codes.shape)
        self.gamma_ = float(model.gamma)
        self.cost_ = float(model.cost_)
        self.n_iter_ = int(model.n_iter_)
        self.labels_ = self._assign(data)
        return self

    def _check_parts(self, data: MixedData) -> None:
        if data.codes.shape[1] == 0:
            raise ClusteringDataError(
                "k-prototypes needs at least one categorical column and X has none: name them "
                "with categorical=[...] (positions, or names for a DataFrame) or give them an "
                "object, string or category dtype; for numbers alone use k-means"
            )
        if data.numeric.shape[1] == 0:
            raise ClusteringDataError(
                f"k-prototypes needs at least one numeric column and all "
                f"{data.codes.shape[1]} column(s) of X are categorical; use GowerHierarchical "
                "(or k-modes) for categories alone"
            )

    def _assign(self, data: MixedData) -> np.ndarray:
        """Cluster of lowest cost of every row (the first on ties), block by block."""
        n_samples = data.numeric.shape[0]
        labels = np.empty(n_samples, dtype=np.int64)
        costs = np.empty((min(n_samples, _PREDICT_BLOCK), self.cluster_centers_.shape[0]))
        for start in range(0, n_samples, _PREDICT_BLOCK):
            stop = min(start + _PREDICT_BLOCK, n_samples)
            num, cat = data.numeric[start:stop], data.codes[start:stop]
            block = costs[: stop - start]
            for j, (centre, modes) in enumerate(
                zip(self.cluster_centers_, self._mode_codes, strict=True)
            ):
                block[:, j] = np.sum((num - centre) ** 2, axis=1) + self.gamma_ * np.sum(
                    cat != modes, axis=1
                )
            labels[start:stop] = block.argmin(axis=1)
        return labels

    def predict(self, X):
        """Cluster of lowest cost of every row of ``X``.

        A category not seen in ``fit`` matches no mode (it adds ``gamma_`` to every cost).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            New customers, with the columns of the training data; no missing value.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices.
        """
        check_is_fitted(self)
        data = check_mixed(self, X, None, reset=False)
        data.refuse_missing(type(self).__name__)
        data.refuse_infinite()
        return self._assign(data)
