"""Read transactions and customer attributes, apply the contract and the cleaning policy.

The embedded default dataset is generated here on first use (see ``data.synthetic`` in the config).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seglab import synth
from seglab.config import DataConfig
from seglab.errors import DataError, SchemaError
from seglab.schema import CleaningAccount, apply_contract, normalise_ids, resolve_mapping

__all__ = ["LoadedData", "ensure_synthetic", "fingerprint", "load", "read_table"]

log = logging.getLogger(__name__)

READERS = {
    ".parquet": pd.read_parquet,
    ".csv": pd.read_csv,
    ".xlsx": pd.read_excel,
}


@dataclass(frozen=True)
class LoadedData:
    """Clean contract-shaped transactions, optional attributes, and the cleaning account."""

    transactions: pd.DataFrame
    customers: pd.DataFrame | None
    cleaning: CleaningAccount


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet, CSV or Excel file into a DataFrame; errors name the file and the fix."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise SchemaError(
            f"'{path}': cannot read '{path.suffix}' files; use one of {', '.join(READERS)}"
        )
    if not path.is_file():
        raise DataError(f"'{path}' does not exist; check data.transactions / data.customers")
    try:
        frame = reader(path)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    if frame.shape[0] == 0:
        raise DataError(f"'{path}' holds no rows; point the config at a file with transactions")
    return frame


def ensure_synthetic(data: DataConfig) -> None:
    """Generate the synthetic files named in `data` if asked for and absent."""
    spec = data.synthetic
    if spec is None or data.transactions.exists():
        return
    log.info("generating %d synthetic customers into %s", spec.customers, data.transactions.parent)
    generated = synth.generate(
        spec.customers, seed=spec.seed, start=str(spec.start), end=str(spec.end)
    )
    targets = [(generated.transactions, data.transactions)]
    if data.customers is not None:
        targets.append((generated.customers, data.customers))
    for frame, target in targets:
        _write_atomically(frame, target)


def _write_atomically(frame: pd.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(handle)
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, target)


def load(data: DataConfig) -> LoadedData:
    """Load, map, validate and clean the transactions (and attributes) named in `data`.

    Cleaning drops rows without a customer or an amount; each step is counted in the account.

    Parameters
    ----------
    data : DataConfig
        The config's ``data`` section.

    Returns
    -------
    LoadedData
    """
    ensure_synthetic(data)
    raw = read_table(data.transactions)
    source = str(data.transactions)
    mapping = resolve_mapping(list(raw.columns), preset=data.preset, columns=data.columns)
    frame = apply_contract(raw, mapping, source=source)
    transactions, account = clean(frame)
    customers = None if data.customers is None else load_customers(data.customers, mapping)
    return LoadedData(transactions=transactions, customers=customers, cleaning=account)


def clean(frame: pd.DataFrame) -> tuple[pd.DataFrame, CleaningAccount]:
    """Apply the cleaning policy to contract-shaped transactions; return them and the account."""
    account = CleaningAccount(rows_in=len(frame), revenue_in=float(frame["amount"].sum()))
    rules = [
        ("missing_customer", "no customer id: not segmentable", frame["customer_id"].isna()),
        ("missing_amount", "no amount (or quantity / unit price)", frame["amount"].isna()),
        ("missing_date", "no order date", frame["order_date"].isna()),
    ]
    drop = pd.Series(False, index=frame.index)
    for step, reason, rows in rules:
        newly = rows & ~drop
        account.record(
            step, reason, rows=int(newly.sum()), revenue=float(frame.loc[newly, "amount"].sum())
        )
        drop |= rows
    kept = frame.loc[~drop].reset_index(drop=True)
    if kept.empty:
        raise DataError(
            "no transactions are left after cleaning: "
            + "; ".join(f"{s['step']} dropped {s['rows']}" for s in account.steps)
        )
    if isinstance(kept["customer_id"].dtype, pd.Int64Dtype):
        kept["customer_id"] = kept["customer_id"].astype("int64")
    return kept, account


def load_customers(path: Path, mapping: dict[str, str]) -> pd.DataFrame:
    """Read the customer attribute table; ``customer_id`` (or its mapped name) must be unique."""
    raw = read_table(path)
    id_column = next(
        (c for c in (mapping.get("customer_id"), "customer_id") if c in raw.columns), None
    )
    if id_column is None:
        raise SchemaError(
            f"{path}: no customer id column ('customer_id' or '{mapping.get('customer_id')}'). "
            f"Columns found: {', '.join(map(str, raw.columns))}."
        )
    frame = raw.rename(columns={id_column: "customer_id"})
    if frame["customer_id"].isna().any():
        raise DataError(
            f"{path}: {int(frame['customer_id'].isna().sum())} row(s) have no customer id; "
            "every attribute row must name its customer"
        )
    frame["customer_id"] = normalise_ids(frame["customer_id"])
    if isinstance(frame["customer_id"].dtype, pd.Int64Dtype):
        frame["customer_id"] = frame["customer_id"].astype("int64")
    duplicated = frame["customer_id"][frame["customer_id"].duplicated()]
    if len(duplicated):
        raise DataError(
            f"{path}: customer_id must be unique; {len(duplicated)} repeated "
            f"(e.g. {', '.join(map(str, duplicated.unique()[:5]))})"
        )
    return frame


def fingerprint(*paths: Path | None) -> str:
    """SHA-256 over the bytes of the given files (None skipped): the identity of the input data."""
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
