"""Merge trees, exact or two-step (Ward on weighted micro-cluster centres), cut at any k.

A tree is built once (a SciPy linkage matrix inside a :class:`HierarchicalTree`) and cut at any
number of clusters. Ward and single linkage are built from the data in O(n) memory; complete and
average linkage from the condensed distance matrix. :func:`weighted_ward_linkage` builds the Ward
tree of micro-cluster centres weighted by their sizes.
"""

from __future__ import annotations

import logging
import time
from numbers import Integral

import fastcluster
import numpy as np
from scipy.cluster.hierarchy import dendrogram, fcluster, is_valid_linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import KMeans, MiniBatchKMeans

from seglab.cluster.nearest import nearest_centre
from seglab.cluster.validation import ClusteringDataError

__all__ = [
    "LINKAGES",
    "MATRIX_LINKAGES",
    "MAX_EXACT_MATRIX",
    "MAX_EXACT_VECTOR",
    "HierarchicalTree",
    "exact_tree",
    "two_step_tree",
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
#: Default ``max_exact`` of Ward and single linkage, bounded by time, not memory: exact Ward on
#: 100,000 samples took 64 to 91 s (depending on the machine's load) and about 15 MB on the
#: 2-core reference machine; time grows as n^2.
MAX_EXACT_VECTOR = 100_000


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
            raise ClusteringDataError(
                f"linkage_matrix must have shape (n_leaves - 1, 4); got {Z.shape}"
            )
        n_leaves = Z.shape[0] + 1
        if n_leaves > 1:
            is_valid_linkage(Z, throw=True, name="linkage_matrix")
        if leaf_weights is None:
            leaf_weights = np.ones(n_leaves, dtype=np.int64)
        leaf_weights = np.asarray(leaf_weights)
        if leaf_weights.shape != (n_leaves,):
            raise ClusteringDataError(
                f"leaf_weights has shape {leaf_weights.shape} but the tree has {n_leaves} leaves"
            )
        if sample_leaves is not None:
            sample_leaves = np.asarray(sample_leaves, dtype=np.intp)
            if sample_leaves.ndim != 1 or (
                sample_leaves.size
                and not 0 <= sample_leaves.min() <= sample_leaves.max() < n_leaves
            ):
                raise ClusteringDataError(
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
            raise ClusteringDataError(
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
            raise ClusteringDataError("a tree of a single leaf has no dendrogram")
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


def exact_tree(X: np.ndarray, method: str) -> HierarchicalTree:
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
        raise ClusteringDataError(
            f"centres must be (n_points, n_features) with n_points >= 1 and weights "
            f"(n_points,); got {C.shape} and {w.shape}"
        )
    if not (np.isfinite(C).all() and np.isfinite(w).all() and (w > 0).all()):
        raise ClusteringDataError("centres must be finite and weights finite and positive")
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


def two_step_tree(X, n_micro, micro_method, sample_size, max_iter, rng):
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
    micro = nearest_centre(X, centres)
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
