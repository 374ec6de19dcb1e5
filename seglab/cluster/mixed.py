"""The input contract of mixed-type data: which columns are numbers, which are categories.

The mixed-type estimators (:class:`~seglab.cluster.kprototypes.KPrototypesClustering`,
:class:`~seglab.cluster.gower_hierarchical.GowerHierarchical`) and the Gower functions take a
table whose columns are either numeric or categorical, and split it here, once:

- ``categorical`` names the categorical columns by position (integers) or by name (strings, X
  must then be a DataFrame). ``None`` infers them from a DataFrame's dtypes: object, string,
  category and boolean columns are categorical, the others numeric; an array then has no
  categorical column.
- Numeric columns become float64 (NaN where a value is missing: None, NaN, ``pd.NA``). A value
  that is not a number (a string in a numeric column) is an error naming the column.
- Categorical columns become integer codes: ``-1`` where the value is missing, ``-2`` (only when
  encoding new data against fitted categories) for a category not seen in ``fit``. Categories
  are numbered in order of first appearance.

Numeric-only estimators call :func:`check_numeric_columns` to refuse categorical columns with an
error that names them.

>>> import pandas as pd
>>> table = pd.DataFrame({"spend": [10.0, 25.0, None], "channel": ["web", "shop", "web"]})
>>> data = split_mixed(table, None)
>>> data.numeric.tolist(), data.codes.tolist(), data.categories[0].tolist()
([[10.0], [25.0], [nan]], [[0], [1], [0]], ['web', 'shop'])
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from seglab.cluster.validation import ClusteringDataError, ClusteringParameterError

__all__ = [
    "MISSING",
    "UNKNOWN",
    "MixedData",
    "check_mixed",
    "check_numeric_columns",
    "encode_parts",
    "split_mixed",
]

#: Code of a missing categorical value.
MISSING = -1
#: Code of a category that was not seen in ``fit`` (only when encoding new data).
UNKNOWN = -2


@dataclass(frozen=True)
class MixedData:
    """A table split into its numeric and its categorical part, rows aligned.

    Attributes
    ----------
    numeric : ndarray of shape (n_samples, n_numeric)
        Numeric columns as float64; NaN where missing.
    codes : ndarray of shape (n_samples, n_categorical)
        Categorical columns as int64 codes into ``categories``; ``MISSING`` (-1) where missing,
        ``UNKNOWN`` (-2) for a category the fitted categories lack.
    categories : tuple of ndarray
        The categories of each categorical column; code ``c`` stands for ``categories[j][c]``.
    numeric_columns, categorical_columns : ndarray of int
        Positions of the numeric and of the categorical columns in the table.
    numeric_names, categorical_names : tuple of str
        How errors name each column: ``'city' (column 3)`` or ``column 3``.
    """

    numeric: np.ndarray
    codes: np.ndarray
    categories: tuple[np.ndarray, ...]
    numeric_columns: np.ndarray
    categorical_columns: np.ndarray
    numeric_names: tuple[str, ...]
    categorical_names: tuple[str, ...]

    def in_table_order(self, values: np.ndarray) -> np.ndarray:
        """Per-feature ``values`` given in the table's column order, reordered numeric first."""
        return np.asarray(values)[np.concatenate([self.numeric_columns, self.categorical_columns])]

    @property
    def n_samples(self) -> int:
        return self.numeric.shape[0]

    def refuse_missing(self, what: str) -> None:
        """Raise ClusteringDataError naming the first column with a missing value."""
        for j, name in enumerate(self.numeric_names):
            rows = np.flatnonzero(np.isnan(self.numeric[:, j]))
            if rows.size:
                raise ClusteringDataError(
                    f"{what} cannot handle missing values (NaN, None): numeric {name} has "
                    f"{rows.size} (rows {rows[:5].tolist()}); impute them, or use "
                    "GowerHierarchical, which skips a missing value"
                )
        for j, name in enumerate(self.categorical_names):
            rows = np.flatnonzero(self.codes[:, j] == MISSING)
            if rows.size:
                raise ClusteringDataError(
                    f"{what} cannot handle missing values (NaN, None): categorical {name} has "
                    f"{rows.size} (rows {rows[:5].tolist()}); fill them (e.g. with a 'missing' "
                    "category), or use GowerHierarchical, which skips a missing value"
                )

    def refuse_infinite(self) -> None:
        """Raise ClusteringDataError naming the first numeric column with an infinite value."""
        for j, name in enumerate(self.numeric_names):
            rows = np.flatnonzero(np.isinf(self.numeric[:, j]))
            if rows.size:
                raise ClusteringDataError(
                    f"numeric {name} has {rows.size} infinite value(s) (rows "
                    f"{rows[:5].tolist()}); replace them before clustering"
                )


