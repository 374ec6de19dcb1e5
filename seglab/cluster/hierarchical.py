"""Hierarchical clustering: exact trees for moderate n, a two-step approximation for large n.

The estimators build a tree once (:mod:`seglab.cluster.linkage`) and cut it at any number of
clusters. :class:`HierarchicalClustering` builds exact trees with fastcluster (Ward and
single linkage from the data in O(n) memory; complete and average linkage from the condensed
distance matrix, so only up to ``max_exact`` samples). :class:`TwoStepHierarchical` groups the
customers into k-means micro-clusters and builds a Ward tree on their centres weighted by their
sizes (:func:`weighted_ward_linkage`).

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0]])
>>> model = HierarchicalClustering(3).fit(X)
>>> model.labels_.tolist()
[0, 0, 1, 1, 2]
>>> model.tree_.cut(2).tolist()
[0, 0, 1, 1, 1]
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted, check_memory

from seglab.cluster.linkage import (
    LINKAGES,
    MATRIX_LINKAGES,
    MAX_EXACT_MATRIX,
    MAX_EXACT_VECTOR,
    HierarchicalTree,
    exact_tree,
    two_step_tree,
)
from seglab.cluster.nearest import nearest_centre
from seglab.cluster.validation import (
    ClusteringDataError,
    ClusteringParameterError,
    check_data,
    check_n_clusters,
    check_params,
)
from seglab.errors import SeglabWarning

__all__ = [
    "HierarchicalClustering",
    "HierarchyTooLargeError",
    "HierarchyWarning",
    "TwoStepHierarchical",
]


#: Copies of the condensed distance matrix alive at the peak of a complete or average linkage.
_MATRIX_COPIES = 2
#: Typical seconds of exact Ward on 100,000 samples there (for the refusal message).
_WARD_SECONDS_AT_100K = 80.0


class HierarchyTooLargeError(ClusteringDataError):
    """An exact tree was asked for more samples than ``max_exact`` allows."""


class HierarchyWarning(SeglabWarning):
    """The tree has tied merge heights, so a cut gives fewer clusters than asked."""


def _format_bytes(n_bytes: float) -> str:
    """Decimal units: ``_format_bytes(1.6e9) == '1.6 GB'``."""
    for unit in ("B", "kB", "MB", "GB"):
        if n_bytes < 1000:
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:,.1f} TB"


def _too_large_message(method: str, n_samples: int, n_features: int, max_exact: int) -> str:
    """Why an exact tree of ``n_samples`` rows is refused, what it would cost, what to do."""
    alternative = (
        "For an approximate tree use TwoStepHierarchical (algorithm 'two_step': k-means "
        "micro-clusters, then Ward on their centres weighted by their sizes), or raise "
        "max_exact if you accept the cost."
    )
    if method in MATRIX_LINKAGES:
        need = _MATRIX_COPIES * n_samples * (n_samples - 1) / 2 * 8
        allowed = _MATRIX_COPIES * max_exact * (max_exact - 1) / 2 * 8
        return (
            f"{method} linkage needs the condensed distance matrix of the n={n_samples:,} "
            "samples twice (SciPy's pdist output and fastcluster's working copy): "
            f"{_MATRIX_COPIES} x {n_samples:,} x {n_samples - 1:,} / 2 x 8 bytes = "
            f"{_format_bytes(need)}, above the limit max_exact={max_exact:,} "
            f"({_format_bytes(allowed)}). {alternative}"
        )
    seconds = _WARD_SECONDS_AT_100K * (n_samples / 100_000) ** 2
    memory = n_samples * (n_features + 8) * 8
    return (
        f"exact {method} linkage on n={n_samples:,} samples is above the limit "
        f"max_exact={max_exact:,}: it needs little memory (about {_format_bytes(memory)}, no "
        f"distance matrix) but time grows as n^2: roughly {seconds:,.0f} s (Ward took 64 to "
        f"91 s at 100,000 on 2 cores). {alternative}"
    )


def _cluster_means(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean of the rows of every cluster, shape (n_clusters, n_features)."""
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    sums = np.column_stack(
        [np.bincount(labels, weights=X[:, j], minlength=n_clusters) for j in range(X.shape[1])]
    )
    return sums / counts[:, None]


def _cut(tree: HierarchicalTree, n_clusters: int) -> tuple[np.ndarray, int]:
    """Labels of the samples at ``n_clusters`` and the number of clusters actually formed."""
    labels = tree.cut(n_clusters)
    formed = int(labels.max()) + 1
    if formed < n_clusters:
        warnings.warn(
            f"the tree has tied merge heights (e.g. duplicate rows): cutting it at "
            f"n_clusters={n_clusters} gives {formed} clusters (see n_clusters_)",
            HierarchyWarning,
            stacklevel=3,
        )
    return labels, formed


_MEMORY = [None, str, HasMethods(["cache"])]


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------


