"""The registry of clustering algorithms, and the two ways seglab fits them.

Every entry builds a scikit-learn style estimator; one module per algorithm family lives beside
this file (``fuzzy``, ``hierarchical``, ``mixture``, ``kprototypes``, ``gower_hierarchical``).
Fit one solution (:func:`fit_clusters`) or a whole range of k at once (:func:`fit_many`, which
builds a hierarchical tree once and cuts it at every k).

Numeric-only algorithms take numeric features; the mixed-type ones (``kprototypes``,
``gower_hierarchical``) take numbers and categories together, and only those: a feature set
without categorical columns has better tools (k-means, Ward), so each kind of algorithm runs on
its kind of feature set (:func:`takes`).
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import ClusterMixin
from sklearn.utils._param_validation import InvalidParameterError

from seglab.checks import check_matrix, check_n_clusters
from seglab.errors import ConfigError, SeglabWarning
from seglab.registry import Registry, suggest

__all__ = [
    "ALGORITHMS",
    "AlgorithmSpec",
    "FittedSolution",
    "check_params",
    "fit_clusters",
    "fit_many",
    "make_clusterer",
    "parameter_names",
    "refuse_mismatch",
    "relabel_by_size",
    "takes",
]


@dataclass(frozen=True)
class AlgorithmSpec:
    """How to build one algorithm: its estimator class (imported on first use) and its nature.

    ``estimator`` is ``"module:Class"``; ``defaults`` are parameters the user may override,
    ``fixed`` those the algorithm's name sets. Naming the class instead of importing it keeps
    the registry cheap: a config can be validated without loading numba or fastcluster.
    """

    estimator: str
    description: str
    defaults: Mapping[str, object] = field(default_factory=dict)
    fixed: Mapping[str, object] = field(default_factory=dict)
    seeded: bool = True
    """The estimator takes a ``random_state``."""
    fuzzy: bool = False
    tree: bool = False
    """Builds a tree once (``tree_``) that is cut at every k (``tree_.cut(k)``)."""
    large: tuple[str, int] | None = None
    """(algorithm, n): above n customers the named approximate algorithm is used instead."""
    criteria: tuple[str, ...] = ()
    """Model criteria the fitted estimator measures (``"bic"`` is read from ``bic_``)."""
    mixed: bool = False
    """Clusters numbers and categories together: takes feature sets with categorical columns
    (their positions as ``categorical``), and only those."""

    def build(self, k: int, random_state: int, **params) -> ClusterMixin:
        """An unfitted estimator with `k` clusters and the given parameters."""
        module, name = self.estimator.split(":")
        cls = getattr(importlib.import_module(module), name)
        seed = {"random_state": random_state} if self.seeded else {}
        return cls(n_clusters=k, **seed, **{**self.defaults, **params, **self.fixed})


ALGORITHMS: Registry[AlgorithmSpec] = Registry("algorithm")
ALGORITHMS.register(
    "kmeans",
    AlgorithmSpec(
        "sklearn.cluster:KMeans", "k-means (k-means++ starts, best of n_init)", {"n_init": 4}
    ),
)
ALGORITHMS.register(
    "minibatch_kmeans",
    AlgorithmSpec(
        "sklearn.cluster:MiniBatchKMeans", "mini-batch k-means, for large n", {"n_init": 3}
    ),
)
ALGORITHMS.register(
    "fuzzy_cmeans",
    AlgorithmSpec(
        "seglab.cluster.fuzzy:FuzzyCMeans",
        "fuzzy c-means (memberships per customer)",
        fuzzy=True,
    ),
)
for _linkage in ("ward", "single", "complete", "average"):  # linkage.LINKAGES
    ALGORITHMS.register(
        _linkage,
        AlgorithmSpec(
            "seglab.cluster.hierarchical:HierarchicalClustering",
            f"hierarchical clustering, {_linkage} linkage (exact)",
            fixed={"linkage": _linkage},
            seeded=False,
            tree=True,
            large=("two_step", 20_000) if _linkage == "ward" else None,
        ),
    )
ALGORITHMS.register(
    "gmm",
    AlgorithmSpec(
        "seglab.cluster.mixture:GaussianMixtureClustering",
        "Gaussian mixture (EM; covariance shape by BIC; posterior memberships per customer)",
        fuzzy=True,
        criteria=("bic", "aic"),
    ),
)
ALGORITHMS.register(
    "kprototypes",
    AlgorithmSpec(
        "seglab.cluster.kprototypes:KPrototypesClustering",
        "k-prototypes (kmodes package): k-means on the numbers and k-modes on the categories; "
        "gamma (weight of a category mismatch) balanced from the data by default",
        mixed=True,
    ),
)
ALGORITHMS.register(
    "gower_hierarchical",
    AlgorithmSpec(
        "seglab.cluster.gower_hierarchical:GowerHierarchical",
        "hierarchical clustering on Gower distances (average or complete linkage), with "
        "medoids; above max_exact customers a seeded sample, the others to the nearest medoid",
        mixed=True,
    ),
)
ALGORITHMS.register(
    "two_step",
    AlgorithmSpec(
        "seglab.cluster.hierarchical:TwoStepHierarchical",
        "two-step hierarchical: k-means micro-clusters, then Ward on their weighted centres",
        tree=True,
    ),
)


@dataclass(frozen=True)
class FittedSolution:
    """One fitted k: hard labels (0 = largest cluster), memberships and centres when fuzzy,
    and the model criteria its algorithm measures (``{"bic": ..., "aic": ...}`` for ``gmm``)."""

    k: int
    labels: np.ndarray
    memberships: np.ndarray | None
    centres: np.ndarray | None
    seconds: float
    notes: str = ""
    criteria: Mapping[str, float] = field(default_factory=dict)
    sampled: bool = False
    """The algorithm clustered a seeded sample and assigned the other customers to it
    (``gower_hierarchical`` above ``max_exact``)."""


#: Set by the grid (k, seed, the feature set's categorical columns), never by experiments.params;
#: nor are the parameters an algorithm's name sets (the linkage of ``ward``). Gower ``weights``
#: would depend on the feature set's column order: every column weighs 1.
_NOT_PARAMS = frozenset({"n_clusters", "random_state", "categorical", "weights"})


def takes(name: str, categorical: Sequence[object]) -> bool:
    """Whether algorithm `name` clusters a feature set with these categorical columns.

    >>> takes("kmeans", []), takes("kmeans", ["industry"]), takes("kprototypes", ["industry"])
    (True, False, True)
    """
    return ALGORITHMS.get(name).mixed == bool(len(categorical))


def refuse_mismatch(name: str, what: str, categorical: Sequence[object]) -> None:
    """Raise ConfigError when algorithm `name` cannot cluster `what` (see :func:`takes`).

    >>> refuse_mismatch("kmeans", "feature set 'firmographics'", ["industry"])
    Traceback (most recent call last):
    ...
    seglab.errors.ConfigError: kmeans clusters numbers only, and feature set 'firmographics' ...
    """
    if takes(name, categorical):
        return
    if categorical:
        raise ConfigError(
            f"{name} clusters numbers only, and {what} has categorical "
            f"column(s) {', '.join(map(str, categorical))}: distances between category codes "
            "mean nothing. Cluster it with kprototypes or gower_hierarchical, or give "
            f"{name} a feature set of numbers"
        )
    raise ConfigError(
        f"{name} clusters numbers and categories together, and {what} has no categorical "
        "column; give it a mixed set ({numeric: [...], categorical: [...]} "
        "under features.sets) or cluster the numbers with kmeans, ward or gmm"
    )


def parameter_names(name: str) -> list[str]:
    """The parameters of algorithm `name` that ``experiments.params`` may set, sorted.

    >>> parameter_names("fuzzy_cmeans")
    ['init', 'm', 'max_iter', 'n_init', 'tol']
    """
    spec = ALGORITHMS.get(name)
    names = set(spec.build(2, 0).get_params(deep=False)) - _NOT_PARAMS - set(spec.fixed)
    if spec.large is not None:
        names.add("two_step_above")
    return sorted(names)


def check_params(name: str, params: Mapping[str, object]) -> None:
    """Raise ConfigError for a key algorithm `name` does not take, or a value it refuses.

    Values are checked by the estimator's own parameter validation, so a bad value is refused
    when the config is read rather than inside a worker process halfway through the grid.

    >>> check_params("kmeans", {"n_iint": 3})
    Traceback (most recent call last):
    ...
    seglab.errors.ConfigError: ...parameter 'n_iint'; did you mean 'n_init'? kmeans takes: ...
    >>> check_params("kmeans", {"n_init": "many"})
    Traceback (most recent call last):
    ...
    seglab.errors.ConfigError: experiments.params.kmeans: The 'n_init' parameter of KMeans ...
    """
    known = parameter_names(name)
    for key in params:
        if key not in known:
            raise ConfigError(
                f"experiments.params.{name}: unknown parameter '{key}'"
                f"{suggest(str(key), known) or '.'} {name} takes: {', '.join(known)}."
            )
    spec = ALGORITHMS.get(name)
    estimator = spec.build(2, 0, **{k: v for k, v in params.items() if k != "two_step_above"})
    try:
        estimator._validate_params()
    except (InvalidParameterError, ValueError, TypeError) as exc:
        raise ConfigError(f"experiments.params.{name}: {exc}") from None
    limit = params.get("two_step_above")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 2):
        raise ConfigError(
            f"experiments.params.{name}: two_step_above must be a whole number of customers "
            f">= 2, got {limit!r}"
        )


def make_clusterer(
    name: str, k: int, *, random_state: int, categorical: Sequence[int] = (), **params
) -> ClusterMixin:
    """Build an unfitted estimator of algorithm `name` with `k` clusters.

    `categorical` are the positions of the category columns, for a mixed-type algorithm.
    Raises ConfigError for a parameter the algorithm does not take (see :func:`check_params`).
    """
    check_params(name, params)
    spec = ALGORITHMS.get(name)
    extra = {"categorical": [int(j) for j in categorical]} if spec.mixed else {}
    return spec.build(k, random_state, **params, **extra)


def fit_clusters(
    X: np.ndarray, name: str, k: int, *, random_state: int, **params
) -> tuple[ClusterMixin, np.ndarray]:
    """Fit algorithm `name` on `X` and return the estimator and labels relabelled by size.

    Parameters
    ----------
    X : array of shape (n_customers, n_features)
        Scaled features.
    name : str
        Algorithm name in ``ALGORITHMS``.
    k : int
        Number of clusters; at most the number of customers.
    random_state : int
        Seed.
    **params
        Extra parameters of the algorithm.
    """
    X = check_matrix(X)
    check_n_clusters(k, len(X))
    estimator = make_clusterer(name, k, random_state=random_state, **params).fit(X)
    return estimator, relabel_by_size(estimator.labels_)


def fit_many(
    X: np.ndarray,
    name: str,
    ks: Iterable[int],
    *,
    random_state: int,
    categorical: Sequence[int] = (),
    **params,
) -> list[FittedSolution]:
    """Fit algorithm `name` at every k of `ks`; a tree-building algorithm is fitted only once.

    Above its size limit (param ``two_step_above``, default 20,000 customers), Ward runs as
    two-step hierarchical clustering and the solutions' notes say so; warnings a fit raises
    (no convergence, tied merge heights) are recorded in its notes, not printed. Memberships
    are reordered to match the relabelled hard labels (column j = cluster j); the model
    criteria of the algorithm (BIC and AIC of a Gaussian mixture) are in ``criteria``.

    `categorical` are the positions of the columns of `X` that hold category codes (a mixed
    feature set, for a mixed-type algorithm; any other pairing is a ConfigError). When
    ``gower_hierarchical`` clusters a sample, ``sampled`` is set and the notes say how.
    """
    ks = sorted(ks)
    spec = ALGORITHMS.get(name)
    X = check_matrix(X)
    check_n_clusters(ks[-1], len(X))
    refuse_mismatch(name, "the data given", list(categorical))
    params = {**params, "categorical": categorical}
    limit = params.pop("two_step_above", spec.large[1] if spec.large else None)
    if spec.large is not None and X.shape[0] > limit:
        name, spec = spec.large[0], ALGORITHMS.get(spec.large[0])
        params["max_exact"] = limit
    if spec.tree:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeglabWarning)
            estimator = make_clusterer(name, ks[-1], random_state=random_state, **params).fit(X)
        built = (time.perf_counter() - start) / len(ks)
        messages = sorted({str(w.message) for w in caught})
        if getattr(estimator, "approximate_", False):
            messages.insert(0, f"approximate: two-step over {estimator.n_micro_} micro-clusters")
        notes = "; ".join(messages)
        return [
            FittedSolution(k, relabel_by_size(estimator.tree_.cut(k)), None, None, built, notes)
            for k in ks
        ]
    fitted = []
    for k in ks:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SeglabWarning)
            estimator = make_clusterer(name, k, random_state=random_state, **params).fit(X)
        labels = relabel_by_size(estimator.labels_)
        memberships = centres = None
        if spec.fuzzy:
            order = _label_order(estimator.labels_, labels, k)
            memberships = estimator.memberships_[:, order]
            centres = estimator.cluster_centers_[order]
        seconds = time.perf_counter() - start
        messages = sorted({str(w.message) for w in caught})
        sampled = bool(getattr(estimator, "approximate_", False))
        notes = "; ".join([estimator.note_, *messages] if sampled else messages)
        criteria = {name: float(getattr(estimator, f"{name}_")) for name in spec.criteria}
        fitted.append(
            FittedSolution(k, labels, memberships, centres, seconds, notes, criteria, sampled)
        )
    return fitted


def _label_order(original: np.ndarray, relabelled: np.ndarray, k: int) -> np.ndarray:
    """Column order that puts original cluster columns in relabelled order.

    Clusters that hold no customer (possible with fuzzy memberships) come last, in their order.

    >>> _label_order(np.array([2, 2, 0]), np.array([0, 0, 1]), 3).tolist()
    [2, 0, 1]
    """
    pairs = np.unique(np.column_stack([relabelled, original]), axis=0)
    empty = [c for c in range(k) if c not in set(pairs[:, 1])]
    return np.concatenate([pairs[:, 1], empty]).astype(np.int64)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber labels so that 0 is the largest cluster, 1 the next, and so on.

    >>> relabel_by_size(np.array([5, 2, 2, 5, 2, 9])).tolist()
    [1, 0, 0, 1, 0, 2]
    """
    values, first_seen, counts = np.unique(labels, return_index=True, return_counts=True)
    order = np.lexsort((first_seen, -counts))
    new_label = np.empty(len(values), dtype=np.int64)
    new_label[order] = np.arange(len(values))
    return new_label[np.searchsorted(values, labels)]
