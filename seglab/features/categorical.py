"""The categorical columns of a mixed feature set, as the codes the mixed algorithms cluster.

A mixed feature set (:class:`~seglab.features.settings.MixedFeatureSet`) names columns of the
customer attribute table. Their values are read as text; a missing value is the category
``(missing)``, so that every customer can be clustered (k-prototypes refuses missing values).
Categories are sorted, so their codes do not depend on the order of the customers; a category
the training customers did not have gets the code -1 when new customers are scored: it matches
no segment's category.

>>> import pandas as pd
>>> customers = pd.DataFrame({"region": ["North", None, "South", "North"]})
>>> categories = learn_categories(customers, ["region"])
>>> categories
(('(missing)', 'North', 'South'),)
>>> encode_categories(pd.DataFrame({"region": ["South", "West"]}), ["region"], categories)
array([[ 2.],
       [-1.]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.features.catalogue import FEATURES

__all__ = [
    "MISSING_CATEGORY",
    "as_categories",
    "check_attribute_columns",
    "encode_categories",
    "learn_categories",
]

#: The category of a customer without a value (no attribute row, or an empty cell).
MISSING_CATEGORY = "(missing)"


def check_attribute_columns(customers: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise ConfigError naming the `columns` the customer table lacks, and listing its
    attribute columns (those that are not computed features).

    Parameters
    ----------
    customers : DataFrame
        The customer table: features, then the attribute columns.
    columns : sequence of str
        The categorical columns a feature set names.
    where : str
        The feature set, for the message (``feature set 'firmographics'``).
    """
    missing = [column for column in columns if column not in customers.columns]
    if not missing:
        return
    available = [str(c) for c in customers.columns if c not in FEATURES]
    listed = ", ".join(available) if available else "none (is data.customers set?)"
    raise ConfigError(
        f"{where}: categorical column(s) {', '.join(missing)} are not in the customer attribute "
        f"table (data.customers); its columns are: {listed}. Fix the names under "
        "features.sets or add the columns to the attribute table"
    )


def as_categories(values: pd.Series) -> pd.Series:
    """A column's values as category text; missing values are ``(missing)``."""
    return values.astype(object).where(values.notna(), MISSING_CATEGORY).astype(str)


def learn_categories(
    customers: pd.DataFrame, columns: Sequence[str]
) -> tuple[tuple[str, ...], ...]:
    """The sorted categories of every column (missing values are ``(missing)``)."""
    return tuple(tuple(sorted(as_categories(customers[column]).unique())) for column in columns)


def encode_categories(
    customers: pd.DataFrame, columns: Sequence[str], categories: Sequence[Sequence[str]]
) -> np.ndarray:
    """The codes of the customers' categories, shape (n_customers, n_columns), as floats (they
    sit beside the scaled numbers in one array); -1 for a category not in `categories`."""
    codes = np.empty((len(customers), len(columns)), dtype=np.float64)
    for j, (column, known) in enumerate(zip(columns, categories, strict=True)):
        codes[:, j] = pd.Index(list(known)).get_indexer(as_categories(customers[column]))
    return codes