# ---------------------------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------------------------


def _column_names(X) -> list | None:
    return list(X.columns) if isinstance(X, pd.DataFrame) else None


def _label(position: int, names: list | None) -> str:
    return (
        f"column {position}" if names is None else f"{str(names[position])!r} (column {position})"
    )


def _is_categorical_dtype(dtype) -> bool:
    return pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype)


def categorical_positions(X, categorical, n_features: int) -> np.ndarray:
    """Positions of the categorical columns of ``X`` (sorted), from ``categorical``.

    Parameters
    ----------
    X : DataFrame or array-like
        The table as the caller passed it (a DataFrame keeps its column names and dtypes).
    categorical : sequence of int or of str, or None
        Positions or column names of the categorical columns; None infers them from a
        DataFrame's dtypes (object, string, category, boolean) and means none for an array.
    n_features : int
        Number of columns of ``X``.
    """
    names = _column_names(X)
    if categorical is None:
        if names is None:
            return np.empty(0, dtype=np.intp)
        dtypes = X.dtypes.tolist()
        return np.array([j for j, d in enumerate(dtypes) if _is_categorical_dtype(d)], np.intp)
    entries = list(categorical)
    if not entries:
        return np.empty(0, dtype=np.intp)
    if all(isinstance(e, str) for e in entries):
        if names is None:
            raise ClusteringDataError(
                f"categorical={entries} names columns, but X has no column names; pass a "
                "DataFrame or the positions of the categorical columns"
            )
        missing = [e for e in entries if e not in names]
        if missing:
            raise ClusteringDataError(
                f"categorical column(s) {missing} are not in X; X has the columns "
                f"{[str(n) for n in names]}"
            )
        positions = [names.index(e) for e in entries]
    elif all(isinstance(e, Integral) and not isinstance(e, bool) for e in entries):
        positions = [int(e) for e in entries]
        wrong = [p for p in positions if not 0 <= p < n_features]
        if wrong:
            raise ClusteringDataError(
                f"categorical position(s) {wrong} are outside X's columns (n_features="
                f"{n_features}); use positions from 0 to {n_features - 1}"
            )
    else:
        raise ClusteringParameterError(
            f"The 'categorical' parameter must be a list of column positions (int) or of column "
            f"names (str), not mixed. Got {entries!r} instead."
        )
    if len(set(positions)) != len(positions):
        raise ClusteringParameterError(
            f"The 'categorical' parameter names a column twice. Got {entries!r} instead."
        )
    return np.array(sorted(positions), dtype=np.intp)


