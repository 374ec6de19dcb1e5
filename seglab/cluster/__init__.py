"""Clustering: named scalers and a registry of estimators (k-means, fuzzy c-means, hierarchical)."""

from seglab.cluster.algorithms import (
    ALGORITHMS,
    AlgorithmSpec,
    FittedSolution,
    check_params,
    fit_clusters,
    fit_many,
    make_clusterer,
    parameter_names,
    relabel_by_size,
)
from seglab.cluster.scaling import SCALERS, FeatureScaler

__all__ = [
    "ALGORITHMS",
    "SCALERS",
    "AlgorithmSpec",
    "FeatureScaler",
    "FittedSolution",
    "check_params",
    "fit_clusters",
    "fit_many",
    "make_clusterer",
    "parameter_names",
    "relabel_by_size",
]
