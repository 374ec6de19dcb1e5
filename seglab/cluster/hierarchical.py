"""Hierarchical clustering: exact trees for moderate n, a two-step approximation for large n.

A tree is built once (a SciPy linkage matrix inside a :class:`HierarchicalTree`) and cut at any
number of clusters. :class:`HierarchicalClustering` builds exact trees with fastcluster (Ward and
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

import logging
import time
import warnings
from numbers import Integral

import fastcluster
import numpy as np
from scipy.cluster.hierarchy import dendrogram, fcluster, is_valid_linkage
from scipy.spatial.distance import pdist
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted, check_memory, validate_data

from seglab.errors import ConfigError, DataError, SeglabWarning

__all__ = [
    "LINKAGES",
    "MAX_EXACT_MATRIX",
    "MAX_EXACT_VECTOR",
    "HierarchicalClustering",
    "HierarchicalTree",
    "HierarchyDataError",
    "HierarchyParameterError",
    "HierarchyTooLargeError",
    "HierarchyWarning",
    "TwoStepHierarchical",
    "weighted_ward_linkage",
]

logger = logging.getLogger(__name__)

#: Linkages built from the data themselves by ``fastcluster.linkage_vector``: O(n) memory,
#: O(n^2) time.
VECTOR_LINKAGES = ("ward", "single")
#: Linkages that need the condensed distance matrix, n (n - 1) / 2 float64 values.
MATRIX_LINKAGES = ("complete", "average")
LINKAGES = VECTOR_LINKAGES + MATRIX_LINKAGES
#: Default ``max_exact`` of complete and average linkage. The condensed distance matrix of
#: 20,000 samples takes 20,000 x 19,999 / 2 x 8 bytes = 1.6 GB, and it is held twice: SciPy's
#: ``pdist`` output and fastcluster's working copy (fastcluster 1.3 copies its input under
#: NumPy 2 even with ``preserve_input=False``; SciPy's ``linkage`` copies too): 3.2 GB at peak.
MAX_EXACT_MATRIX = 20_000
#: Copies of the condensed distance matrix alive at the peak of a complete or average linkage.
_MATRIX_COPIES = 2
#: Default ``max_exact`` of Ward and single linkage, bounded by time, not memory: exact Ward on
#: 100,000 samples took 64 to 91 s (depending on the machine's load) and about 15 MB on the
#: 2-core reference machine; time grows as n^2.
MAX_EXACT_VECTOR = 100_000
#: Typical seconds of exact Ward on 100,000 samples there (for the refusal message).
_WARD_SECONDS_AT_100K = 80.0


class HierarchyParameterError(ConfigError, InvalidParameterError):
    """A parameter of a hierarchical estimator has a wrong type or value.

    A :class:`~seglab.errors.ConfigError` for seglab and scikit-learn's ``InvalidParameterError``
    (so also ``ValueError`` and ``TypeError``) for scikit-learn's checks and callers.
    """


class HierarchyDataError(DataError, ValueError):
    """The data cannot be clustered as asked: NaN, fewer rows than clusters, wrong features."""


class HierarchyTooLargeError(HierarchyDataError):
    """An exact tree was asked for more samples than ``max_exact`` allows."""


class HierarchyWarning(SeglabWarning):
    """The tree has tied merge heights, so a cut gives fewer clusters than asked."""


# ---------------------------------------------------------------------------------------------
# The tree
# ---------------------------------------------------------------------------------------------


class HierarchicalTree:
    """A merge tree (SciPy linkage matrix) over leaves, cut at any number of clusters.

    The leaves are the samples themselves, or micro-clusters of them (``sample_leaves`` says
    which leaf each sample belongs to, ``leaf_weights`` how many samples each leaf holds).

    Parameters
    ----------
    linkage_matrix : ndarray of shape (n_leaves - 1, 4)
        Merges in SciPy's format: the two merged nodes, the merge height, the number of leaves
        under the new node. Node ``n_leaves + i`` is the one formed by row ``i``.
    method : str
        Linkage that built the tree, for the record.
    leaf_weights : array-like of shape (n_leaves,), default=None
        Samples in each leaf; 1 each when None.
    sample_leaves : array-like of shape (n_samples,), default=None
        Leaf of every sample; None when every sample is its own leaf.

    Attributes
    ----------
    n_leaves : int
        Number of leaves.
    n_samples : int
        Number of samples that :meth:`cut` labels.

    Examples
    --------
    >>> from scipy.cluster.hierarchy import linkage
    >>> tree = HierarchicalTree(linkage([[0.0], [1.0], [10.0]], "ward"), method="ward")
    >>> tree.cut(2).tolist()
    [0, 0, 1]
    >>> tree.heights.round(3).tolist()
    [1.0, 10.97]
    """

    def __init__(self, linkage_matrix, *, method, leaf_weights=None, sample_leaves=None):
        Z = np.asarray(linkage_matrix, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != 4:
            raise HierarchyDataError(
                f"linkage_matrix must have shape (n_leaves - 1, 4); got {Z.shape}"
            )
        n_leaves = Z.shape[0] + 1
        if n_leaves > 1:
            is_valid_linkage(Z, throw=True, name="linkage_matrix")
        if leaf_weights is None:
            leaf_weights = np.ones(n_leaves, dtype=np.int64)
        leaf_weights = np.asarray(leaf_weights)
        if leaf_weights.shape != (n_leaves,):
            raise HierarchyDataError(
                f"leaf_weights has shape {leaf_weights.shape} but the tree has {n_leaves} leaves"
            )
        if sample_leaves is not None:
            sample_leaves = np.asarray(sample_leaves, dtype=np.intp)
            if sample_leaves.ndim != 1 or (
                sample_leaves.size
                and not 0 <= sample_leaves.min() <= sample_leaves.max() < n_leaves
            ):
                raise HierarchyDataError(
                    f"sample_leaves must be a 1-D array of leaf indices in [0, {n_leaves})"
                )
        self.linkage_matrix = Z
        self.method = method
        self.leaf_weights = leaf_weights
        self.sample_leaves = sample_leaves
        self.n_leaves = n_leaves
        self.n_samples = n_leaves if sample_leaves is None else sample_leaves.shape[0]

    def __repr__(self) -> str:
        return (
            f"HierarchicalTree(method={self.method!r}, n_leaves={self.n_leaves}, "
            f"n_samples={self.n_samples})"
        )

    @property
    def heights(self) -> np.ndarray:
        """Merge heights, non-decreasing (column 2 of the linkage matrix)."""
        return self.linkage_matrix[:, 2]

    def cut_leaves(self, n_clusters: int) -> np.ndarray:
        """Cluster of every leaf when the tree is cut into at most ``n_clusters`` clusters.

        The labels are SciPy's ``fcluster(Z, n_clusters, criterion="maxclust") - 1``: the cut is
        at the lowest height that leaves at most ``n_clusters`` clusters, so tied merge heights
        can give fewer.

        Parameters
        ----------
        n_clusters : int
            Number of clusters, from 1 to ``n_leaves``.

        Returns
        -------
        labels : ndarray of shape (n_leaves,)
            Cluster indices from 0.
        """
        if not isinstance(n_clusters, Integral) or not 1 <= n_clusters <= self.n_leaves:
            raise HierarchyDataError(
                f"cannot cut a tree of {self.n_leaves} leaves into n_clusters={n_clusters!r} "
                f"clusters; choose an integer from 1 to {self.n_leaves}"
            )
        if self.n_leaves == 1:
            return np.zeros(1, dtype=np.intp)
        labels = fcluster(self.linkage_matrix, int(n_clusters), criterion="maxclust")
        return labels.astype(np.intp) - 1

    def cut(self, n_clusters: int) -> np.ndarray:
        """Cluster of every sample when the tree is cut into at most ``n_clusters`` clusters.

        Parameters
        ----------
        n_clusters : int
            Number of clusters, from 1 to ``n_leaves``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            :meth:`cut_leaves` mapped through ``sample_leaves``.
        """
        leaf_labels = self.cut_leaves(n_clusters)
        return leaf_labels if self.sample_leaves is None else leaf_labels[self.sample_leaves]

    def node_weights(self) -> np.ndarray:
        """Samples under every node: the ``n_leaves`` leaves, then one node per merge."""
        weights = np.empty(2 * self.n_leaves - 1, dtype=np.float64)
        weights[: self.n_leaves] = self.leaf_weights
        children = self.linkage_matrix[:, :2].astype(np.intp)
        for i, (left, right) in enumerate(children):
            weights[self.n_leaves + i] = weights[left] + weights[right]
        return weights

    def dendrogram(self, p: int = 30, **kwargs) -> dict:
        """The top of the tree for plotting, as SciPy's ``dendrogram(..., no_plot=True)``.

        Parameters
        ----------
        p : int, default=30
            Number of leaves shown (``truncate_mode="lastp"``): the last ``p - 1`` merges.
        **kwargs
            Other arguments of :func:`scipy.cluster.hierarchy.dendrogram`.

        Returns
        -------
        data : dict
            SciPy's dendrogram data (``icoord``, ``dcoord``, ``ivl``, ``leaves``, ...). Each shown
            leaf is labelled with the number of samples under it, e.g. ``"(1,204)"``.
        """
        if self.n_leaves < 2:
            raise HierarchyDataError("a tree of a single leaf has no dendrogram")
        weights = self.node_weights()
        options = {
            "truncate_mode": "lastp",
            "p": p,
            "no_plot": True,
            "leaf_label_func": lambda node: f"({weights[node]:,.0f})",
        }
        options.update(kwargs)
        return dendrogram(self.linkage_matrix, **options)


# ---------------------------------------------------------------------------------------------
# Building trees
# ---------------------------------------------------------------------------------------------


def _exact_tree(X: np.ndarray, method: str) -> HierarchicalTree:
    """The exact tree of the rows of ``X`` (callers have checked ``max_exact``)."""
    start = time.perf_counter()
    if X.shape[0] == 1:
        Z = np.empty((0, 4))
    elif method in VECTOR_LINKAGES:
        Z = fastcluster.linkage_vector(X, method=method, metric="euclidean")
    else:
        Z = fastcluster.linkage(pdist(X), method=method, preserve_input=False)
    logger.info(
        "%s linkage of %d samples in %.2f s", method, X.shape[0], time.perf_counter() - start
    )
    return HierarchicalTree(Z, method=method)


def weighted_ward_linkage(centres, weights) -> np.ndarray:
    """Ward linkage of points carrying weights, as a SciPy linkage matrix.

    Merging clusters A and B raises the (weighted) within-cluster sum of squares by
    ``delta = w_A w_B / (w_A + w_B) * ||c_A - c_B||^2``, with ``w`` the total weight and ``c`` the
    weighted centre; the pair with the smallest increase is merged first. The recorded height
    is ``sqrt(2 * delta)``, SciPy's scale: with unit weights the result is
    ``scipy.cluster.hierarchy.linkage(centres, "ward")``; with integer weights its merges are
    the last ``len(centres) - 1`` merges of SciPy's Ward on the centres each repeated
    ``weights[i]`` times.

    Parameters
    ----------
    centres : array-like of shape (n_points, n_features)
        Points (micro-cluster centres).
    weights : array-like of shape (n_points,)
        Positive weights (micro-cluster sizes).

    Returns
    -------
    Z : ndarray of shape (n_points - 1, 4)
        Linkage matrix; column 3 counts points (leaves), not weight.

    Notes
    -----
    Nearest-neighbour chain (Ward's criterion is reducible): O(n_points) memory, as each
    point's distances are computed from the current centres when needed, and about
    O(n_points^2 x n_features) time in vectorised steps. Ties are broken as SciPy does (the
    previous element of the chain first, then the lowest index).

    Examples
    --------
    >>> Z = weighted_ward_linkage([[0.0], [1.0], [10.0]], [1, 3, 1])
    >>> Z[:, 2].round(4).tolist()
    [1.2247, 11.7004]
    """
    C = np.array(centres, dtype=np.float64, order="C", copy=True)
    w = np.array(weights, dtype=np.float64, copy=True)
    if C.ndim != 2 or w.shape != (C.shape[0],) or C.shape[0] == 0:
        raise HierarchyDataError(
            f"centres must be (n_points, n_features) with n_points >= 1 and weights "
            f"(n_points,); got {C.shape} and {w.shape}"
        )
    if not (np.isfinite(C).all() and np.isfinite(w).all() and (w > 0).all()):
        raise HierarchyDataError("centres must be finite and weights finite and positive")
    n_points = C.shape[0]
    merges = np.empty((n_points - 1, 4))
    active = np.ones(n_points, dtype=bool)
    formed_at = np.zeros(n_points)  # height of the merge that made the cluster in each slot
    chain: list[int] = []
    for step in range(n_points - 1):
        if not chain:
            chain.append(int(np.argmax(active)))
        while True:
            x = chain[-1]
            row = _ward_row(C, w, active, x)
            y = int(np.argmin(row))
            if len(chain) > 1 and row[chain[-2]] <= row[y]:
                y = chain[-2]
                break
            chain.append(y)
        del chain[-2:]
        # Rounding could put a merge a hair below the one that formed a child; keep it monotone
        # so that sorting by height keeps every child before its parent.
        height = max(np.sqrt(row[y]), formed_at[x], formed_at[y])
        x, y = min(x, y), max(x, y)  # the new cluster takes the higher slot, as in SciPy
        merges[step] = x, y, height, 0.0
        total = w[x] + w[y]
        C[y] = (w[x] * C[x] + w[y] * C[y]) / total
        w[y] = total
        active[x] = False
        formed_at[y] = height
    order = np.argsort(merges[:, 2], kind="mergesort")
    return _relabel(merges[order], n_points)


def _ward_row(C: np.ndarray, w: np.ndarray, active: np.ndarray, x: int) -> np.ndarray:
    """``2 * delta`` (squared Ward height) of merging slot ``x`` with every slot; inf if none."""
    diff = C - C[x]
    squared = np.einsum("ij,ij->i", diff, diff)
    row = 2.0 * (w[x] * w) / (w[x] + w) * squared
    row[~active] = np.inf
    row[x] = np.inf
    return row


def _relabel(merges: np.ndarray, n_points: int) -> np.ndarray:
    """Turn merges of slots (sorted by height) into SciPy's node numbering and counts.

    Each slot keeps pointing at the newest node it holds: row ``i`` forms node ``n_points + i``,
    listed as (smaller node, larger node, height, leaves under it).
    """
    node_of_slot = np.arange(n_points)
    size = np.ones(2 * n_points - 1)
    Z = merges.copy()
    for i, (x, y) in enumerate(merges[:, :2].astype(np.intp)):
        a, b = sorted((node_of_slot[x], node_of_slot[y]))
        new = n_points + i
        size[new] = size[a] + size[b]
        Z[i, 0], Z[i, 1], Z[i, 3] = a, b, size[new]
        node_of_slot[x] = node_of_slot[y] = new
    return Z


def _two_step_tree(X, n_micro, micro_method, sample_size, max_iter, rng):
    """Micro-clusters of ``X``, then Ward on their centres; return (tree, micro centres).

    k-means runs on ``sample_size`` rows drawn at random (all rows when None), starting from
    rows drawn at random; every row is then assigned to its nearest centre. Micro-clusters left
    empty by that assignment are dropped. The tree's leaves are the kept micro-clusters, weighted
    by their sizes, and its ``sample_leaves`` are the rows' micro-clusters.
    """
    start = time.perf_counter()
    n_samples = X.shape[0]
    if sample_size is None or sample_size >= n_samples:
        sample = X
    else:
        sample = X[np.sort(rng.choice(n_samples, size=sample_size, replace=False))]
    n_fit = min(n_micro, sample.shape[0])
    if micro_method == "kmeans":
        model = KMeans(n_fit, init="random", n_init=1, max_iter=max_iter, random_state=rng)
    else:
        model = MiniBatchKMeans(
            n_fit,
            init="random",
            n_init=1,
            max_iter=max_iter,
            batch_size=max(1024, n_fit),
            random_state=rng,
        )
    centres = model.fit(sample).cluster_centers_
    fitted = time.perf_counter()
    micro = pairwise_distances_argmin(X, centres)
    sizes = np.bincount(micro, minlength=n_fit)
    kept = sizes > 0
    if not kept.all():
        micro = (np.cumsum(kept) - 1)[micro]
        centres, sizes = centres[kept], sizes[kept]
    assigned = time.perf_counter()
    Z = weighted_ward_linkage(centres, sizes)
    logger.info(
        "two-step: %d micro-clusters fitted on %d of %d rows in %.2f s, assigned in %.2f s, "
        "Ward on their centres in %.2f s",
        centres.shape[0],
        sample.shape[0],
        n_samples,
        fitted - start,
        assigned - fitted,
        time.perf_counter() - assigned,
    )
    tree = HierarchicalTree(Z, method="ward", leaf_weights=sizes, sample_leaves=micro)
    return tree, np.ascontiguousarray(centres)


# ---------------------------------------------------------------------------------------------
# Checks and messages shared by the estimators
# ---------------------------------------------------------------------------------------------


def _check_params(estimator) -> None:
    """Validate against ``_parameter_constraints``, raising seglab's parameter error."""
    try:
        estimator._validate_params()
    except InvalidParameterError as error:
        raise HierarchyParameterError(str(error)) from None


def _check_data(estimator, X, *, reset: bool) -> np.ndarray:
    """Return ``X`` as a C-ordered float64 array of finite numbers, or raise a data error."""
    try:
        X = validate_data(
            estimator, X, reset=reset, dtype=np.float64, order="C", ensure_all_finite=False
        )
    except ValueError as error:
        raise HierarchyDataError(str(error)) from error
    finite = np.isfinite(X).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise HierarchyDataError(
            f"X contains NaN or infinite values in {rows.size} row(s), the first at "
            f"{rows[:5].tolist()}; impute or drop them before clustering"
        )
    return X


def _check_n_clusters(n_clusters: int, n_samples: int) -> None:
    if n_clusters > n_samples:
        raise HierarchyDataError(
            f"n_clusters={n_clusters} is larger than n_samples={n_samples}; "
            f"choose n_clusters <= {n_samples}"
        )


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
        _check_params(self)
        X = _check_data(self, X, reset=True)
        n_samples, n_features = X.shape
        _check_n_clusters(self.n_clusters, n_samples)
        limit = self.max_exact
        if limit == "auto":
            limit = MAX_EXACT_MATRIX if self.linkage in MATRIX_LINKAGES else MAX_EXACT_VECTOR
        if n_samples > limit:
            raise HierarchyTooLargeError(
                _too_large_message(self.linkage, n_samples, n_features, limit)
            )
        self.tree_ = check_memory(self.memory).cache(_exact_tree)(X, self.linkage)
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
        X = _check_data(self, X, reset=False)
        return pairwise_distances_argmin(X, self.cluster_centers_)


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
        _check_params(self)
        if self.n_micro < self.n_clusters:
            raise HierarchyParameterError(
                f"n_micro={self.n_micro} is smaller than n_clusters={self.n_clusters}; "
                "choose n_micro >= n_clusters (typically hundreds or more)"
            )
        X = _check_data(self, X, reset=True)
        n_samples = X.shape[0]
        _check_n_clusters(self.n_clusters, n_samples)
        cache = check_memory(self.memory).cache
        approximate = n_samples > self.max_exact
        if approximate:
            sample = 50 * self.n_micro if self.micro_sample == "auto" else self.micro_sample
            rng = check_random_state(self.random_state)
            tree, micro_centers = cache(_two_step_tree)(
                X, self.n_micro, self.micro_method, sample, self.micro_max_iter, rng
            )
            if self.n_clusters > tree.n_leaves:
                raise HierarchyDataError(
                    f"n_clusters={self.n_clusters} is larger than the {tree.n_leaves} non-empty "
                    "micro-clusters (the data have few distinct rows); lower n_clusters or "
                    "raise max_exact to cluster the rows exactly"
                )
            micro_labels = tree.sample_leaves
        else:
            tree = cache(_exact_tree)(X, "ward")
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
        X = _check_data(self, X, reset=False)
        return self._micro_clusters[pairwise_distances_argmin(X, self.micro_centers_)]
