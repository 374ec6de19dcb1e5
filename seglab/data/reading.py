"""Read transactions and customer attributes, apply the contract and the cleaning policy.

Parquet and CSV files are read lazily by DuckDB through Ibis (nothing is loaded into pandas), so
a transaction log larger than memory works; Excel files are small by nature and go through
pandas. The embedded default dataset is generated here on first use (``data.synthetic``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd

from seglab.data import engine, synth
from seglab.data.cleaning import CleaningAccount, CleaningPolicy, clean, require_revenue
from seglab.data.contract import (
    LINE_KEYS,
    apply_contract,
    check_amounts,
    customer_ids,
    line_keys,
    resolve_mapping,
)
from seglab.data.settings import DataConfig
from seglab.errors import DataError, SchemaError
from seglab.registry import suggest

__all__ = [
    "Prepared",
    "check_inputs",
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


def read_table(
    path: str | Path,
    connection: ibis.BaseBackend | None = None,
    *,
    encoding: str = "utf-8",
    dates_as_text: bool = False,
) -> ir.Table:
    """Open a Parquet, CSV or Excel file, or a folder of Parquet files, as an Ibis table.

    Errors name the file and the fix. `connection` defaults to a new DuckDB connection.

    Parameters
    ----------
    path : path-like
        The file or folder.
    connection : ibis backend, optional
        The engine to read with.
    encoding : str
        Text encoding of a CSV file (``data.encoding``): utf-8, utf-16 or latin-1.
    dates_as_text : bool
        Keep CSV dates as text, for the contract to read (DuckDB would otherwise guess the order
        of day and month from the first rows, silently).
    """
    path = Path(path)
    connection = connection or ibis.duckdb.connect()
    if _is_dir(path):
        parts = sorted(path.rglob("*.parquet"))
        if not parts:
            raise DataError(f"'{path}' is a folder without .parquet files; point at the data files")
        for part in parts:
            _check_parquet_bytes(part)
        # Spark reads a folder (its own output layout) natively; DuckDB takes the file list.
        with engine.data_errors(str(path)):
            return _read_parquet(connection, path if connection.name == "pyspark" else parts)
    suffix = path.suffix.lower()
    _check_format(path)
    _check_exists(path)
    if path.stat().st_size == 0:
        raise DataError(f"'{path}' is empty; point the config at a file with transactions")
    if suffix == ".xlsx":
        # On Spark the sheet becomes a Spark view, so that every query of it runs there.
        return engine.keep(connection, ibis.memtable(_read_excel(path)), "sheet")
    if suffix == ".parquet":
        _check_parquet_bytes(path)
        with engine.data_errors(str(path)):
            return _read_parquet(connection, path)
    _check_csv_header(path, encoding, connection.name)
    with engine.data_errors(str(path)):
        if connection.name == "pyspark":
            return connection.read_csv(str(path), encoding=_SPARK_ENCODINGS[encoding])
        options = {"auto_type_candidates": _NO_DATES} if dates_as_text else {}
        return connection.read_csv(path, encoding=encoding, **options)


#: Types DuckDB may guess for a CSV column when dates stay text (its default list less the
#: date and time types).
_NO_DATES = ["BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR"]
_SPARK_ENCODINGS = {"utf-8": "UTF-8", "utf-16": "UTF-16", "latin-1": "ISO-8859-1"}
_PARQUET_MAGIC = b"PAR1"


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL character
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _check_format(path: Path) -> None:
    """SchemaError when `path` names a file of a format seglab does not read."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS and (suffix or _is_file(path)) and not _is_dir(path):
        raise SchemaError(
            f"'{path}': cannot read '{path.suffix}' files; use one of {', '.join(FORMATS)} "
            "or a folder of .parquet files"
        )


def _check_exists(path: Path, key: str = "data.transactions / data.customers") -> None:
    """DataError unless `path` is a file or folder that can be read; `key` is its config key."""
    if _is_file(path) or _is_dir(path):
        return
    if _is_dir(path.parent):
        hint = suggest(path.name, sorted(p.name for p in path.parent.iterdir()))
        where = f" (in '{path.parent}'{hint.replace(';', ':')})" if hint else ""
    else:
        where = f" (nor does its folder '{path.parent}')"
    raise DataError(
        f"'{path}' does not exist{where}. Check {key} in the config; relative paths start at "
        "the config file's folder."
    )