class HierarchicalClustering(ClusterMixin, BaseEstimator):
    """Exact agglomerative clustering (Ward, complete, average or single linkage), Euclidean.

    The tree is built by fastcluster: ``linkage_vector`` for Ward and single linkage (O(n)
    memory, O(n^2) time), ``linkage`` on SciPy's ``pdist`` for complete and average linkage
    (n (n - 1) / 2 float64 distances, held twice at the peak). Labels are those of SciPy's
    ``fcluster`` with ``criterion="maxclust"`` on that tree, minus 1.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters to cut the tree into.
    linkage : {"ward", "complete", "average", "single"}, default="ward"
        Merge criterion.
    max_exact : "auto" or int, default="auto"
        Largest number of samples accepted; above it ``fit`` raises
        :class:`HierarchyTooLargeError` before building anything. "auto" is
        ``MAX_EXACT_MATRIX`` (20,000: the 1.6 GB distance matrix and its copy, 3.2 GB) for
        complete and average linkage and ``MAX_EXACT_VECTOR`` (100,000: 1 to 1.5 minutes on
        2 cores, memory O(n)) for Ward and single linkage.
    memory : str, object with a ``cache`` method, or None, default=None
        Where to cache the tree (a joblib.Memory or its folder), so that estimators with other
        ``n_clusters`` on the same data reuse it instead of building it again.

    Attributes
    ----------
    tree_ : HierarchicalTree
        The tree; ``tree_.cut(k)`` labels the training samples for any other k.
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample.
    n_clusters_ : int
        Clusters formed: ``n_clusters`` unless tied merge heights make the cut give fewer (a
        :class:`HierarchyWarning` says so).
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Mean of the training samples of every cluster.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.5], [4.0], [4.4], [9.0]])
    >>> model = HierarchicalClustering(3, linkage="single").fit(X)
    >>> model.labels_.tolist()
    [1, 1, 0, 0, 2]
    >>> model.predict([[1.0], [8.0]]).tolist()
    [1, 2]
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declarative convention
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "linkage": [StrOptions(set(LINKAGES))],
        "max_exact": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "memory": _MEMORY,
    }

    def __init__(self, n_clusters=8, *, linkage="ward", max_exact="auto", memory=None):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self.max_exact = max_exact
        self.memory = memory

    def fit(self, X, y=None):
        """Build the tree of ``X`` and cut it into ``n_clusters`` clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite numbers, typically scaled features.
        y : None
            Ignored.

        Returns
        -------
        self : HierarchicalClustering
            The fitted estimator.
        """
        check_params(self)
        X = check_data(self, X, reset=True)
        n_samples, n_features = X.shape
        check_n_clusters(self.n_clusters, n_samples)
        limit = self.max_exact
        if limit == "auto":
            limit = MAX_EXACT_MATRIX if self.linkage in MATRIX_LINKAGES else MAX_EXACT_VECTOR
        if n_samples > limit:
            raise HierarchyTooLargeError(
                _too_large_message(self.linkage, n_samples, n_features, limit)
            )
        self.tree_ = check_memory(self.memory).cache(exact_tree)(X, self.linkage)
        self.labels_, self.n_clusters_ = _cut(self.tree_, self.n_clusters)
        self.cluster_centers_ = _cluster_means(X, self.labels_, self.n_clusters_)
        return self

    def predict(self, X):
        """Cluster of the nearest of ``cluster_centers_`` (Euclidean) for each sample.

        A hierarchical cluster need not be the region nearest its mean, so on the training
        data this can differ from ``labels_`` for samples near a boundary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data, in the space the estimator was fitted in.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices.
        """
        check_is_fitted(self)
        X = check_data(self, X, reset=False)
        return nearest_centre(X, self.cluster_centers_)


class TwoStepHierarchical(ClusterMixin, BaseEstimator):
    """Ward clustering for large n: k-means micro-clusters, then Ward on their weighted centres.

    Up to ``max_exact`` samples the tree is exact Ward on the samples (as
    ``HierarchicalClustering(linkage="ward")``). Above, k-means groups the samples into
    ``n_micro`` micro-clusters, Ward's criterion merges their centres weighted by their sizes
    (:func:`weighted_ward_linkage`), and every sample gets the cluster of its micro-cluster.
    Ward on weighted centres is exact Ward on data where each micro-cluster has collapsed onto
    its centre, so the approximation only loses the structure inside micro-clusters.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters to cut the tree into.
    n_micro : int, default=1000
        Number of micro-clusters; at most the number of rows k-means is fitted on.
    max_exact : int, default=20000
        Largest number of samples clustered exactly; 0 always approximates.
    micro_method : {"kmeans", "minibatch"}, default="kmeans"
        ``sklearn.cluster.KMeans`` or ``MiniBatchKMeans`` (one initialisation from rows drawn
        at random: k-means++ seeding of 1,000 centres costs minutes at 1M rows).
    micro_sample : "auto", int or None, default="auto"
        Rows drawn at random to fit the micro-clusters; every row is then assigned to the
        nearest centre. "auto" is 50 per micro-cluster (50,000 for 1,000); None uses all rows
        (k-means with 1,000 centres on 1M rows takes minutes).
    micro_max_iter : int, default=100
        Iteration limit of the micro-cluster k-means.
    random_state : int, RandomState instance or None, default=None
        Seed of the row sample and of k-means, the only sources of randomness.
    memory : str, object with a ``cache`` method, or None, default=None
        Where to cache the tree (a joblib.Memory or its folder), so that estimators with other
        ``n_clusters`` on the same data and seed reuse it.

    Attributes
    ----------
    tree_ : HierarchicalTree
        The tree over the micro-clusters (over the samples when exact); ``tree_.cut(k)``
        labels the training samples for any other k.
    labels_ : ndarray of shape (n_samples,)
        Cluster of every training sample.
    n_clusters_ : int
        Clusters formed (fewer than ``n_clusters`` only when merge heights tie).
    approximate_ : bool
        Whether the samples were pre-clustered (n_samples > ``max_exact``).
    n_micro_ : int
        Micro-clusters used (non-empty ones); ``n_samples`` when exact.
    micro_labels_ : ndarray of shape (n_samples,)
        Micro-cluster of every training sample; ``arange(n_samples)`` when exact.
    micro_centers_ : ndarray of shape (n_micro_, n_features)
        Micro-cluster centres (the training samples when exact).
    micro_sizes_ : ndarray of shape (n_micro_,)
        Training samples in each micro-cluster.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Mean of the training samples of every cluster.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(c, 0.3, size=(100, 2)) for c in (0.0, 5.0, 10.0)])
    >>> model = TwoStepHierarchical(3, n_micro=30, max_exact=0, random_state=0).fit(X)
    >>> model.approximate_, model.n_micro_
    (True, 30)
    >>> np.bincount(model.labels_).tolist()
    [100, 100, 100]
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declarative convention
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "n_micro": [Interval(Integral, 1, None, closed="left")],
        "max_exact": [Interval(Integral, 0, None, closed="left")],
        "micro_method": [StrOptions({"kmeans", "minibatch"})],
        "micro_sample": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
        "micro_max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "memory": _MEMORY,
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        n_micro=1000,
        max_exact=20_000,
        micro_method="kmeans",
        micro_sample="auto",
        micro_max_iter=100,
        random_state=None,
        memory=None,
    ):
        self.n_clusters = n_clusters
        self.n_micro = n_micro
        self.max_exact = max_exact
        self.micro_method = micro_method
        self.micro_sample = micro_sample
        self.micro_max_iter = micro_max_iter
        self.random_state = random_state
        self.memory = memory

    def fit(self, X, y=None):
        """Build the tree of ``X`` (two-step above ``max_exact``) and cut it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite numbers, typically scaled features.
        y : None
            Ignored.

        Returns
        -------
        self : TwoStepHierarchical
            The fitted estimator.
        """
        check_params(self)
        if self.n_micro < self.n_clusters:
            raise ClusteringParameterError(
                f"n_micro={self.n_micro} is smaller than n_clusters={self.n_clusters}; "
                "choose n_micro >= n_clusters (typically hundreds or more)"
            )
        X = check_data(self, X, reset=True)
        n_samples = X.shape[0]
        check_n_clusters(self.n_clusters, n_samples)
        cache = check_memory(self.memory).cache
        approximate = n_samples > self.max_exact
        if approximate:
            sample = 50 * self.n_micro if self.micro_sample == "auto" else self.micro_sample
            rng = check_random_state(self.random_state)
            tree, micro_centers = cache(two_step_tree)(
                X, self.n_micro, self.micro_method, sample, self.micro_max_iter, rng
            )
            if self.n_clusters > tree.n_leaves:
                raise ClusteringDataError(
                    f"n_clusters={self.n_clusters} is larger than the {tree.n_leaves} non-empty "
                    "micro-clusters (the data have few distinct rows); lower n_clusters or "
                    "raise max_exact to cluster the rows exactly"
                )
            micro_labels = tree.sample_leaves
        else:
            tree = cache(exact_tree)(X, "ward")
            micro_centers, micro_labels = X.copy(), np.arange(n_samples)
        self.tree_ = tree
        self.approximate_ = approximate
        self.n_micro_ = tree.n_leaves
        self.micro_labels_ = micro_labels
        self.micro_centers_ = micro_centers
        self.micro_sizes_ = tree.leaf_weights
        self.labels_, self.n_clusters_ = _cut(tree, self.n_clusters)
        self._micro_clusters = tree.cut_leaves(self.n_clusters)
        self.cluster_centers_ = _cluster_means(X, self.labels_, self.n_clusters_)
        return self

    def predict(self, X):
        """Cluster of the nearest micro-cluster centre (Euclidean) for each sample.

        This is how the training samples were labelled (each belongs to its nearest centre),
        so ``predict`` on the training data gives ``labels_``; when the tree is exact, a new
        sample takes the cluster of its nearest training sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data, in the space the estimator was fitted in.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices.
        """
        check_is_fitted(self)
        X = check_data(self, X, reset=False)
        return self._micro_clusters[nearest_centre(X, self.micro_centers_)]
