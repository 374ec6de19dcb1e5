"""Stability of a clustering solution: bootstrap Jaccard per cluster and agreement across seeds.

Both refit a clustering through a callable, sequentially and deterministically (the experiment
grid parallelises across solutions, not inside one):

* :func:`bootstrap_stability` resamples customers with replacement, refits, and measures how well
  each original cluster is recovered (Jaccard, after Hennig 2007);
* :func:`seed_stability` refits on the full data with several seeds and compares the labellings
  pairwise with the adjusted Rand index.

>>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
>>> halves = lambda data, seed=0: (data[:, 0] > 2.5).astype(int)
>>> bootstrap_stability(X, halves(X), halves, n_boot=5).mean_jaccard
1.0
>>> seed_stability(X, halves, seeds=3).mean_ari
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from seglab.checks import check_int, check_labels, check_matrix, check_solution
from seglab.errors import ConfigError

__all__ = ["BootstrapStability", "SeedStability", "bootstrap_stability", "seed_stability"]

#: Hennig (2007): a cluster is "dissolved" in a replicate when its Jaccard is at most this.
DISSOLVED = 0.5


@dataclass(frozen=True)
class BootstrapStability:
    """Jaccard recovery of each original cluster over bootstrap replicates.

    Attributes
    ----------
    clusters : tuple
        The original labels, sorted; the columns of ``jaccard``.
    sizes : tuple of int
        Customers in each original cluster.
    jaccard : ndarray of shape (n_boot, n_clusters)
        Best Jaccard of each cluster in each replicate; NaN when none of its customers was drawn.
    random_state : int
        Seed of the resampling.
    """

    clusters: tuple
    sizes: tuple[int, ...]
    jaccard: np.ndarray
    random_state: int

    @property
    def n_boot(self) -> int:
        """Number of bootstrap replicates."""
        return self.jaccard.shape[0]

    @property
    def per_cluster(self) -> pd.DataFrame:
        """One row per cluster: ``cluster``, ``size``, ``mean_jaccard`` (over the replicates
        where it was present), ``n_present`` and ``dissolved_share`` (share of those replicates
        with Jaccard <= 0.5)."""
        present = ~np.isnan(self.jaccard)
        n_present = present.sum(axis=0)
        total = np.where(present, self.jaccard, 0.0).sum(axis=0)
        dissolved = (np.where(present, self.jaccard, 1.0) <= DISSOLVED).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean, share = total / n_present, dissolved / n_present
        return pd.DataFrame(
            {
                "cluster": list(self.clusters),
                "size": list(self.sizes),
                "mean_jaccard": mean,
                "n_present": n_present,
                "dissolved_share": share,
            }
        )

    @property
    def mean_jaccard(self) -> float:
        """Mean over clusters (unweighted) of the per-cluster mean Jaccard."""
        means = self.per_cluster["mean_jaccard"].dropna()
        return float(means.mean()) if len(means) else math.nan

    def to_dict(self) -> dict[str, Any]:
        """A flat summary for the grid's tidy table of solutions."""
        means = self.per_cluster["mean_jaccard"]
        return {
            "bootstrap_jaccard": self.mean_jaccard,
            "bootstrap_min_cluster_jaccard": float(means.min())
            if means.notna().any()
            else math.nan,
            "n_boot": self.n_boot,
        }


@dataclass(frozen=True)
class SeedStability:
    """Pairwise adjusted Rand index between refits with different seeds.

    Attributes
    ----------
    seeds : tuple of int
        The seeds, in the order of the rows and columns of ``ari``.
    ari : ndarray of shape (n_seeds, n_seeds)
        Adjusted Rand index of each pair of labellings; 1 on the diagonal.
    """

    seeds: tuple[int, ...]
    ari: np.ndarray

    @property
    def mean_ari(self) -> float:
        """Mean ARI over the distinct pairs of seeds."""
        return float(self.ari[np.triu_indices(len(self.seeds), k=1)].mean())

    @property
    def min_ari(self) -> float:
        """The worst pair's ARI."""
        return float(self.ari[np.triu_indices(len(self.seeds), k=1)].min())

    def to_dict(self) -> dict[str, Any]:
        """A flat summary for the grid's tidy table of solutions."""
        return {
            "seed_mean_ari": self.mean_ari,
            "seed_min_ari": self.min_ari,
            "n_seeds": len(self.seeds),
        }


