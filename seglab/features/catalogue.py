"""The catalogue of customer features: each named, defined, with its unit and dimension.

Named feature sets pick columns for clustering (``rfm``, ``value``, ``behaviour``, ``trend``,
``full``); a config adds its own under ``features.sets``. Nothing here runs a query: the
formulas live in :mod:`seglab.features.compute`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from seglab.registry import Registry

__all__ = [
    "DEFAULT_FEATURE_SETS",
    "FEATURES",
    "Feature",
    "categorical_columns",
    "describe_features",
    "resolve_feature_set",
]


@dataclass(frozen=True)
class Feature:
    """A named customer feature: what it means, its unit, its dimension, the columns it needs."""

    name: str
    definition: str
    unit: str
    dimension: str
    needs: tuple[str, ...] = ()


FEATURES: Registry[Feature] = Registry("feature")
for _feature in (
    Feature("recency_days", "days from the last purchase to as_of", "days", "recency"),
    Feature(
        "frequency",
        "number of orders: distinct order ids, or distinct purchase days without order ids",
        "orders",
        "frequency",
    ),
    Feature("frequency_days", "number of distinct purchase days", "days", "frequency"),
    Feature("monetary_total", "net revenue: purchases minus returns", "currency", "monetary"),
    Feature(
        "monetary_mean", "average order value: monetary_total / frequency", "currency", "monetary"
    ),
    Feature("tenure_days", "days from the first purchase to as_of", "days", "tenure"),
    Feature(
        "orders_per_month",
        "frequency per month of tenure (tenure counted as at least one month)",
        "orders / month",
        "frequency",
    ),
    Feature("active_months", "calendar months with a purchase", "months", "regularity"),
    Feature(
        "interpurchase_mean_days",
        "mean gap between consecutive purchase days (tenure_days with one purchase day)",
        "days",
        "regularity",
    ),
    Feature(
        "interpurchase_median_days",
        "median gap between consecutive purchase days (tenure_days with one purchase day)",
        "days",
        "regularity",
    ),
    Feature(
        "interpurchase_cv",
        "population std / mean of the gaps between purchase days (0 with fewer than two gaps)",
        "ratio",
        "regularity",
    ),
    Feature(
        "revenue_cv",
        "coefficient of variation of purchase revenue per calendar month, from the first "
        "purchase month to as_of's month, months without purchases counting as zero",
        "ratio",
        "regularity",
    ),
    Feature(
        "revenue_last_period",
        "purchase revenue in the last growth period (growth_months) up to as_of",
        "currency",
        "trend",
    ),
    Feature(
        "revenue_previous_period",
        "purchase revenue in the growth period before the last one",
        "currency",
        "trend",
    ),
    Feature(
        "revenue_growth",
        "symmetric growth (last - previous) / mean(last, previous) of the two periods' revenue; "
        "in [-2, 2], 0 when both are zero",
        "ratio",
        "trend",
    ),
    Feature(
        "revenue_last_quarter",
        "purchase revenue in the last recent_days (default 91) days up to as_of",
        "currency",
        "trend",
    ),
    Feature(
        "orders_last_quarter",
        "orders in the last recent_days (default 91) days up to as_of",
        "orders",
        "trend",
    ),
    Feature(
        "revenue_share",
        "monetary_total / total monetary_total of all customers in scope",
        "share",
        "monetary",
    ),
    Feature("product_breadth", "distinct products bought", "products", "breadth", ("product_id",)),
    Feature(
        "category_breadth", "distinct categories bought", "categories", "breadth", ("category",)
    ),
    Feature("returns_rate", "returned revenue / gross purchase revenue", "share", "returns"),
    Feature(
        "returned_orders",
        "return (cancellation) orders: distinct order ids, or days without order ids",
        "orders",
        "returns",
    ),
    Feature(
        "btyd_frequency",
        "buy-till-you-die frequency: repeat purchase days (distinct purchase days - 1)",
        "days",
        "frequency",
    ),
    Feature(
        "btyd_recency",
        "buy-till-you-die recency: days from the first to the last purchase",
        "days",
        "recency",
    ),
    Feature(
        "btyd_T", "buy-till-you-die age: days from the first purchase to as_of", "days", "tenure"
    ),
    Feature(
        "btyd_monetary",
        "buy-till-you-die monetary value: mean revenue of repeat purchase days (0 without any)",
        "currency",
        "monetary",
    ),
):
    FEATURES.register(_feature.name, _feature)

DEFAULT_FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "rfm": ("recency_days", "frequency", "monetary_total"),
    "value": ("recency_days", "frequency", "monetary_total", "monetary_mean", "tenure_days"),
    "behaviour": (
        "orders_per_month",
        "interpurchase_median_days",
        "interpurchase_cv",
        "monetary_mean",
        "product_breadth",
        "returns_rate",
    ),
    "trend": ("recency_days", "revenue_growth", "revenue_cv", "active_months"),
    "full": tuple(FEATURES.names()),
}


def resolve_feature_set(name: str, extra_sets: dict[str, object] | None = None) -> tuple:
    """The (numeric) features of the set called `name`, from the defaults or the config's sets.

    A config's set is a list of features or a mixed set (``numeric`` and ``categorical``
    members, :class:`~seglab.features.settings.MixedFeatureSet`): its ``numeric`` part here.

    >>> resolve_feature_set("rfm")
    ('recency_days', 'frequency', 'monetary_total')
    """
    members = _registry(extra_sets).get(name)
    return tuple(getattr(members, "numeric", members))


def categorical_columns(name: str, extra_sets: dict[str, object] | None = None) -> tuple:
    """The attribute columns the set called `name` clusters as categories (none for a list).

    >>> categorical_columns("rfm")
    ()
    """
    return tuple(getattr(_registry(extra_sets).get(name), "categorical", ()))


def _registry(extra_sets: dict[str, object] | None) -> Registry:
    registry: Registry[object] = Registry("feature set")
    for set_name, members in {**DEFAULT_FEATURE_SETS, **(extra_sets or {})}.items():
        registry.register(set_name, members if hasattr(members, "numeric") else tuple(members))
    return registry


def describe_features(names: Iterable[str] | None = None) -> pd.DataFrame:
    """Definitions of the named features (all by default): dimension, unit, definition.

    >>> describe_features(["recency_days"]).loc["recency_days", "unit"]
    'days'
    """
    names = list(names) if names is not None else FEATURES.names()
    rows = [FEATURES.get(name) for name in names]
    return pd.DataFrame(
        {
            "dimension": [f.dimension for f in rows],
            "unit": [f.unit for f in rows],
            "definition": [f.definition for f in rows],
        },
        index=pd.Index(names, name="feature"),
    )
