"""What each segment is, in original units: sizes, revenue shares, feature means."""

from __future__ import annotations

import pandas as pd

__all__ = ["profile_segments", "standardised_differences"]


def profile_segments(
    features: pd.DataFrame, labels: pd.Series, *, revenue: str = "monetary_total"
) -> pd.DataFrame:
    """Size, revenue and mean features per segment, in the features' original units.

    Parameters
    ----------
    features : DataFrame
        Unscaled customer features, one row per customer.
    labels : Series
        Segment of each customer, aligned with `features`.
    revenue : str
        Column holding each customer's revenue.

    Returns
    -------
    DataFrame
        Indexed by segment: ``customers``, ``share``, ``revenue``, ``revenue_share``, then the mean
        of every feature.

    Examples
    --------
    >>> f = pd.DataFrame({"monetary_total": [10.0, 30.0, 60.0]})
    >>> profile_segments(f, pd.Series([0, 0, 1]))[["customers", "revenue_share"]]
             customers  revenue_share
    segment
    0                2            0.4
    1                1            0.6
    """
    grouped = features.groupby(labels.rename("segment").to_numpy())
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped[revenue].sum(),
        }
    )
    table["share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    table = table[["customers", "share", "revenue", "revenue_share"]]
    table = table.join(grouped.mean().add_prefix("mean_"))
    table.index.name = "segment"
    return table


def standardised_differences(features: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Each segment's feature means minus the base mean, in units of the base standard deviation.

    Constant features give 0 rather than NaN.
    """
    spread = features.std(ddof=0).replace(0.0, 1.0)
    means = features.groupby(labels.rename("segment").to_numpy()).mean()
    table = (means - features.mean()) / spread
    table.index.name = "segment"
    return table
