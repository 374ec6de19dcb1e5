"""Cluster: named scalers and a registry of estimators (k-means, fuzzy c-means, hierarchical).

:mod:`~seglab.cluster.algorithms` holds the registry and the fitting functions,
:mod:`~seglab.cluster.scaling` the scalers; one module per algorithm family lives beside them.
The names below are imported on first use, so that importing one module of this package (say
:mod:`~seglab.cluster.fuzzy_core`) does not import scikit-learn.
"""

from importlib import import_module

#: Public name -> the module that defines it.
_LAZY = {
    "ALGORITHMS": "seglab.cluster.algorithms",
    "FittedSolution": "seglab.cluster.algorithms",
    "fit_many": "seglab.cluster.algorithms",
    "SCALERS": "seglab.cluster.scaling",
    "FeatureScaler": "seglab.cluster.scaling",
}

__all__ = ["ALGORITHMS", "SCALERS", "FeatureScaler", "FittedSolution", "fit_many"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seglab.cluster' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
