"""Read transactions and customer attributes, apply the contract and the cleaning policy.

Parquet and CSV files are read lazily by DuckDB through Ibis (nothing is loaded into pandas), so
a transaction log larger than memory works; Excel files are small by nature and go through
pandas. The embedded default dataset is generated here on first use (``data.synthetic``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from seglab.data import engine, synth
from seglab.data.cleaning import CleaningAccount, CleaningPolicy, clean
from seglab.data.contract import LINE_KEYS, apply_contract, line_keys, resolve_mapping
from seglab.data.settings import DataConfig
from seglab.errors import DataError, SchemaError

__all__ = [
    "Prepared",
    "ensure_synthetic",
    "fingerprint",
    "load",
    "load_customers",
    "period_figures",
    "read_table",
]

log = logging.getLogger(__name__)

FORMATS = (".parquet", ".csv", ".xlsx")


@dataclass(frozen=True)
class Prepared:
    """The data stage's result: clean transactions, attributes, the cleaning account.

    Attributes
    ----------
    transactions : ibis Table
        Clean contract-shaped lines (lazy) with a boolean ``is_return`` column.
    customers : DataFrame or None
        The attribute table, indexed by ``customer_id``.
    cleaning : CleaningAccount
        Rows and revenue each cleaning rule matched and removed.
    fingerprint : str
        SHA-256 of the input files: the identity of the data (hashed once per load).
    """

    transactions: ir.Table
    customers: pd.DataFrame | None
    cleaning: CleaningAccount
    fingerprint: str


def read_table(path: str | Path, connection: ibis.BaseBackend | None = None) -> ir.Table:
    """Open a Parquet, CSV or Excel file, or a folder of Parquet files, as an Ibis table.

    Errors name the file and the fix. `connection` defaults to a new DuckDB connection.
    """
    path = Path(path)
    connection = connection or ibis.duckdb.connect()
    if path.is_dir():
        parts = sorted(path.rglob("*.parquet"))
        if not parts:
            raise DataError(f"'{path}' is a folder without .parquet files; point at the data files")
        # Spark reads a folder (its own output layout) natively; DuckDB takes the file list.
        return _read_parquet(connection, path if connection.name == "pyspark" else parts)
    suffix = path.suffix.lower()
    if suffix not in FORMATS and (suffix or path.is_file()):
        raise SchemaError(
            f"'{path}': cannot read '{path.suffix}' files; use one of {', '.join(FORMATS)} "
            "or a folder of .parquet files"
        )
    if not path.is_file():
        raise DataError(f"'{path}' does not exist; check data.transactions / data.customers")
    if path.stat().st_size == 0:
        raise DataError(f"'{path}' is empty; point the config at a file with transactions")
    if suffix == ".xlsx":
        return ibis.memtable(pd.read_excel(path))
    if suffix == ".parquet":
        return _read_parquet(connection, path)
    return connection.read_csv(path)


def _read_parquet(connection: ibis.BaseBackend, source: Path | list[Path]) -> ir.Table:
    try:
        return connection.read_parquet(source)
    except Exception as exc:
        # Spark rejects nanosecond timestamps (pandas' default unit) while reading the schema.
        if "TIMESTAMP(NANOS" not in str(exc):
            raise
        raise SchemaError(
            f"'{source}': Spark cannot read timestamps stored in nanoseconds; rewrite the file "
            "with microseconds (pandas: to_parquet(path, coerce_timestamps='us')) or use "
            "data.engine: duckdb"
        ) from None


def ensure_synthetic(data: DataConfig) -> None:
    """Generate the synthetic files named in `data` if asked for and absent."""
    spec = data.synthetic
    if spec is None or data.transactions.exists():
        return
    log.info("generating %d synthetic customers into %s", spec.customers, data.transactions.parent)
    if data.transactions.suffix == "":  # a folder of parts: generated in bounded memory
        customers = data.customers or data.transactions.parent / "customers.parquet"
        synth.write_parts(
            spec.customers, data.transactions, customers,
            seed=spec.seed, start=str(spec.start), end=str(spec.end),
        )  # fmt: skip
        return
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
    frame.to_parquet(tmp, index=False, coerce_timestamps="us")  # microseconds: Spark reads them
    os.replace(tmp, target)


def load(data: DataConfig, *, data_fingerprint: str | None = None) -> Prepared:
    """Open, map, validate and clean the transactions (and read the attributes) named in `data`.

    Parameters
    ----------
    data : DataConfig
        The config's ``data`` section.
    data_fingerprint : str, optional
        The input files' SHA-256 (:func:`fingerprint`) when the caller has it already.

    Returns
    -------
    Prepared
    """
    ensure_synthetic(data)
    connection = engine.connect(data)
    raw = read_table(data.transactions, connection)
    source = str(data.transactions)
    if int(raw.count().to_pandas()) == 0:
        raise DataError(f"'{source}' holds no rows; point the config at a file with transactions")
    mapping = resolve_mapping(list(raw.columns), preset=data.preset, columns=data.columns)
    raw = raw.mutate(**line_keys(raw))
    contract = apply_contract(raw, mapping, source=source, keep=LINE_KEYS)
    contract = engine.keep(connection, contract, "contract_lines")
    policy = CleaningPolicy.from_config(data.cleaning, data.preset)
    transactions, account = clean(contract, policy)
    if account.rows_out == 0:
        raise DataError(
            "no transactions are left after cleaning: "
            + "; ".join(f"{s['step']} removed {s['rows_removed']}" for s in account.steps)
        )
    customers = None if data.customers is None else load_customers(data.customers, mapping)
    return Prepared(
        transactions,
        customers,
        account,
        data_fingerprint or fingerprint(data.transactions, data.customers),
    )


def load_customers(path: Path, mapping: dict[str, str]) -> pd.DataFrame:
    """Read the customer attribute table, indexed by a unique ``customer_id``."""
    frame = read_table(path).to_pandas()
    id_column = next(
        (c for c in ("customer_id", mapping.get("customer_id")) if c in frame.columns), None
    )
    if id_column is None:
        raise SchemaError(
            f"{path}: no customer id column ('customer_id' or '{mapping.get('customer_id')}'). "
            f"Columns found: {', '.join(map(str, frame.columns))}."
        )
    ids = frame[id_column]
    if ids.isna().any():
        raise DataError(
            f"{path}: {int(ids.isna().sum())} row(s) have no customer id; "
            "every attribute row must name its customer"
        )
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise DataError(
            f"{path}: customer_id must be unique; {len(repeated)} repeated "
            f"(e.g. {', '.join(map(str, repeated.unique()[:5]))})"
        )
    if pd.api.types.is_numeric_dtype(ids):
        ids = ids.astype("int64")
    return frame.drop(columns=id_column).set_index(ids.rename("customer_id"))


def fingerprint(*paths: Path | None) -> str:
    """SHA-256 over the bytes of the given files (None skipped): the identity of the input data.

    A folder counts as its files in sorted order, each preceded by its path inside the folder.
    """
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if path.is_dir():
                digest.update(str(file.relative_to(path)).encode())
            with open(file, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def period_figures(transactions: ir.Table, as_of: dt.date) -> dict:
    """Lines, net revenue and the first and last transaction on or before `as_of`."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    in_scope = transactions.filter(transactions.order_date < end)
    figures = (
        in_scope.aggregate(
            lines=in_scope.count(),
            revenue=in_scope.amount.sum(),
            first=in_scope.order_date.min(),
            last=in_scope.order_date.max(),
        )
        .to_pandas()
        .iloc[0]
    )
    return {
        "transaction lines": int(figures["lines"]),
        "net revenue": round(float(figures["revenue"]), 2),
        "first transaction": f"{figures['first']:%Y-%m-%d}",
        "last transaction": f"{figures['last']:%Y-%m-%d}",
    }
