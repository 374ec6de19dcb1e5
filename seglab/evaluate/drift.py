"""Drift between the customers a segmentation was trained on and the customers it scores.

The population stability index (PSI) of one feature compares the shares of customers in the
training deciles: ``sum((scored - training) * ln(scored / training))``. The usual reading,
also used here: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a shift large
enough that the segments may no longer describe the customers (refit them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DRIFT_COLUMNS", "DRIFT_WARNING", "describe", "stability_index", "stability_table"]

DRIFT_COLUMNS = ["feature", "psi", "reading", "outside_range"]
#: Above this PSI a feature has drifted enough to question the segmentation.
DRIFT_WARNING = 0.25
MODERATE = 0.1
#: Shares are floored at this value so that an empty bin does not give an infinite index.
FLOOR = 1e-4


def describe(values: np.ndarray, bins: int = 10) -> dict:
    """A feature's training distribution: inner decile ``edges``, bin ``shares``, ``low``, ``high``.

    Plain lists and numbers, so that it is saved with the segmentation as it is.

    >>> d = describe(np.arange(100.0))
    >>> len(d["edges"]), round(sum(d["shares"]), 6), d["low"], d["high"]
    (9, 1.0, 0.0, 99.0)
    """
    values = np.asarray(values, dtype=np.float64)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    shares = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return {
        "edges": edges.tolist(),
        "shares": (shares / len(values)).tolist(),
        "low": float(values.min()),
        "high": float(values.max()),
    }


def stability_index(training: dict, values: np.ndarray) -> float:
    """PSI of `values` against a training distribution from :func:`describe`.

    >>> d = describe(np.arange(1000.0))
    >>> stability_index(d, np.arange(1000.0))
    0.0
    >>> round(stability_index(d, np.arange(1000.0) + 300), 2)
    2.49
    """
    edges = np.asarray(training["edges"], dtype=np.float64)
    expected = np.maximum(np.asarray(training["shares"]), FLOOR)
    counts = np.bincount(
        np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="right"),
        minlength=len(edges) + 1,
    )
    actual = np.maximum(counts / max(len(values), 1), FLOOR)
    return round(float(np.sum((actual - expected) * np.log(actual / expected))), 6)


def stability_table(training: dict[str, dict], customers: pd.DataFrame) -> pd.DataFrame:
    """PSI per feature of `customers` against `training`, with its reading in words.

    Columns: ``feature``, ``psi``, ``reading`` (stable, moderate shift, large shift), and
    ``outside_range`` (customers beyond the training minimum or maximum).
    """
    rows = []
    for feature, distribution in training.items():
        values = customers[feature].to_numpy(dtype=np.float64)
        psi = stability_index(distribution, values)
        outside = int(np.sum((values < distribution["low"]) | (values > distribution["high"])))
        rows.append(
            {"feature": feature, "psi": psi, "reading": _reading(psi), "outside_range": outside}
        )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def _reading(psi: float) -> str:
    if psi > DRIFT_WARNING:
        return "large shift: the segments may no longer fit; consider refitting"
    if psi > MODERATE:
        return "moderate shift"
    return "stable"
