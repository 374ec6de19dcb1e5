"""Cluster: named scalers and a registry of estimators (k-means, fuzzy c-means, hierarchical).

:mod:`~seglab.cluster.algorithms` holds the registry and the fitting functions,
:mod:`~seglab.cluster.scaling` the scalers; one module per algorithm family lives beside them.
"""

from seglab.cluster.algorithms import ALGORITHMS, FittedSolution, fit_many
from seglab.cluster.scaling import SCALERS, FeatureScaler

__all__ = ["ALGORITHMS", "SCALERS", "FeatureScaler", "FittedSolution", "fit_many"]
