"""Customer features: one customer-by-feature table as of a date, computed in the engine."""

from seglab.features.catalogue import (
    DEFAULT_FEATURE_SETS,
    FEATURES,
    Feature,
    describe_features,
    resolve_feature_set,
)
from seglab.features.compute import compute_features
from seglab.features.settings import FeaturesConfig
from seglab.features.table import Features

__all__ = [
    "DEFAULT_FEATURE_SETS",
    "FEATURES",
    "Feature",
    "Features",
    "FeaturesConfig",
    "compute_features",
    "describe_features",
    "resolve_feature_set",
]
