"""The feature stage's result: the customers in scope as of a date, features then attributes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

__all__ = ["Features"]


@dataclass(frozen=True)
class Features:
    """The customer table as of a date.

    Attributes
    ----------
    as_of : date
        The report date the features describe.
    customers : DataFrame
        One row per customer in scope, indexed by ``customer_id``: the features (float64), then
        the attribute columns (missing attributes are NaN). Customers with attributes but no
        purchase up to `as_of` are not in scope.
    names : tuple of str
        The feature columns, in order.
    """

    as_of: dt.date
    customers: pd.DataFrame
    names: tuple[str, ...]

    @classmethod
    def join(
        cls, as_of: dt.date, features: pd.DataFrame, attributes: pd.DataFrame | None
    ) -> Features:
        """The features of every customer in scope joined with their attributes."""
        customers = features if attributes is None else features.join(attributes, how="left")
        return cls(as_of, customers, tuple(features.columns))

    @property
    def table(self) -> pd.DataFrame:
        """The feature columns only: a view of ``customers`` when they lead it (as
        :meth:`join` builds it), so that the grid does not hold a second feature table."""
        leading = self.customers.iloc[:, : len(self.names)]
        if tuple(leading.columns) == self.names:
            return leading
        return self.customers[list(self.names)]
