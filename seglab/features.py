"""Customer features as of a date, computed with Ibis on an embedded DuckDB engine.

Each feature is registered with a one-line definition, a unit and the dimension it describes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd

from seglab.errors import DataError
from seglab.registry import Registry

__all__ = ["FEATURES", "Feature", "compute_features"]


@dataclass(frozen=True)
class Feature:
    """A named customer feature and what it means."""

    name: str
    definition: str
    unit: str
    dimension: str


FEATURES: Registry[Feature] = Registry("feature")
for _feature in (
    Feature("recency_days", "days from the last purchase to as_of", "days", "recency"),
    Feature(
        "frequency",
        "number of orders (distinct order ids, or distinct purchase days without order ids)",
        "orders",
        "frequency",
    ),
    Feature("monetary_total", "net revenue up to as_of", "currency", "monetary"),
    Feature(
        "monetary_mean", "average order value: monetary_total / frequency", "currency", "monetary"
    ),
    Feature("tenure_days", "days from the first purchase to as_of", "days", "tenure"),
):
    FEATURES.register(_feature.name, _feature)


def compute_features(
    transactions: pd.DataFrame, as_of: dt.date, names: tuple[str, ...] | list[str] | None = None
) -> pd.DataFrame:
    """Compute customer features from contract-shaped transactions on or before `as_of`.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions (``customer_id``, ``order_date``, ``amount``, optional ``order_id``).
    as_of : date
        The report date; transactions after it are ignored.
    names : sequence of str, optional
        Features to return, in this order; all registered ones by default.

    Returns
    -------
    DataFrame
        One row per customer with a purchase on or before `as_of`, indexed by ``customer_id``
        (sorted), one float64 column per feature.
    """
    names = list(names) if names is not None else FEATURES.names()
    for name in names:
        FEATURES.get(name)
    table = ibis.memtable(transactions)
    in_scope = table.filter(table.order_date < ibis.timestamp(as_of + dt.timedelta(days=1)))
    purchase_day = in_scope.order_date.date()
    order_key = in_scope.order_id if "order_id" in transactions.columns else purchase_day
    per_customer = in_scope.group_by("customer_id").aggregate(
        first_day=purchase_day.min(),
        last_day=purchase_day.max(),
        frequency=order_key.nunique(),
        monetary_total=in_scope.amount.sum(),
    )
    report_day = ibis.date(as_of)
    features = per_customer.mutate(
        recency_days=report_day.delta(per_customer.last_day, unit="day"),
        tenure_days=report_day.delta(per_customer.first_day, unit="day"),
        monetary_mean=per_customer.monetary_total / per_customer.frequency,
    ).order_by("customer_id")
    frame = features.select("customer_id", *names).to_pandas()
    if frame.empty:
        first = transactions["order_date"].min()
        raise DataError(
            f"no transactions on or before as_of {as_of}; the first is on {first:%Y-%m-%d}. "
            "Choose a later as_of."
        )
    return frame.set_index("customer_id").astype("float64")