def check_inputs(data: DataConfig) -> None:
    """Refuse missing input files before anything reads or hashes them (one error per key).

    Raises
    ------
    DataError
        Naming the path, its config key and, when the folder exists, the closest file name.
    """
    for key, path in (("data.transactions", data.transactions), ("data.customers", data.customers)):
        if path is not None:
            _check_format(path)
            _check_exists(path, key)


def _check_parquet_bytes(path: Path) -> None:
    """SchemaError unless `path` starts and ends with Parquet's marker (PAR1)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(path.stat().st_size - 4, 0))
        tail = handle.read(4)
    if head != _PARQUET_MAGIC:
        looks = (
            "an Excel workbook or another zip file" if head.startswith(b"PK") else
            "text, perhaps a CSV file" if head.isascii() and head.decode("ascii").isprintable()
            else "another format"
        )  # fmt: skip
        raise SchemaError(
            f"'{path}' is not a Parquet file: it does not start with Parquet's marker PAR1 and "
            f"looks like {looks}. Give the file the extension of its format (.csv, .xlsx), or "
            "export it again as Parquet."
        )
    if tail != _PARQUET_MAGIC or path.stat().st_size < 12:
        raise SchemaError(
            f"'{path}' is a damaged or truncated Parquet file: it does not end with Parquet's "
            "footer marker PAR1 (an interrupted copy or download?). Copy or export it again."
        )


def _read_excel(path: Path) -> pd.DataFrame:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SchemaError(
            f"'{path}' is an old-style Excel workbook (.xls) named .xlsx; open it in Excel and "
            "save it as .xlsx, or export the sheet to CSV"
        )
    if not head.startswith(b"PK"):
        raise SchemaError(
            f"'{path}' is not an Excel workbook (.xlsx files are zip archives and this one is "
            "not); give the file the extension of its format (.csv, .parquet), or save it "
            "from Excel again"
        )
    try:
        header = pd.read_excel(path, header=None, nrows=1)
        frame = pd.read_excel(path)
    except Exception as exc:  # openpyxl and zipfile raise a zoo of types for broken workbooks
        raise SchemaError(
            f"'{path}' cannot be read as an Excel workbook ({type(exc).__name__}: {exc}); it "
            "may be damaged: save it from Excel again, or export the sheet to CSV"
        ) from None
    _refuse_repeated_names(path, [str(v) for v in header.iloc[0]] if len(header) else [])
    # A column mixing numbers and text arrives as Python objects; the contract reads text.
    for column in frame.columns[[dtype == "object" for dtype in frame.dtypes]]:
        frame[column] = frame[column].map(lambda v: v if pd.isna(v) else str(v)).astype("str")
    return frame


def _check_csv_header(path: Path, encoding: str, engine_name: str) -> None:
    """Refuse a CSV whose header repeats a name (DuckDB and Spark would rename one copy)."""
    if engine_name == "pyspark" and encoding == "utf-8":
        _check_utf8(path)  # Spark would put replacement characters in silently
    query = "SELECT * FROM read_csv($1, header = false, all_varchar = true, encoding = $2) LIMIT 1"
    with engine.data_errors(str(path)):
        first = duckdb.connect().execute(query, [str(path), encoding]).fetchall()
    _refuse_repeated_names(path, [str(v) for v in first[0]] if first else [])


def _refuse_repeated_names(path: Path, names: list[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SchemaError(
            f"'{path}': the header names column(s) {_names(repeated)} more than once; a reader "
            "would rename the copies and seglab could map the wrong one. Rename or delete the "
            "duplicate column in the file."
        )


def _names(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _check_utf8(path: Path) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        for offset, block in enumerate(iter(lambda: handle.read(1 << 20), b"")):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"'{path}' is not UTF-8 text (byte {offset * (1 << 20) + exc.start} is "
                    f"{block[exc.start : exc.start + 1]!r}). Re-save it as UTF-8 (Excel: Save As "
                    "> CSV UTF-8), or set data.encoding to the encoding it was written in: "
                    "latin-1 or utf-16."
                ) from None


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

    Raises
    ------
    SchemaError, DataError
        For a file that cannot be read or does not fit the contract, and for data that leave
        nothing to segment; every message names the file. The engine's own complaints about the
        data are turned into these too.
    """
    ensure_synthetic(data)
    check_inputs(data)
    connection = engine.connect(data)
    source = str(data.transactions)
    raw = read_table(data.transactions, connection, encoding=data.encoding, dates_as_text=True)
    with engine.data_errors(source):
        lines = int(raw.count().to_pandas())
        if lines == 0:
            raise DataError(
                f"'{source}' holds no rows; point the config at a file with transactions"
            )
        mapping = resolve_mapping(list(raw.columns), preset=data.preset, columns=data.columns)
        raw = raw.mutate(**line_keys(raw))
        contract = apply_contract(
            raw, mapping, source=source, keep=LINE_KEYS, date_format=data.date_format
        )
        contract = engine.keep(connection, contract, "contract_lines", lines=lines)
        check_amounts(contract, source, _amount_column(mapping))
        policy = CleaningPolicy.from_config(data.cleaning, data.preset)
        transactions, account = clean(contract, policy)
        if account.rows_out == 0:
            raise DataError(
                "no transactions are left after cleaning: "
                + "; ".join(f"{s['step']} removed {s['rows_removed']}" for s in account.steps)
            )
        require_revenue(transactions, source)
    customers = None
    if data.customers is not None:
        customers = load_customers(data.customers, mapping, encoding=data.encoding)
        with engine.data_errors(source):
            _check_attribute_join(transactions, customers, data.customers)
    return Prepared(
        transactions,
        customers,
        account,
        data_fingerprint or fingerprint(data.transactions, data.customers),
    )


