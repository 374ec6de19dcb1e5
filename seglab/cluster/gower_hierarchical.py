"""Hierarchical clustering of mixed-type customers on Gower distances, with medoids.

Average or complete linkage (SciPy) on the Gower distances of :mod:`seglab.cluster.gower`. The
condensed distance matrix grows as n^2, so above ``max_exact`` customers a seeded sample of
``max_exact`` is clustered exactly and every other customer joins the cluster of the nearest
medoid of the sample's clusters; the estimator records that it did (``approximate_``, ``note_``).

>>> import pandas as pd
>>> table = pd.DataFrame(
...     {"spend": [1.0, 1.2, 0.9, 8.0, 8.5, 7.9], "channel": list("aaabbb")}
... )
>>> model = GowerHierarchical(2).fit(table)
>>> model.labels_.tolist(), model.medoid_indices_.tolist()
([0, 0, 0, 1, 1, 1], [0, 3])
>>> model.predict(pd.DataFrame({"spend": [8.2], "channel": ["b"]})).tolist()
[1]
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import linkage as scipy_linkage
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from seglab.cluster.gower import GowerSpace, check_weights
from seglab.cluster.hierarchical import _cut
from seglab.cluster.linkage import HierarchicalTree
from seglab.cluster.mixed import MixedData, check_mixed
from seglab.cluster.validation import (
    ClusteringParameterError,
    check_n_clusters,
    check_params,
)

__all__ = ["GOWER_LINKAGES", "MAX_EXACT_GOWER", "GowerHierarchical"]

#: Linkages that work on any dissimilarity (Ward and centroid need Euclidean distances).
GOWER_LINKAGES = ("average", "complete")
#: Default ``max_exact``: 5,000 customers give 12.5 million distances (100 MB, held twice
#: while SciPy builds the tree) and take a few seconds; time and memory grow as n^2.
MAX_EXACT_GOWER = 5_000


class GowerHierarchical(ClusterMixin, BaseEstimator):
    """Average- or complete-linkage clustering on Gower distances; medoids; sample above a size.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters to cut the tree into.
    categorical : list of int or of str, or None, default=None
        Positions (int) or names (str, X a DataFrame) of the categorical columns; every other
        column is numeric. None infers them from a DataFrame's dtypes (object, string, category
        and boolean columns) and means none for an array.
    linkage : {"average", "complete"}, default="average"
        Merge criterion (mean or largest distance between two clusters).
    weights : array-like of shape (n_features,) or None, default=None
        Weight of every column of X, in X's order, in the Gower mean; 1 each when None.
    max_exact : int, default=5000
        Largest number of customers clustered exactly. Above it, a seeded sample of
        ``max_exact`` customers is clustered and the others join the cluster of the nearest
        medoid (Gower distance) of the sample's clusters.
    random_state : int, RandomState instance or None, default=None
        Seed of the sample (above ``max_exact``), the only source of randomness.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training customer.
    n_clusters_ : int
        Clusters formed: ``n_clusters`` unless tied merge heights (common with categories:
        identical customers are at distance 0) make the cut give fewer; a
        :class:`~seglab.cluster.hierarchical.HierarchyWarning` says so.
    medoid_indices_ : ndarray of shape (n_clusters_,)
        Row of X of every cluster's medoid: the member of the clustered sample with the
        smallest sum of Gower distances to the sample's other members of its cluster (the
        first such row on ties).
    medoids_ : ndarray of shape (n_clusters_, n_features)
        Those rows of X (an object array when X mixes numbers and categories).
    approximate_ : bool
        Whether X had more than ``max_exact`` customers and was clustered through a sample.
    sample_indices_ : ndarray
        Rows of X in the tree, sorted (every row when exact).
    note_ : str
        One sentence saying how the customers were clustered.
    tree_ : HierarchicalTree
        The tree of the ``sample_indices_`` rows; ``tree_.cut(k)`` labels those rows.
    ranges_ : ndarray of shape (n_numeric,)
        Ranges of the numeric columns over X, the Gower normalisation (also in ``predict``).
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
    Missing values are allowed (NaN or None; see :mod:`seglab.cluster.gower` for the rule);
    infinite numbers are not, nor customers with no value at all. Exact clustering holds
    n (n - 1) / 2 float64 distances twice (the condensed matrix and SciPy's copy): 200 MB at
    the default ``max_exact``.
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declarative convention
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "categorical": ["array-like", None],
        "linkage": [StrOptions(set(GOWER_LINKAGES))],
        "weights": ["array-like", None],
        "max_exact": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        categorical=None,
        linkage="average",
        weights=None,
        max_exact=MAX_EXACT_GOWER,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.linkage = linkage
        self.weights = weights
        self.max_exact = max_exact
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Cluster the customers of ``X`` (a seeded sample of them above ``max_exact``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric and categorical columns (see ``categorical``).
        y : None
            Ignored.

        Returns
        -------
        self : GowerHierarchical
            The fitted estimator.
        """
        check_params(self)
        if self.max_exact < self.n_clusters:
            raise ClusteringParameterError(
                f"max_exact={self.max_exact} is smaller than n_clusters={self.n_clusters}; "
                "the clustered sample must hold at least one customer per cluster"
            )
        data = check_mixed(self, X, self.categorical, reset=True)
        data.refuse_infinite()
        n_samples = data.n_samples
        check_n_clusters(self.n_clusters, n_samples)
        weights = check_weights(self.weights, data.numeric.shape[1] + data.codes.shape[1])
        space = GowerSpace.of(data, data.in_table_order(weights))
        space.refuse_empty_rows(data.numeric, data.codes)
        self.approximate_ = n_samples > self.max_exact
        if self.approximate_:
            rng = check_random_state(self.random_state)
            rows = np.sort(rng.choice(n_samples, size=self.max_exact, replace=False))
        else:
            rows = np.arange(n_samples)
        num, cat = data.numeric[rows], data.codes[rows]
        if rows.size > 1:
            merges = scipy_linkage(space.condensed(num, cat), method=self.linkage)
        else:
            merges = np.empty((0, 4))
        self.tree_ = HierarchicalTree(merges, method=f"gower-{self.linkage}")
        sample_labels, self.n_clusters_ = _cut(self.tree_, self.n_clusters)
        medoids = np.array(
            [self._medoid(space, num, cat, sample_labels == c) for c in range(self.n_clusters_)]
        )
        self.medoid_indices_ = rows[medoids]
        if isinstance(X, pd.DataFrame):
            self.medoids_ = X.iloc[self.medoid_indices_].to_numpy()
        else:
            self.medoids_ = np.asarray(X)[self.medoid_indices_]
        self._space = space
        self._medoid_numeric = data.numeric[self.medoid_indices_]
        self._medoid_codes = data.codes[self.medoid_indices_]
        if self.approximate_:
            self.labels_ = self._nearest_medoid(data)
            self.labels_[rows] = sample_labels
        else:
            self.labels_ = sample_labels
        self.sample_indices_ = rows
        self.ranges_ = space.ranges
        self.note_ = self._note(n_samples)
        return self

    @staticmethod
    def _medoid(space: GowerSpace, num, cat, members: np.ndarray) -> int:
        """Position (in the sample) of the member with the smallest sum of distances."""
        index = np.flatnonzero(members)
        return int(index[np.argmin(space.row_sums(num[index], cat[index]))])

    def _nearest_medoid(self, data: MixedData) -> np.ndarray:
        return self._space.nearest(
            data.numeric, data.codes, self._medoid_numeric, self._medoid_codes
        )

    def _note(self, n_samples: int) -> str:
        how = f"Gower distance, {self.linkage} linkage"
        if not self.approximate_:
            return f"All {n_samples:,} customers were clustered exactly ({how})."
        rest = n_samples - self.sample_indices_.size
        return (
            f"Approximate: a seeded sample of {self.sample_indices_.size:,} of the "
            f"{n_samples:,} customers was clustered exactly ({how}); the other {rest:,} "
            f"joined the cluster of the nearest of the {self.n_clusters_} medoids."
        )

    def predict(self, X):
        """Cluster of the nearest medoid (Gower distance, ``fit``'s ranges) of every customer.

        Above ``max_exact`` this is how the customers outside the sample were labelled; for the
        sample itself (and for every customer when exact) the tree's cut can differ from the
        nearest medoid near a boundary. A category not seen in ``fit`` matches no medoid;
        numeric differences are capped at 1 range.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Customers with the columns of the training data; missing values allowed.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices.
        """
        check_is_fitted(self)
        data = check_mixed(self, X, None, reset=False)
        data.refuse_infinite()
        self._space.refuse_empty_rows(data.numeric, data.codes)
        return self._nearest_medoid(data)