def _best_jaccard(original: np.ndarray, k: int, boot: np.ndarray) -> np.ndarray:
    """For each original cluster, the largest Jaccard with a bootstrap cluster (NaN if absent).

    ``original`` and ``boot`` are codes of the same distinct customers.
    """
    k_boot = int(boot.max()) + 1
    both = np.bincount(original * k_boot + boot, minlength=k * k_boot).reshape(k, k_boot)
    in_original, in_boot = both.sum(axis=1), both.sum(axis=0)
    union = in_original[:, None] + in_boot[None, :] - both
    jaccard = np.zeros(both.shape)
    np.divide(both, union, out=jaccard, where=union > 0)
    return np.where(in_original > 0, jaccard.max(axis=1), np.nan)


def bootstrap_stability(
    X: Any,
    labels: Any,
    fit_predict: Callable[[np.ndarray], Any],
    *,
    n_boot: int = 20,
    random_state: int = 0,
) -> BootstrapStability:
    """How well each cluster survives refitting on bootstrap resamples of the customers.

    Each replicate draws n customers with replacement (``np.random.default_rng(random_state)``,
    one stream for all replicates) and calls ``fit_predict`` on those rows, duplicates included.
    A customer drawn several times takes the bootstrap label of their first draw. For each
    original cluster C, restricted to the distinct customers drawn (C ∩ S), the Jaccard index
    ``|C ∩ S ∩ D| / |(C ∩ S) ∪ D|`` is computed against every bootstrap cluster D (made of
    drawn customers only) and the largest is kept; it is NaN for a cluster none of whose
    customers was drawn. Per cluster the Jaccard is averaged over the replicates where it is
    defined, and the solution's value is the mean over clusters. Hennig (2007) reads a mean
    below 0.6 as an unstable cluster and above 0.85 as a highly stable one.

    Parameters
    ----------
    X : array-like of shape (n_customers, n_features)
        The clustered (scaled) features, finite.
    labels : array-like of shape (n_customers,)
        The solution's cluster of each customer.
    fit_predict : callable
        ``fit_predict(X_sample) -> labels``: the solution's algorithm, k and seed, refitted.
    n_boot : int, default=20
        Number B of bootstrap replicates.
    random_state : int, default=0
        Seed of the resampling.

    Returns
    -------
    BootstrapStability
    """
    n_boot = check_int("n_boot", n_boot, 1)
    seed = check_int("random_state", random_state, 0)
    if not callable(fit_predict):
        raise ConfigError(f"fit_predict must be callable, X_sample -> labels; got {fit_predict!r}")
    values, classes, codes = check_solution(X, labels)
    n, k = values.shape[0], len(classes)
    rng = np.random.default_rng(seed)
    jaccard = np.empty((n_boot, k))
    for b in range(n_boot):
        rows = rng.integers(0, n, size=n)
        refit = check_labels(fit_predict(values[rows]), n, what="fit_predict's labels")[1]
        customers, first = np.unique(rows, return_index=True)
        jaccard[b] = _best_jaccard(codes[customers], k, refit[first])
    return BootstrapStability(
        clusters=tuple(classes.tolist()),
        sizes=tuple(int(c) for c in np.bincount(codes, minlength=k)),
        jaccard=jaccard,
        random_state=seed,
    )


def seed_stability(
    X: Any,
    fit_predict: Callable[[np.ndarray, int], Any],
    *,
    seeds: int | Sequence[int] = 5,
) -> SeedStability:
    """Agreement of refits on the full data that differ only in their seed.

    Parameters
    ----------
    X : array-like of shape (n_customers, n_features)
        The clustered (scaled) features, finite.
    fit_predict : callable
        ``fit_predict(X, seed) -> labels``: the solution's algorithm and k with the given seed.
    seeds : int or sequence of int, default=5
        The seeds, or how many: an int S means seeds 0, 1, ..., S - 1. At least two.

    Returns
    -------
    SeedStability
        Labellings are compared with scikit-learn's ``adjusted_rand_score``, so they agree up to
        relabelling; 1.0 means every seed finds the same partition.
    """
    wrong = f"seeds must be an int >= 2 or a list of at least 2 distinct seeds; got {seeds!r}"
    if isinstance(seeds, bool | str) or not isinstance(seeds, Integral | Iterable):
        raise ConfigError(wrong)
    chosen = tuple(range(seeds)) if isinstance(seeds, Integral) else tuple(seeds)
    for seed in chosen:
        check_int("each seed", seed, 0)
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise ConfigError(wrong)
    values = check_matrix(X)
    n = values.shape[0]
    labellings = [
        check_labels(fit_predict(values, seed), n, what=f"fit_predict's labels (seed {seed})")[1]
        for seed in chosen
    ]
    ari = np.eye(len(chosen))
    for i, j in combinations(range(len(chosen)), 2):
        ari[i, j] = ari[j, i] = adjusted_rand_score(labellings[i], labellings[j])
    return SeedStability(seeds=chosen, ari=ari)
