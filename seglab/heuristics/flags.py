"""Flags the rules read (blacklist, competitor customer, occasional): from a file, a column, or off.

A flag file lists customer ids (one per line, or a ``customer_id`` column); ids that are not
customers in scope are counted and reported, not an error. A flag column holds true/false words.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.errors import ConfigError
from seglab.heuristics.rules import unknown_column
from seglab.heuristics.schemes import DEFAULT_FLAGS, FlagSource
from seglab.registry import suggest

__all__ = ["attach_flags", "read_id_list"]

_TRUE = {"true", "yes", "y", "t", "1", "x"}
_FALSE = {"false", "no", "n", "f", "0", ""}


@functools.cache
def read_id_list(path: str | Path) -> list[str]:
    """Customer ids listed in a file, as text, in file order, without duplicates.

    Parameters
    ----------
    path : path-like
        A ``.csv`` file with a ``customer_id`` column, or a text file with one id per line
        (blank lines and ``#`` comments ignored; a first line ``customer_id`` is a header).

    Returns
    -------
    list of str
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"id list '{path}' does not exist; give a file with one customer_id per line"
        )
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "customer_id" not in frame.columns:
            known = [str(c) for c in frame.columns]
            raise ConfigError(
                f"id list '{path}' has no 'customer_id' column"
                f"{suggest('customer_id', known) or '.'} Columns: {', '.join(known)}."
            )
        values = frame["customer_id"].str.strip().tolist()
    else:
        values = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        values = [v for v in values if v and not v.startswith("#")]
        if values and values[0] == "customer_id":
            values = values[1:]
    return list(dict.fromkeys(v for v in values if v))


def attach_flags(
    table: pd.DataFrame, flags: Mapping[str, FlagSource] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the flag columns (true/false) the rules use; report where each came from.

    Parameters
    ----------
    table : DataFrame
        The customer table, indexed by customer_id.
    flags : mapping of str to FlagSource, optional
        Configured sources. :data:`DEFAULT_FLAGS` always get a column: from their source, else
        from an attribute column of the same name, else False for everyone.

    Returns
    -------
    table : DataFrame
        A copy with one boolean column per flag.
    report : DataFrame
        ``flag``, ``source``, ``customers`` (flagged), ``listed_ids`` (ids in the file),
        ``unknown_ids`` (ids in the file that are not customers in the table).
    """
    flags = dict(flags or {})
    columns: dict[str, pd.Series] = {}
    rows = []
    for name in dict.fromkeys([*DEFAULT_FLAGS, *flags]):
        source = flags.get(name)
        listed = unknown = 0
        if source is not None and source.file is not None:
            if name in table.columns:
                raise ConfigError(
                    f"flag '{name}' comes from the file {source.file}, but the customer table "
                    f"already has a column '{name}'; rename the flag or drop the file"
                )
            ids = read_id_list(source.file)
            values, unknown = _match_ids(table.index, ids)
            listed, origin = len(ids), f"file {source.file}"
        else:
            column = source.column if source is not None else name
            if source is not None and column != name and name in table.columns:
                raise ConfigError(
                    f"flag '{name}' comes from column '{column}', but the table already has a "
                    f"column '{name}'; rename the flag"
                )
            if column in table.columns:
                values, origin = _as_flag(table[column], column), f"column {column}"
            elif source is not None:
                raise unknown_column(
                    column, [str(c) for c in table.columns], where=f"flag '{name}'"
                )
            else:
                values, origin = np.zeros(len(table), dtype=bool), "not configured (all false)"
        columns[name] = pd.Series(values, index=table.index, dtype=bool)
        rows.append((name, origin, int(columns[name].sum()), listed, unknown))
    out = table.drop(columns=[c for c in columns if c in table.columns]).assign(**columns)
    report = pd.DataFrame(
        rows, columns=["flag", "source", "customers", "listed_ids", "unknown_ids"]
    )
    return out, report


def _match_ids(index: pd.Index, ids: list[str]) -> tuple[np.ndarray, int]:
    """Which customers of `index` are listed, and how many listed ids are not customers.

    Ids are compared as numbers when the index is numeric, else as text.
    """
    if pd.api.types.is_numeric_dtype(index.dtype):
        keys = pd.to_numeric(pd.Series(ids, dtype=object), errors="coerce")
        known = keys.isin(index).to_numpy()
        return index.isin(keys.dropna()), int((~known).sum())
    text = index.astype(str)
    keys = pd.Index(ids)
    return text.isin(keys), int((~keys.isin(text)).sum())


def _as_flag(series: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return np.nan_to_num(values, nan=0.0) != 0
    text = series.astype(object).where(series.notna(), "").map(lambda v: str(v).strip().lower())
    bad = sorted(set(text) - _TRUE - _FALSE)
    if bad:
        raise ConfigError(
            f"flag column '{name}' holds values that are not true/false: {bad[:5]}; "
            f"use {sorted(_TRUE)} or {sorted(_FALSE)}"
        )
    return text.isin(_TRUE).to_numpy()
