"""The engine that runs the transaction queries: an embedded DuckDB, or Spark, through Ibis.

Reading, cleaning and feature code is written once in Ibis and runs unchanged on either backend;
this module is where the choice (``data.engine``) is made: it opens the connection and keeps
intermediate tables the way each engine does best.

Spark needs the ``seglab[spark]`` extra and Java. A running Spark session is joined (a cluster
notebook, spark-submit); otherwise one is started with ``data.spark``'s master and app name.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from seglab.data.settings import DataConfig, SparkConfig
from seglab.errors import ConfigError, DataError

__all__ = [
    "IN_MEMORY_MAX_LINES",
    "SPARK_DEFAULTS",
    "connect",
    "data_errors",
    "keep",
    "release_memory",
    "spark_session",
]

#: Settings seglab gives the Spark session unless ``data.spark.conf`` says otherwise: no web UI
#: (nobody looks at it in a batch run), timestamps read in UTC so calendar days match DuckDB's,
#: and few shuffle partitions (the default 200 is tuned for clusters, not ``local[N]``).
SPARK_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
}


#: DuckDB holds the input lines in memory up to this many (see :func:`keep`).
IN_MEMORY_MAX_LINES = 5_000_000


def connect(data: DataConfig) -> ibis.BaseBackend:
    """A new Ibis connection to the engine named by ``data.engine``, with its settings."""
    if data.engine == "spark":
        return ibis.pyspark.connect(spark_session(data.spark))
    settings = data.duckdb
    temp = settings.temp_directory or Path(tempfile.gettempdir()) / "seglab-duckdb"
    # The allocator's background threads hand memory freed by finished queries back to the
    # system; without them it stays until DuckDB allocates again (measured on 38M lines: 0.2 GB
    # of the 1.0 GB held after loading). What DuckDB keeps for reuse: release_memory.
    options = {"temp_directory": str(temp), "allocator_background_threads": True}
    if settings.memory_limit is not None:
        options["memory_limit"] = settings.memory_limit
    if settings.threads is not None:
        options["threads"] = settings.threads
    try:
        return ibis.duckdb.connect(**options)
    except duckdb.Error as exc:
        raise ConfigError(f"data.duckdb: DuckDB refuses these settings: {exc}") from None


def release_memory(table: ir.Table, memory_limit: str | None) -> None:
    """Hand the memory DuckDB keeps after its queries back to the system (a no-op on Spark).

    DuckDB keeps the buffers of finished queries for reuse, up to its memory limit: after the
    feature query on 38M lines, about 0.7 GB that the clustering then runs beside. Lowering the
    limit for a moment evicts them; then `memory_limit` (``data.duckdb.memory_limit``; None:
    DuckDB's default) applies again. Arrow's pool (query results on their way to pandas)
    returns its unused memory too.
    """
    backend = ibis.get_backend(table)
    if backend.name == "duckdb":
        backend.con.execute("SET memory_limit = '16MB'")
        if memory_limit is None:
            backend.con.execute("RESET memory_limit")
        else:
            backend.con.execute("SET memory_limit = ?", [memory_limit])
    pa.default_memory_pool().release_unused()


def spark_session(spark: SparkConfig):
    """The running Spark session, or a new one built from `spark` (settings applied to either).

    Raises
    ------
    ConfigError
        If PySpark is not installed.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "data.engine is 'spark' but PySpark is not installed; install the extra with "
            "pip install 'seglab[spark]' (it needs Java 17 or later), or set data.engine: duckdb"
        ) from None
    builder = SparkSession.builder.master(spark.master).appName(spark.app_name)
    for key, value in {**SPARK_DEFAULTS, **spark.conf}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j and pyspark raise many types; all mean "cannot start"
        raise ConfigError(
            f"data.spark: Spark did not start with master '{spark.master}': "
            f"{_first_line(exc)}. Check data.spark (master, conf) and that Java 17 or later "
            "is installed, or set data.engine: duckdb"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def keep(
    connection: ibis.BaseBackend, table: ir.Table, stem: str, *, lines: int | None = None
) -> ir.Table:
    """Make `table` cheap to query again: a cached temporary view on Spark; on DuckDB, a
    temporary table when the input holds at most ``IN_MEMORY_MAX_LINES`` lines.

    Spark would otherwise re-read and re-convert the input for every query of the load. A
    DuckDB table of up to a few million lines costs little memory and saves a pass over the
    file for every later query (measured on the default 766,000 lines: load 2.5 s -> 1.1 s, each
    feature query 2.3 s -> 0.7 s). Above that, DuckDB re-reads Parquet faster than it can hold
    tens of millions of lines (measured on 38M lines: holding them doubled the peak memory and,
    under a memory limit, quintupled the time), so the table stays a lazy expression; so it
    does when `lines` (the input's line count) is not given. The name is `stem` plus a random
    suffix, so loads sharing one session never overwrite each other.
    """
    name = f"{stem}_{uuid.uuid4().hex[:12]}"
    if connection.name != "pyspark":
        if lines is None or lines > IN_MEMORY_MAX_LINES:
            return table
        return connection.create_table(name, table, temp=True)
    connection.create_view(name, table)
    connection.raw_sql(f"CACHE TABLE `{name}`")
    return connection.table(name)


@contextmanager
def data_errors(source: str) -> Iterator[None]:
    """Turn an engine's complaint about the data of `source` into a DataError that names it.

    DuckDB raises :class:`duckdb.Error` subclasses for unreadable files, undecodable text,
    values that do not convert and numbers out of range; Spark raises its data exceptions
    (SQLSTATE class 22) and file-read failures. Anything else an engine raises is a bug and
    passes through unchanged.
    """
    try:
        yield
    except duckdb.Error as exc:
        raise DataError(_describe(source, "DuckDB", exc)) from None
    except Exception as exc:
        if not _is_spark_data_error(exc):
            raise
        raise DataError(_describe(source, "Spark", exc)) from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _describe(source: str, engine: str, exc: BaseException) -> str:
    text = str(exc)
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        return (
            f"'{source}' is not UTF-8 text ({engine}: {_first_line(exc)}). Re-save it as UTF-8 "
            "(Excel: Save As > CSV UTF-8), or set data.encoding to the encoding it was written "
            "in: latin-1 or utf-16."
        )
    if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
        hint = (
            "A value does not fit the type of its column (the type is guessed from the first "
            "rows), or a line is broken (quotes, separators). Fix the line it names, or export "
            "the file again."
        )
    elif isinstance(exc, duckdb.OutOfRangeException):
        hint = "A number is too large for the calculation; check the column mapping and units."
    elif isinstance(exc, duckdb.IOException):
        hint = "Check that the file is complete, readable and in the format its name says."
    else:
        hint = (
            "Check that the file is complete and in the format its name says; if it is, "
            "please report this as a seglab bug with this message."
        )
    return f"'{source}': {engine} could not process the data: {_first_line(exc)}. {hint}"


def _is_spark_data_error(exc: BaseException) -> bool:
    """Whether `exc` is Spark's complaint about data (not about seglab's query)."""
    if "pyspark" not in sys.modules:
        return False
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    if isinstance(exc, PySparkException):
        state = exc.getSqlState() or ""
        return state.startswith(("22", "KD")) or "FAILED_READ_FILE" in str(exc)
    return isinstance(exc, Py4JJavaError) and "FAILED_READ_FILE" in str(exc)