def _to_float(values: np.ndarray, name: str) -> np.ndarray:
    """One numeric column as float64, NaN where missing; a non-number names the column.

    A string is a ClusteringDataError (the column is categorical); another object (a dict, a
    list) is the TypeError ``float()`` raises, as for any scikit-learn estimator.
    """
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    series = pd.Series(values, dtype=object)
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna().to_numpy() & ~series.isna().to_numpy()
    if bad.any():
        first = series[bad].iloc[0]
        if not isinstance(first, str | bytes):
            raise TypeError(
                f"numeric {name} holds {type(first).__name__} values: float() argument must be "
                "a string or a real number"
            )
        raise ClusteringDataError(
            f"numeric {name} holds non-numeric values such as {first!r} ({int(bad.sum())} "
            "row(s)); list it in categorical=[...] if it is a category, or drop it"
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _encode(values: np.ndarray, categories: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes of one categorical column and its categories (learnt when ``categories`` is None)."""
    if categories is None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    codes = pd.Index(categories, dtype=object).get_indexer(values).astype(np.int64)
    missing = pd.isna(values)
    codes[(codes == MISSING) & ~missing] = UNKNOWN
    codes[missing] = MISSING
    return codes, categories


def _split(
    array: np.ndarray,
    numeric: np.ndarray,
    categorical: np.ndarray,
    labels: list[str],
    categories: tuple[np.ndarray, ...] | None,
) -> MixedData:
    """Split a validated 2-D array into float numeric columns and categorical codes."""
    n_samples = array.shape[0]
    numeric_names = tuple(labels[j] for j in numeric)
    categorical_names = tuple(labels[j] for j in categorical)
    num = np.empty((n_samples, numeric.size), dtype=np.float64)
    for out, (j, name) in enumerate(zip(numeric, numeric_names, strict=True)):
        num[:, out] = _to_float(array[:, j], name)
    codes = np.empty((n_samples, categorical.size), dtype=np.int64)
    learnt = []
    for out, j in enumerate(categorical):
        fitted = None if categories is None else categories[out]
        codes[:, out], cats = _encode(array[:, j], fitted)
        learnt.append(cats)
    return MixedData(
        num, codes, tuple(learnt), numeric, categorical, numeric_names, categorical_names
    )


def _validate(estimator, X, *, reset: bool) -> np.ndarray:
    """``X`` as a 2-D array of any dtype (scikit-learn's checks of shape and feature names)."""
    try:
        if estimator is None:
            return check_array(X, dtype=None, ensure_all_finite=False)
        return validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite=False)
    except ValueError as error:
        raise ClusteringDataError(str(error)) from error


def _labels(names: list | None, n_features: int) -> list[str]:
    return [_label(j, names) for j in range(n_features)]


def check_mixed(estimator, X, categorical, *, reset: bool) -> MixedData:
    """Validate and split ``X`` for a mixed-type estimator.

    With ``reset`` (in ``fit``) the column roles and categories are learnt and stored on the
    estimator as ``numeric_columns_``, ``categorical_columns_`` and ``categories_`` (with
    scikit-learn's ``n_features_in_`` and ``feature_names_in_``); without (``predict``) they
    are read from it, and categories not seen in ``fit`` get the code ``UNKNOWN``.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator being fitted or applied.
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table.
    categorical : sequence of int or str, or None
        See :func:`categorical_positions`; only read when ``reset``.
    reset : bool
        Whether this is ``fit``.
    """
    array = _validate(estimator, X, reset=reset)
    if not reset:
        fitted = getattr(estimator, "feature_names_in_", None)
        labels = _labels(None if fitted is None else list(fitted), array.shape[1])
        return _split(
            array,
            estimator.numeric_columns_,
            estimator.categorical_columns_,
            labels,
            tuple(estimator.categories_),
        )
    data, numeric, categorical = _split_table(X, categorical, array)
    estimator.numeric_columns_ = numeric
    estimator.categorical_columns_ = categorical
    estimator.categories_ = list(data.categories)
    return data


def _split_table(X, categorical, array: np.ndarray) -> tuple[MixedData, np.ndarray, np.ndarray]:
    """The split of ``X`` (validated as ``array``) and the positions of both kinds of column."""
    cat = categorical_positions(X, categorical, array.shape[1])
    num = np.setdiff1d(np.arange(array.shape[1]), cat).astype(np.intp)
    return _split(array, num, cat, _labels(_column_names(X), array.shape[1]), None), num, cat


def split_mixed(X, categorical) -> MixedData:
    """Split a table into its numeric and categorical parts.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The table.
    categorical : sequence of int or str, or None
        See :func:`categorical_positions`.
    """
    return _split_table(X, categorical, _validate(None, X, reset=True))[0]


def _part(values, what: str) -> tuple[np.ndarray | None, list[str]]:
    """One part given to :func:`encode_parts` as a 2-D object array, and its column labels."""
    if values is None:
        return None, []
    names = _column_names(values)
    array = np.asarray(values.to_numpy(dtype=object) if names is not None else values, object)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ClusteringDataError(
            f"{what} must be a 2-D table (customers x columns); got shape {array.shape}"
        )
    if names is None:
        return array, [f"{what} column {j}" for j in range(array.shape[1])]
    return array, [f"{str(n)!r} ({what} column {j})" for j, n in enumerate(names)]


def encode_parts(numeric, categorical) -> MixedData:
    """Encode a numeric and a categorical table given apart (rows aligned; either may be None).

    Parameters
    ----------
    numeric : array-like of shape (n_samples, n_numeric) or None
        Numbers; NaN or None where missing.
    categorical : array-like of shape (n_samples, n_categorical) or None
        Any hashable values; None, NaN or ``pd.NA`` where missing.
    """
    num, num_labels = _part(numeric, "numeric")
    cat, cat_labels = _part(categorical, "categorical")
    given = [a for a in (num, cat) if a is not None]
    if not given:
        raise ClusteringDataError("pass a numeric table, a categorical table or both; got none")
    n_rows = sorted({a.shape[0] for a in given})
    if len(n_rows) > 1:
        raise ClusteringDataError(
            f"numeric and categorical have different numbers of rows ({n_rows}); "
            "pass the same customers in the same order"
        )
    if n_rows[0] == 0:
        raise ClusteringDataError("the tables have no rows; pass at least one customer")
    empty = np.empty((n_rows[0], 0), dtype=object)
    array = np.concatenate([empty if num is None else num, empty if cat is None else cat], axis=1)
    p = len(num_labels)
    positions = np.arange(array.shape[1], dtype=np.intp)
    return _split(array, positions[:p], positions[p:], num_labels + cat_labels, None)


# ---------------------------------------------------------------------------------------------
# Numeric-only estimators
# ---------------------------------------------------------------------------------------------


def check_numeric_columns(X, what: str) -> None:
    """Raise ClusteringDataError naming the categorical columns of ``X``, if it has any.

    A DataFrame's category columns count as categorical, and so do its string and object
    columns (and those of an object array) that hold text; numbers stored as objects and
    boolean columns pass. Numeric arrays pass without a look at their values.

    Parameters
    ----------
    X : DataFrame or array-like
        The input of a numeric-only estimator.
    what : str
        The estimator, for the message.

    Examples
    --------
    >>> import pandas as pd
    >>> check_numeric_columns(pd.DataFrame({"spend": [1.0], "city": ["Oslo"]}), "GMM")
    Traceback (most recent call last):
    ...
    seglab.cluster.validation.ClusteringDataError: GMM needs numeric columns only; ...
    """
    names = _column_names(X)
    if names is not None:
        suspects = [j for j, d in enumerate(X.dtypes.tolist()) if _is_categorical_dtype(d)]
        columns = [(j, X.iloc[:, j].to_numpy(dtype=object)) for j in suspects]
        declared = [j for j in suspects if isinstance(X.dtypes.iloc[j], pd.CategoricalDtype)]
    else:
        array = X if isinstance(X, np.ndarray) else None
        if array is None or array.dtype != object or array.ndim != 2:
            return
        columns = [(j, array[:, j]) for j in range(array.shape[1])]
        declared = []
    found = list(declared)
    for j, values in columns:
        if j in declared:
            continue
        try:
            _to_float(values, _label(j, names))
        except ClusteringDataError:
            found.append(j)
    if found:
        listed = ", ".join(_label(j, names) for j in sorted(found))
        raise ClusteringDataError(
            f"{what} needs numeric columns only; categorical: {listed}. Drop or encode them, "
            "or cluster the mixed table with KPrototypesClustering or GowerHierarchical"
        )
