"""Customer features: one customer-by-feature table as of a date, computed in the engine."""

from seglab.features.catalogue import (
    DEFAULT_FEATURE_SETS,
    FEATURES,
    Feature,
    categorical_columns,
    describe_features,
    resolve_feature_set,
)
from seglab.features.compute import compute_features
from seglab.features.settings import FeaturesConfig, MixedFeatureSet
from seglab.features.table import Features

__all__ = [
    "DEFAULT_FEATURE_SETS",
    "FEATURES",
    "Feature",
    "Features",
    "FeaturesConfig",
    "MixedFeatureSet",
    "categorical_columns",
    "compute_features",
    "describe_features",
    "resolve_feature_set",
]
