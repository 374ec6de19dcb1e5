"""Named feature scalings, each a scikit-learn transformer.

>>> import numpy as np
>>> make_scaler("log_standard").fit_transform(np.array([[0.0], [np.e - 1]])).ravel()
array([-1.,  1.])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from seglab.registry import Registry

__all__ = ["SCALERS", "make_scaler", "signed_log1p"]

SCALERS: Registry[Callable[[], TransformerMixin]] = Registry("scaler")


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)``: log1p for non-negative values, mirrored for negative ones.

    Net revenue can be negative after returns; the mirror keeps such customers finite and ordered.
    """
    return np.sign(x) * np.log1p(np.abs(x))


def make_scaler(name: str) -> TransformerMixin:
    """Build a fresh, unfitted scaler by name (see ``SCALERS.names()``)."""
    return SCALERS.get(name)()


SCALERS.register("standard", StandardScaler)
SCALERS.register(
    "log_standard",
    lambda: make_pipeline(
        FunctionTransformer(signed_log1p, feature_names_out="one-to-one"), StandardScaler()
    ),
)