def _amount_column(mapping: dict[str, str]) -> str:
    if "amount" in mapping:
        return f"column '{mapping['amount']}'"
    return f"amount (quantity '{mapping['quantity']}' x unit price '{mapping['unit_price']}')"


def load_customers(path: Path, mapping: dict[str, str], *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read the customer attribute table, indexed by a unique ``customer_id``.

    Its ids are read by :func:`~seglab.data.contract.customer_ids`, as the transactions' are.
    """
    table = read_table(path, encoding=encoding)
    id_column = next(
        (c for c in ("customer_id", mapping.get("customer_id")) if c in table.columns), None
    )
    if id_column is None:
        raise SchemaError(
            f"{path}: no customer id column ('customer_id' or '{mapping.get('customer_id')}'). "
            f"Columns found: {', '.join(map(str, table.columns))}."
        )
    with engine.data_errors(str(path)):
        ids = customer_ids(table, id_column, source=str(path))
        frame = table.mutate(**{id_column: ids}).to_pandas()
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
    return frame.drop(columns=id_column).set_index(ids.rename("customer_id"))


def _check_attribute_join(transactions: ir.Table, customers: pd.DataFrame, path: Path) -> None:
    """Refuse an attribute table that describes under half of the transactions' customers."""
    ids = transactions.select("customer_id").distinct().to_pandas()["customer_id"]
    matched = ids.isin(customers.index)
    if matched.sum() * 2 >= len(ids):
        return
    ours = sorted(ids[~matched])[:5]
    theirs = sorted(customers.index[~customers.index.isin(ids)])[:5]
    raise DataError(
        f"{path}: only {int(matched.sum())} of the {len(ids)} customers in the transactions "
        f"have a row in this attribute table (at least half must). Transaction ids without "
        f"attributes: {_names(ours)}; attribute ids without transactions: {_names(theirs)}. Ids "
        "are compared as text (whole numbers without decimals, text without surrounding "
        "spaces): make both files use the same ids, or map the right id column "
        "(data.columns: customer_id)."
    )


def fingerprint(*paths: Path | None) -> str:
    """SHA-256 over the bytes of the given files (None skipped): the identity of the input data.

    A folder counts as its files in sorted order, each preceded by its path inside the folder.

    Raises
    ------
    DataError
        When a path does not exist.
    """
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        _check_exists(path)
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
